use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        words = from_iter(vec!["a", "b"]);
        _counts = wrods -> count_per_element() -> collect();
    };
}
