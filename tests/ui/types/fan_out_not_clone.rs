use beam::prelude::*;

struct Reading {
    value: u32,
}

fn main() {
    let _p = pipeline! {
        readings = from_iter((0..10u32).map(|value| Reading { value }));
        _values = readings -> map(|r: Reading| r.value) -> collect();
        _n = readings -> count() -> collect();
    };
}
