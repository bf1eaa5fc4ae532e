use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        readings = from_iter(vec![(1.5f64, 3u32), (2.5, 4)]);
        _groups = readings -> group_by_key() -> collect();
    };
}
