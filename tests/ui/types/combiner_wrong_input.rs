use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        pairs = from_iter(vec![("a", "x"), ("b", "y")]);
        _means = pairs -> mean_per_key() -> collect();
    };
}
