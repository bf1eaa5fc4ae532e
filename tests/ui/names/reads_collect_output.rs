use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        all = xs -> collect();
        _doubled = all -> map(|x: u32| x * 2) -> collect();
    };
}
