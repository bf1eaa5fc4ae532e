use beam::prelude::*;

fn main() {
    let script = TestStream::new().add_elements([timestamped(("a", 1u64), 1)]).advance_watermark_to_infinity();
    let _ = pipeline! {
        clicks = test_stream(script);
        _counts = clicks -> count_per_key() -> collect();
    };
}
