//! The runtime of [beam](https://docs.rs/beam): executes the fused code that
//! `pipeline!` generates on a rayon thread pool.
//!
//! Users depend on the `beam` crate, which re-exports what is public here. The
//! runtime is split by concern:
//!
//! - `runner`: the seam between the generated code and its execution, and the local
//!   runner: one fused segment at a time, a worker per thread pulling chunks of its
//!   input;
//! - `barrier`: where a fused loop ends, described for the runner to carry out;
//! - `context`: what a run knows about itself, and the scope of every task;
//! - `shuffle`: the hash partitioning behind keyed transforms;
//! - `source`, `sink`, `transform`: the runtime half of each transform;
//! - [`combine`]: Beam's `CombineFn` and the built-in combiners;
//! - [`plan`]: the plan the macro builds, as text and Graphviz DOT;
//! - [`window`]: event time: timestamps, windows and panes;
//! - [`error`]: the one error type.

pub mod combine;
pub mod error;
pub use beam_plan as plan;

mod barrier;
pub mod check;
mod collection;
mod context;
mod exchange;
mod io;
mod lent;
pub mod metrics;
mod pipeline;
mod progress;
mod runner;
mod shuffle;
mod sink;
mod source;
pub mod testing;
pub mod text;
mod transform;
pub mod window;

#[doc(hidden)]
pub mod __private;

pub use combine::CombineFn;
pub use error::{Error, ErrorKind, InputPosition, Result};
pub use exchange::Exchangeable;
pub use io::csv::CsvInput;
pub use io::output::FileOutput;
pub use io::records::BadRecord;
pub use io::text::TextInput;
pub use lent::Lent;
/// The `log` facade: the runtime logs what a run does through it (a run's start
/// at `info`, each segment at `debug`, each output published at `info`), and user
/// code can log through the same macros; install any logger to see them.
pub use log;
pub use metrics::{Metrics, StageMetrics};
pub use pipeline::Pipeline;
pub use plan::{Plan, StageInfo};
pub use runner::CHUNK;

/// This process's index in the group of processes running the same pipeline, as
/// the environment names it (see `Group::from_env`, with the feature `timely`):
/// 0 when the process runs alone. Process 0 is the one whose `run()` returns what
/// `collect()` gathered, so a program prints its results there.
///
/// ```
/// assert_eq!(beam::process_index(), 0); // not started as one of a group
/// ```
pub fn process_index() -> usize {
    #[cfg(feature = "timely")]
    if let Ok(Some(group)) = runner::Group::from_env() {
        return group.index();
    }
    0
}
#[cfg(feature = "timely")]
pub use runner::Group;
/// serde, as beam uses it: derive `Deserialize` and `Serialize` for records
/// without a dependency of your own, with `#[serde(crate = "beam::serde")]`.
pub use serde;
pub use shuffle::KeyHasher;
pub use transform::multi::Output;
pub use transform::side::SideMap;

/// Everything a pipeline's author needs in scope.
pub mod prelude {
    pub use crate::combine::{CombineFn, Count, Max, Mean, Min, Reduce, Sum, Top};
    pub use crate::error::{Error, ErrorKind};
    pub use crate::io::csv::CsvInput;
    pub use crate::io::output::FileOutput;
    pub use crate::io::records::BadRecord;
    pub use crate::io::text::TextInput;
    pub use crate::metrics::Metrics;
    pub use crate::pipeline::Pipeline;
    pub use crate::source::{TestStream, timestamped};
    pub use crate::text::Word;
    pub use crate::transform::side::SideMap;
    pub use crate::window::{
        AfterAll, AfterCount, AfterEach, AfterFirst, AfterProcessingTime, AfterWatermark, FixedWindows, GlobalWindows,
        IntoWindowing, Never, Repeatedly, Sessions, SlidingWindows, Timestamp, Trigger, WindowFn, Windowed, Windowing,
    };
}
