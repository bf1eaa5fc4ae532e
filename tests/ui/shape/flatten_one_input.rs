use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        a = from_iter(0..10u32);
        _out = a -> flatten() -> collect();
    };
}
