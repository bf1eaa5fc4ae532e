use beam::prelude::*;

fn main() {
    let script = TestStream::new().add_elements([timestamped(("a", 1u64), 1)]).advance_watermark_to_infinity();
    let _ = pipeline! {
        clicks = test_stream(script);
        everything = clicks -> window(GlobalWindows.with_allowed_lateness(std::time::Duration::from_secs(5)));
        _counts = everything -> count_per_key() -> collect();
        // A trigger named: this one is fine.
        fired = clicks -> window(GlobalWindows.triggering(Repeatedly::forever(AfterCount::new(2))));
        _fired_counts = fired -> count_per_key() -> collect();
    };
}
