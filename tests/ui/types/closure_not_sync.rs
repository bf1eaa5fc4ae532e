use beam::prelude::*;
use std::cell::Cell;

fn main() {
    let seen = Cell::new(0u32);
    let _p = pipeline! {
        xs = from_iter(0..10u32);
        xs -> for_each(|x: u32| seen.set(seen.get() + x));
    };
}
