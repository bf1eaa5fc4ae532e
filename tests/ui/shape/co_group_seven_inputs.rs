use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        a = from_iter(vec![(1u32, 1i64)]);
        _groups = (a, a, a, a, a, a, a) -> co_group_by_key() -> collect();
    };
}
