use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        numbers = from_iter(0..10u32);
        names = from_iter(vec!["a".to_string()]);
        _all = (numbers, names) -> flatten() -> collect();
    };
}
