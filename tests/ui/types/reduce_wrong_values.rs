use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        pairs = from_iter(vec![("a", 1i64), ("b", 2)]);
        _sums = pairs -> reduce_per_key(|a: u32, b: u32| a + b) -> collect();
    };
}
