use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        _ys = xs -> from_iter(0..5u32) -> collect();
    };
}
