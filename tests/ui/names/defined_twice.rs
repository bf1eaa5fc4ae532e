use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        xs = from_iter(10..20u32);
        _out = xs -> collect();
    };
}
