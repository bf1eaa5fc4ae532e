use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        lines = from_iter(vec!["a b".to_string()]);
        _lengths = lines -> map(|l: u64| l + 1) -> collect();
        _sums = lines -> sum_per_key() -> collect();
    };
}
