//! What the benchmarks share: timing a pipeline against its hand-written baseline.

use std::time::{Duration, Instant};

/// Runs both once to check they agree, then `runs` times each, alternating so that
/// noise from other processes hits both alike. Returns the medians.
pub fn compare<T: PartialEq + std::fmt::Debug>(
    runs: usize,
    mut pipeline: impl FnMut() -> T,
    mut baseline: impl FnMut() -> T,
) -> (Duration, Duration) {
    assert_eq!(pipeline(), baseline(), "pipeline and baseline disagree");
    let (mut p, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let start = Instant::now();
        std::hint::black_box(pipeline());
        p.push(start.elapsed());
        let start = Instant::now();
        std::hint::black_box(baseline());
        b.push(start.elapsed());
    }
    p.sort();
    b.sort();
    (p[runs / 2], b[runs / 2])
}
