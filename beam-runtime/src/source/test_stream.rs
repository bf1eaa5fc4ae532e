//! `test_stream(..)`: Beam's `TestStream`, a scripted unbounded source for tests of
//! event time: bundles of timestamped elements, advances of the watermark and of
//! processing time, in the order the script gives them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::__private::Witness;
use crate::context::Context;
use crate::error::Result;
use crate::runner::{CHUNK, NO_BUNDLE, Schedule, Step};
use crate::source::Source;
use crate::window::{Timestamp, Windowed, millis_of};

/// A scripted unbounded input, Beam's `TestStream`: each
/// [`add_elements`](Self::add_elements) is one bundle, and the watermark and
/// processing time move only when the script says. A pipeline that reads one runs
/// tick by tick, one step of the script per tick, and ends when the script does
/// (the watermark then reaches the end of time).
///
/// ```
/// use beam::prelude::*;
/// use beam::window::{AfterCount, AfterWatermark, Timing};
/// use std::time::Duration;
///
/// let script = TestStream::new()
///     .add_elements([timestamped(("blue", 3u64), 1_000), timestamped(("blue", 2), 2_000)])
///     .advance_watermark_to(10_000)
///     .add_elements([timestamped(("blue", 5), 4_000)]) // late, but within the allowed lateness
///     .advance_watermark_to_infinity();
/// let out = pipeline! {
///     scores = test_stream(script)
///         -> window(FixedWindows::of(Duration::from_secs(10))
///                       .triggering(AfterWatermark::past_end_of_window().with_late_firings(AfterCount::new(1)))
///                       .with_allowed_lateness(Duration::from_secs(60))
///                       .accumulating_fired_panes())
///         -> sum_per_key()
///         -> reify()
///         -> collect();
/// }
/// .run()?;
/// let mut panes: Vec<(Timing, u64)> = out.scores.iter().map(|w| (w.pane.timing, w.value.1)).collect();
/// panes.sort_by_key(|p| p.1);
/// assert_eq!(panes, [(Timing::OnTime, 5), (Timing::Late, 10)]);
/// # Ok::<(), beam::Error>(())
/// ```
pub struct TestStream<T> {
    steps: Vec<Scripted<T>>,
}

enum Scripted<T> {
    Elements(Vec<Windowed<T>>),
    Watermark(Timestamp),
    ProcessingTime(i64),
}

/// `value` at event time `at` (a [`Timestamp`], or milliseconds), for
/// [`TestStream::add_elements`].
pub fn timestamped<T>(value: T, at: impl Into<Timestamp>) -> Windowed<T> {
    Windowed::new(value, at.into())
}

impl<T> TestStream<T> {
    pub fn new() -> Self {
        TestStream { steps: Vec::new() }
    }

    /// One bundle of elements, each with its timestamp (see [`timestamped`]).
    pub fn add_elements(mut self, elements: impl IntoIterator<Item = Windowed<T>>) -> Self {
        self.steps.push(Scripted::Elements(elements.into_iter().collect()));
        self
    }

    /// The watermark moves to `to`: no element earlier than that is expected any
    /// more (one that comes is late). It never moves back.
    pub fn advance_watermark_to(mut self, to: impl Into<Timestamp>) -> Self {
        self.steps.push(Scripted::Watermark(to.into()));
        self
    }

    /// The watermark moves to the end of time: the input is complete.
    pub fn advance_watermark_to_infinity(self) -> Self {
        self.advance_watermark_to(Timestamp::MAX)
    }

    /// Processing time moves on by `by`, for processing-time triggers.
    pub fn advance_processing_time(mut self, by: Duration) -> Self {
        self.steps.push(Scripted::ProcessingTime(millis_of(by)));
        self
    }
}

impl<T> Default for TestStream<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The source a `test_stream` stage reads: the script's bundles, one per tick.
#[doc(hidden)]
pub struct TestStreamSource<T> {
    steps: Vec<Step>,
    /// Each bundle's elements not yet read, and how many chunks of it were taken
    /// (with several processes, each reads every `n`-th chunk of every bundle).
    bundles: Vec<Mutex<(Vec<Windowed<T>>, usize)>>,
    /// The bundle of the current tick, set by the runner.
    current: Arc<AtomicUsize>,
    share: std::sync::OnceLock<crate::runner::Share>,
}

/// `test_stream(script)`: the elements of `script`, as it hands them out.
pub fn test_stream<T: Send>(script: TestStream<T>) -> (TestStreamSource<T>, Witness<T>) {
    let mut steps = Vec::new();
    let mut bundles = Vec::new();
    for step in script.steps {
        steps.push(match step {
            Scripted::Elements(elements) => {
                bundles.push(Mutex::new((elements, 0)));
                Step::Elements(bundles.len() - 1)
            }
            Scripted::Watermark(to) => Step::Watermark(to),
            Scripted::ProcessingTime(by) => Step::ProcessingTime(by),
        });
    }
    let source = TestStreamSource {
        steps,
        bundles,
        current: Arc::new(AtomicUsize::new(NO_BUNDLE)),
        share: std::sync::OnceLock::new(),
    };
    (source, Witness::new())
}

impl<T: Send> Source for TestStreamSource<T> {
    type Item = Windowed<T>;
    type State = ();

    fn prepare(&self, ctx: &Context) -> Result<()> {
        let _ = self.share.set(ctx.share());
        ctx.register_schedule(Schedule { steps: self.steps.clone(), bundle: self.current.clone() })
    }

    fn next_chunk(&self, _: &mut (), chunk: &mut Vec<Windowed<T>>) -> Result<bool> {
        let Some(bundle) = self.bundles.get(self.current.load(Ordering::Relaxed)) else { return Ok(false) };
        let mut bundle = bundle.lock().unwrap_or_else(|e| e.into_inner());
        let (elements, taken) = &mut *bundle;
        let share = self.share.get().copied().unwrap_or(crate::runner::Share { index: 0, count: 1 });
        while !elements.is_empty() {
            let take = elements.len().min(CHUNK);
            let mine = *taken % share.count == share.index;
            *taken += 1;
            if mine {
                chunk.extend(elements.drain(..take));
                return Ok(true);
            }
            elements.drain(..take);
        }
        Ok(false)
    }
}
