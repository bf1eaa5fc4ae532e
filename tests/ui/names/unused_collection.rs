use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        evens = xs -> filter(|x: &u32| x % 2 == 0);
        _all = xs -> collect();
    };
}
