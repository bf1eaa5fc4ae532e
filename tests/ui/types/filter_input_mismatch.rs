use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(vec![1.5f64, 2.5]);
        _big = xs -> keep_big: filter(|x: &u64| *x > 2) -> collect();
    };
}
