use beam::prelude::*;

fn main() {
    let _ = pipeline! {
        clicks = from_iter(vec![(1u32, 1_000u64)]) -> with_timestamps(|c: &(u32, u64)| c.1);
        views = from_iter(vec![(1u32, 2_000u64)]) -> with_timestamps(|v: &(u32, u64)| v.1);
        per_minute = clicks -> window(FixedWindows::of(std::time::Duration::from_secs(60)));
        per_hour = views -> window(FixedWindows::of(std::time::Duration::from_secs(3600)));
        grouped = (per_minute, per_hour) -> co_group_by_key() -> collect();
        paired = (per_minute, per_hour) -> outer_join() -> collect();
    };
}
