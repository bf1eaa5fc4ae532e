use beam::prelude::*;

fn main() {
    let _ = pipeline! {
        bids = from_iter(vec![(1u32, 10u64)]) -> with_timestamps(|b: &(u32, u64)| b.1);
        _prices = bids -> map(|price: u64| price * 2) -> collect();
        _late = bids -> with_timestamps(|b: &(u32, u64)| b.1 as u32) -> collect();
    };
}
