use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        lines = from_iter(vec!["a b", "c"]);
        words = lines -> flatmap(|l: &str| l.split(' '));
        unused = lines -> map(|l: &str| l.len());
        _counts = wrds -> count_per_element() -> collect();
        _n = words -> count(1) -> collect();
    };
}
