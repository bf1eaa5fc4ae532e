use beam::prelude::*;

fn main() {
    let _ = pipeline! {
        bids = from_iter(vec![(1u32, 10u64, 5_000u64)]);
        (totals, late) = bids -> map(|b: (u32, u64, u64)| (b.0, b.1)) -> sum_per_key();
        _totals = totals -> collect();
        _late = late -> collect();
        (windowed, late_too) = bids
            -> with_timestamps(|b: &(u32, u64, u64)| b.2)
            -> window(FixedWindows::of(std::time::Duration::from_secs(10)))
            -> map(|b: (u32, u64, u64)| (b.0, b.1))
            -> max_per_key();
        _windowed = windowed -> collect();
        _late_too = late_too -> collect();
    };
}
