use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        xs -> map(|x: u32| x + 1);
    };
}
