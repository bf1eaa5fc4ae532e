use beam::prelude::*;

fn main() {
    let _ = pipeline! {
        clicks = test_stream(TestStream::new().add_elements([timestamped((1u32, 1u64), 1)]));
        views = clicks -> map(|(user, n): (u32, u64)| (user, n * 2));
        // Never windowed: the co-group would wait for the end of its input.
        both = (clicks, views) -> co_group_by_key() -> collect();
    };
}
