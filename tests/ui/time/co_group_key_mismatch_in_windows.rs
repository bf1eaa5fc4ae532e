use beam::prelude::*;
use std::time::Duration;

fn main() {
    let _p = pipeline! {
        orders = from_iter(vec![(1u32, 10.0f64, 5u64)])
            -> with_timestamps(|o: &(u32, f64, u64)| o.2)
            -> window(Sessions::with_gap(Duration::from_secs(60)))
            -> map(|(customer, total, _): (u32, f64, u64)| (customer, total));
        visits = from_iter(vec![("c1".to_owned(), 7u64)])
            -> with_timestamps(|v: &(String, u64)| v.1)
            -> window(Sessions::with_gap(Duration::from_secs(60)));
        _grouped = (orders, visits) -> co_group_by_key() -> collect();
    };
}
