use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        (small, big) = xs -> partition(3, |x: &u32| (*x % 3) as usize);
        _s = small -> collect();
        _b = big -> collect();
    };
}
