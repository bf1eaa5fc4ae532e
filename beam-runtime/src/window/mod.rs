//! Event time and windows, as in Beam: every element of a timestamped collection
//! carries a [`Timestamp`], the [`IntervalWindow`] it belongs to and, once a
//! grouping has fired, the [`PaneInfo`] of the result it is part of.
//!
//! A pipeline gives its elements timestamps with `with_timestamps(f)`, then puts
//! them into windows with `window(..)`; every grouping and combining stage after
//! that works per window. Stages in between see only the values; their outputs
//! keep the timestamp and window of their input. `reify()` makes the whole
//! [`Windowed`] element visible. Pipelines that never use event time carry plain
//! values: they pay nothing for it.
//!
//! ```
//! use beam::prelude::*;
//! use std::time::Duration;
//!
//! // (user, score, event time in milliseconds)
//! let events = vec![("ann", 3u64, 1_000u64), ("bob", 5, 4_000), ("ann", 4, 12_000), ("ann", 1, 9_999)];
//! let out = pipeline! {
//!     scores = from_iter(events)
//!         -> with_timestamps(|e: &(&str, u64, u64)| e.2)
//!         -> window(FixedWindows::of(Duration::from_secs(10)))
//!         -> map(|(user, score, _): (&str, u64, u64)| (user, score))
//!         -> sum_per_key();
//!     totals = scores -> reify() -> collect();
//! }
//! .run()?;
//! let mut totals: Vec<(i64, &str, u64)> =
//!     out.totals.iter().map(|w| (w.window.start.millis(), w.value.0, w.value.1)).collect();
//! totals.sort();
//! assert_eq!(totals, [(0, "ann", 4), (0, "bob", 5), (10_000, "ann", 4)]);
//! // A window's result has the window's last timestamp, and is its one on-time pane.
//! assert!(out.totals.iter().all(|w| w.timestamp == w.window.max_timestamp() && w.pane.is_only()));
//! # Ok::<(), beam::Error>(())
//! ```

mod fns;
mod timestamp;
mod trigger;

use std::marker::PhantomData;
use std::time::Duration;

pub use fns::{AssignWindows, FixedWindows, GlobalWindows, Sessions, SlidingWindows, WindowFn};
pub use timestamp::Timestamp;
pub(crate) use timestamp::millis_of;
pub use trigger::{
    AfterAll, AfterCount, AfterEach, AfterFirst, AfterProcessingTime, AfterWatermark, Never, Repeatedly, Trigger,
};
pub(crate) use trigger::{TriggerState, When};

/// A window of event time, `[start, end)`. Every built-in window is one; the global
/// window spans all of time.
///
/// ```
/// use beam::window::{IntervalWindow, Timestamp};
///
/// let w = IntervalWindow::new(Timestamp::from(0u64), Timestamp::from(10_000u64));
/// assert!(w.contains(Timestamp::from(9_999u64)) && !w.contains(Timestamp::from(10_000u64)));
/// assert_eq!(w.max_timestamp(), Timestamp::from(9_999u64));
/// assert!(IntervalWindow::GLOBAL.contains(Timestamp::MIN));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, serde::Serialize, serde::Deserialize)]
pub struct IntervalWindow {
    pub start: Timestamp,
    /// The first timestamp after the window.
    pub end: Timestamp,
}

/// By its start alone: windows of one function that start together almost always
/// end together (a session that grew is another entry), so the end adds a
/// multiply to every key's hash and tells almost nothing. Equal windows still
/// hash alike.
impl std::hash::Hash for IntervalWindow {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.start.hash(state);
    }
}

impl IntervalWindow {
    /// The global window: every element is in it until a `window(..)` stage says
    /// otherwise. It ends a day before the end of time, as Beam's does.
    pub const GLOBAL: IntervalWindow = IntervalWindow {
        start: Timestamp::MIN,
        end: Timestamp::from_millis(Timestamp::END_OF_GLOBAL_WINDOW.millis() + 1),
    };

    pub fn new(start: Timestamp, end: Timestamp) -> IntervalWindow {
        IntervalWindow { start, end }
    }

    /// The last timestamp in the window: the timestamp of its results by default.
    pub fn max_timestamp(&self) -> Timestamp {
        Timestamp::from_millis(self.end.millis() - 1)
    }

    pub fn contains(&self, timestamp: Timestamp) -> bool {
        self.start <= timestamp && timestamp < self.end
    }

    pub fn is_global(&self) -> bool {
        *self == IntervalWindow::GLOBAL
    }
}

/// When a pane fired, relative to the watermark passing the end of its window.
/// Ordered as panes fire: early, on time, late.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub enum Timing {
    /// Before the watermark passed the end of the window: a speculative result.
    Early,
    /// When the watermark passed the end of the window.
    OnTime,
    /// After it, for data that arrived late.
    Late,
    /// Not a result of a grouping (an element that never went through one).
    Unknown,
}

/// Which result of its window and key an element is part of: Beam's `PaneInfo`.
///
/// ```
/// use beam::window::{PaneInfo, Timing};
///
/// let pane = PaneInfo::ONLY_ON_TIME;
/// assert_eq!((pane.timing, pane.index, pane.on_time_index), (Timing::OnTime, 0, Some(0)));
/// assert!(pane.is_first && pane.is_last && pane.is_only());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct PaneInfo {
    pub timing: Timing,
    /// Counts the panes of the window and key from 0.
    pub index: u32,
    /// Counts the on-time and late panes from 0; `None` for early ones.
    pub on_time_index: Option<u32>,
    pub is_first: bool,
    /// No further pane of this window and key will fire.
    pub is_last: bool,
}

impl PaneInfo {
    /// An element that has not been through a grouping: Beam's `NO_FIRING`.
    pub const NO_FIRING: PaneInfo =
        PaneInfo { timing: Timing::Unknown, index: 0, on_time_index: None, is_first: true, is_last: true };
    /// The one pane of a window that fires once, when the watermark passes its end:
    /// every result of a bounded input with the default trigger.
    pub const ONLY_ON_TIME: PaneInfo =
        PaneInfo { timing: Timing::OnTime, index: 0, on_time_index: Some(0), is_first: true, is_last: true };

    /// Whether this is the one pane of its window and key.
    pub fn is_only(&self) -> bool {
        self.is_first && self.is_last
    }
}

/// An element a grouping per window received too late: past the end of its window
/// plus the allowed lateness. A grouping that names a second output,
/// `(sums, late) = xs -> sum_per_key();`, sends them there instead of dropping
/// them; without one they are counted (`StageMetrics::late`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Late<T> {
    /// The element as the grouping received it.
    pub value: T,
    pub timestamp: Timestamp,
    pub window: IntervalWindow,
    /// The watermark it met.
    pub watermark: Timestamp,
}

/// An element with its event time: Beam's `WindowedValue`. Inside a timestamped
/// pipeline every element is one; `reify()` hands it to user code.
///
/// ```
/// use beam::window::{IntervalWindow, PaneInfo, Timestamp, Windowed};
///
/// let w = Windowed::new("x", Timestamp::from(5u64));
/// assert_eq!(w.window, IntervalWindow::GLOBAL);
/// assert_eq!(w.map(str::len).value, 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Windowed<T> {
    pub value: T,
    pub timestamp: Timestamp,
    pub window: IntervalWindow,
    pub pane: PaneInfo,
}

impl<T> Windowed<T> {
    /// `value` at `timestamp`, in the global window.
    pub fn new(value: T, timestamp: Timestamp) -> Windowed<T> {
        Windowed { value, timestamp, window: IntervalWindow::GLOBAL, pane: PaneInfo::NO_FIRING }
    }

    /// Another value with this one's timestamp, window and pane.
    #[inline(always)]
    pub fn with_value<U>(&self, value: U) -> Windowed<U> {
        Windowed { value, timestamp: self.timestamp, window: self.window, pane: self.pane }
    }

    /// The value changed by `f`, keeping timestamp, window and pane.
    #[inline(always)]
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Windowed<U> {
        Windowed { value: f(self.value), timestamp: self.timestamp, window: self.window, pane: self.pane }
    }

    /// `value` as the one on-time pane of `window`, at its end: what a co-group or
    /// join per window of bounded input gives, as Beam's `CoGroupByKey` does.
    #[inline(always)]
    pub(crate) fn on_time(value: T, window: IntervalWindow) -> Windowed<T> {
        Windowed { value, timestamp: window.max_timestamp(), window, pane: PaneInfo::ONLY_ON_TIME }
    }
}

/// How a collection is windowed: the window function, when its panes fire, how
/// late data may be, and what each pane holds. Beam's `WindowingStrategy`, built
/// the way Beam's `Window.into(..)` is:
///
/// ```
/// use beam::prelude::*;
/// use beam::window::{AfterCount, AfterWatermark};
/// use std::time::Duration;
///
/// let windowing = FixedWindows::of(Duration::from_secs(10))
///     .triggering(AfterWatermark::past_end_of_window().with_early_firings(AfterCount::new(1000)))
///     .with_allowed_lateness(Duration::from_secs(5))
///     .accumulating_fired_panes();
/// # let _ = windowing;
/// ```
///
/// `window(..)` takes a window function or a `Windowing`.
#[derive(Clone, Debug)]
pub struct Windowing<W, M = Discarding> {
    pub(crate) window_fn: W,
    pub(crate) strategy: Strategy,
    _mode: PhantomData<fn() -> M>,
}

/// What a grouping needs to know of its input's windowing, besides the windows.
#[doc(hidden)]
#[derive(Clone, Debug)]
pub struct Strategy {
    pub(crate) trigger: Trigger,
    /// Milliseconds after the end of a window during which its late data is kept.
    pub(crate) allowed_lateness: i64,
    pub(crate) timestamp_combiner: TimestampCombiner,
}

impl Default for Strategy {
    fn default() -> Self {
        Strategy {
            trigger: Trigger::default(),
            allowed_lateness: 0,
            timestamp_combiner: TimestampCombiner::EndOfWindow,
        }
    }
}

/// Each pane holds only the data since the previous pane: Beam's default.
#[derive(Clone, Copy, Debug, Default)]
pub struct Discarding;

/// Each pane holds everything its window has received so far.
#[derive(Clone, Copy, Debug, Default)]
pub struct Accumulating;

/// What a pane takes of its window's state when it fires: the state itself,
/// leaving a fresh one ([`Discarding`]), or a copy ([`Accumulating`], which so
/// needs the state to be `Clone`).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "accumulating panes repeat what earlier panes held, so the state of this grouping, `{A}`, must be `Clone`",
    label = "`{A}` is not `Clone`",
    note = "derive `Clone` for the values (or the combiner's accumulator), or use discarding panes"
)]
pub trait Accumulate<A>: Send + Sync + 'static {
    fn take(state: &mut A, fresh: impl FnOnce() -> A) -> A;
}

impl<A> Accumulate<A> for Discarding {
    fn take(state: &mut A, fresh: impl FnOnce() -> A) -> A {
        std::mem::replace(state, fresh())
    }
}

impl<A: Clone> Accumulate<A> for Accumulating {
    fn take(state: &mut A, _: impl FnOnce() -> A) -> A {
        state.clone()
    }
}

/// The timestamp of a pane: the window's last timestamp (Beam's default), or the
/// earliest or latest timestamp of its elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampCombiner {
    EndOfWindow,
    Earliest,
    Latest,
}

/// How collections that were never put into windows are windowed.
#[doc(hidden)]
pub const GLOBAL_WINDOWING: Windowing<GlobalWindows> = Windowing {
    window_fn: GlobalWindows,
    strategy: Strategy {
        trigger: Trigger(trigger::Node::Default),
        allowed_lateness: 0,
        timestamp_combiner: TimestampCombiner::EndOfWindow,
    },
    _mode: PhantomData,
};

impl<W: AssignWindows> Windowing<W> {
    /// `window_fn` with the default trigger: one pane per window, when the
    /// watermark passes its end.
    pub fn new(window_fn: W) -> Windowing<W> {
        Windowing { window_fn, strategy: Strategy::default(), _mode: PhantomData }
    }
}

impl<W: AssignWindows, M> Windowing<W, M> {
    fn with_mode<N>(self) -> Windowing<W, N> {
        Windowing { window_fn: self.window_fn, strategy: self.strategy, _mode: PhantomData }
    }

    pub fn window_fn(&self) -> &W {
        &self.window_fn
    }

    #[doc(hidden)]
    pub fn strategy(&self) -> &Strategy {
        &self.strategy
    }
}

/// What `window(..)` accepts: a window function, or a [`Windowing`] built from one,
/// with the builder methods of Beam's `Window.into(..)`.
pub trait IntoWindowing: Sized {
    type Fn: AssignWindows;
    /// [`Discarding`] or [`Accumulating`].
    type Mode;
    fn into_windowing(self) -> Windowing<Self::Fn, Self::Mode>;

    /// When panes fire (Beam's default: when the watermark passes the end of the
    /// window, then for every late element).
    fn triggering(self, trigger: impl Into<Trigger>) -> Windowing<Self::Fn, Self::Mode> {
        let mut windowing = self.into_windowing();
        windowing.strategy.trigger = trigger.into();
        windowing
    }

    /// How long after the end of a window its late data is still kept (default:
    /// none). Later data is dropped, and counted.
    fn with_allowed_lateness(self, lateness: Duration) -> Windowing<Self::Fn, Self::Mode> {
        let mut windowing = self.into_windowing();
        windowing.strategy.allowed_lateness = millis_of(lateness);
        windowing
    }

    /// Each pane holds everything the window has received so far.
    fn accumulating_fired_panes(self) -> Windowing<Self::Fn, Accumulating> {
        self.into_windowing().with_mode()
    }

    /// Each pane holds only what arrived since the previous one (the default).
    fn discarding_fired_panes(self) -> Windowing<Self::Fn, Discarding> {
        self.into_windowing().with_mode()
    }

    /// The timestamp of each pane.
    fn with_timestamp_combiner(self, combiner: TimestampCombiner) -> Windowing<Self::Fn, Self::Mode> {
        let mut windowing = self.into_windowing();
        windowing.strategy.timestamp_combiner = combiner;
        windowing
    }
}

impl IntoWindowing for Sessions {
    type Fn = Sessions;
    type Mode = Discarding;
    fn into_windowing(self) -> Windowing<Sessions> {
        Windowing::new(self)
    }
}

impl<W: WindowFn> IntoWindowing for W {
    type Fn = W;
    type Mode = Discarding;
    fn into_windowing(self) -> Windowing<W> {
        Windowing::new(self)
    }
}

impl<W: AssignWindows, M> IntoWindowing for Windowing<W, M> {
    type Fn = W;
    type Mode = M;
    fn into_windowing(self) -> Windowing<W, M> {
        self
    }
}

/// A window size or period in whole milliseconds, at least one.
fn positive_millis(what: &str, duration: Duration) -> i64 {
    let millis = millis_of(duration);
    assert!(millis > 0, "a window {what} must be at least a millisecond, not {duration:?}");
    millis
}
