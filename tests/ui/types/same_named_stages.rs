use beam::prelude::*;

fn main() {
    let _ok = pipeline! {
        lengths = from_iter(vec!["a".to_string()]) -> map(|l: String| l.len()) -> collect();
    };
    let _p = pipeline! {
        lines = from_iter(vec!["a b".to_string()]);
        _doubled = lines -> map(|l: u64| l * 2) -> collect();
        _halved = lines -> map(|l: u32| l / 2) -> collect();
    };
}
