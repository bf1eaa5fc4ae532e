use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        xs = from_iter(vec![("a", 1.5f64), ("b", 2.5)]);
        _best = xs -> top(1, |(_, score): &(&str, f64)| *score) -> collect();
    };
}
