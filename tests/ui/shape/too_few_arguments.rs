use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        _best = xs -> top(|x: &u32| *x) -> collect();
    };
}
