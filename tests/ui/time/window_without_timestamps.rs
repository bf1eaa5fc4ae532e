use beam::prelude::*;

fn main() {
    let _ = pipeline! {
        bids = from_iter(vec![(1u32, 10u64)]);
        best = bids -> window(FixedWindows::of(std::time::Duration::from_secs(10))) -> max_per_key() -> collect();
    };
}
