use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        words = from_iter(vec!["a".to_string(), "b".to_string()]);
        _sums = words -> combine_per_key(Sum) -> collect();
    };
}
