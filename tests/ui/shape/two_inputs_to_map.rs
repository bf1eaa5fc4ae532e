use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        a = from_iter(0..10u32);
        b = from_iter(10..20u32);
        _out = (a, b) -> map(|x: u32| x + 1) -> collect();
    };
}
