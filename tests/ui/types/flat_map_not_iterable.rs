use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        _ys = xs -> flat_map(|x: u32| x + 1) -> collect();
    };
}
