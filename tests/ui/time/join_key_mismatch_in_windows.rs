use beam::prelude::*;
use std::time::Duration;

fn main() {
    let _p = pipeline! {
        timed = from_iter(vec![(1u32, "c1".to_owned(), 5u64)])
            -> with_timestamps(|o: &(u32, String, u64)| o.2)
            -> window(FixedWindows::of(Duration::from_secs(60)));
        orders = timed -> map(|(id, _, t): (u32, String, u64)| (id, t));
        visits = timed -> map(|(_, customer, t): (u32, String, u64)| (customer, t));
        _joined = (orders, visits) -> join() -> collect();
    };
}
