//! What a run did, per stage: returned by `run()` as the `metrics` field of its
//! output.
//!
//! How to read them:
//!
//! - `elements_in` / `elements_out`: elements that entered and left the stage. A
//!   `filter` shows how much it dropped; a `flat_map` how much it multiplied; a
//!   `combine_per_key` reports its inputs and its output keys.
//! - `bad_records`: records a source could not parse (stopped the run, or went to
//!   its dead-letter output).
//! - `bytes_read` / `bytes_written`: file bytes read by sources (compressed size for
//!   compressed files) and written by sinks (after compression).
//! - `wall_time`: stages fused into one loop run together, element by element, so
//!   they share that loop's time; a shuffle or combine adds the time of its merge.
//!   The slowest segment is where to look first.

use std::fmt;
use std::time::Duration;

use crate::plan::StageInfo;

/// Counters of one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMetrics {
    /// The stage.
    pub stage: StageInfo,
    /// Elements that entered the stage.
    pub elements_in: u64,
    /// Elements the stage produced.
    pub elements_out: u64,
    /// Records a source could not parse.
    pub bad_records: u64,
    /// Bytes read from files.
    pub bytes_read: u64,
    /// Bytes written to files.
    pub bytes_written: u64,
    /// Time of the fused loop(s) the stage ran in, plus its own merge.
    pub wall_time: Duration,
}

/// Per-stage counters of one run, in plan order.
///
/// ```
/// use beam::prelude::*;
/// let out = pipeline! {
///     xs = from_iter(0..1000u32);
///     evens = xs -> keep_even: filter(|x: &u32| x % 2 == 0) -> collect();
/// }
/// .run()?;
/// let keep = out.metrics.stage("keep_even").unwrap();
/// assert_eq!((keep.elements_in, keep.elements_out), (1000, 500));
/// println!("{}", out.metrics); // a table, one line per stage
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    /// One entry per stage, indexed by [`StageInfo::id`].
    pub stages: Vec<StageMetrics>,
    /// The whole run.
    pub wall_time: Duration,
}

impl Metrics {
    /// The stage with this label (or, without labels, this transform name; the
    /// first such stage).
    pub fn stage(&self, name: &str) -> Option<&StageMetrics> {
        self.stages
            .iter()
            .find(|m| m.stage.label == Some(name))
            .or_else(|| self.stages.iter().find(|m| m.stage.op == name))
    }

    /// Bad records over all sources.
    pub fn bad_records(&self) -> u64 {
        self.stages.iter().map(|m| m.bad_records).sum()
    }
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<28} {:>12} {:>12} {:>6} {:>12} {:>12} {:>10}",
            "stage", "in", "out", "bad", "read", "written", "time"
        )?;
        for m in &self.stages {
            let name = match m.stage.label {
                Some(label) => format!("[{}] {label}: {}", m.stage.id, m.stage.op),
                None => format!("[{}] {}", m.stage.id, m.stage.op),
            };
            writeln!(
                f,
                "{name:<28} {:>12} {:>12} {:>6} {:>12} {:>12} {:>9.3}s",
                m.elements_in,
                m.elements_out,
                m.bad_records,
                m.bytes_read,
                m.bytes_written,
                m.wall_time.as_secs_f64()
            )?;
        }
        write!(f, "total {:.3}s", self.wall_time.as_secs_f64())
    }
}
