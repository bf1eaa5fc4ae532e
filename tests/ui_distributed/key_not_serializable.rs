use beam::prelude::*;

#[derive(Clone, Hash, PartialEq, Eq)]
struct Point {
    x: i32,
    y: i32,
}

fn main() {
    let _p = pipeline! {
        points = from_iter(vec![Point { x: 1, y: 2 }]);
        counts = points -> count_per_element() -> collect();
    };
}
