use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        a = b -> map(|x: u32| x + 1);
        b = a -> map(|x: u32| x * 2);
        _out = b -> collect();
    };
}
