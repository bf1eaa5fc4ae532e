use beam::prelude::*;

fn main() {
    let _p = pipeline! {
        orders = from_iter(vec![(1u32, 10.0f64)]);
        customers = from_iter(vec![("c1".to_owned(), "gold")]);
        _joined = (orders, customers) -> outer_join() -> collect();
    };
}
