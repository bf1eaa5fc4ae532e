use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        orders = from_iter(vec![(1u32, 10.0f64)]);
        _joined = orders -> join() -> collect();
    };
}
