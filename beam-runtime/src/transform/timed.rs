//! Event time in the fused loop: the stages that read or set it (`with_timestamps`,
//! `window`, `reify`), and the adaptors the generated code puts around every other
//! stage of a timestamped collection, so that user closures see values while the
//! loop carries [`Windowed`] elements.
//!
//! - an element-wise stage runs on the value; its outputs keep the input's
//!   timestamp, window and pane ([`InWindows`]);
//! - a keyed barrier keys its table by `(window, key)`, so combiner lifting
//!   pre-combines per window and key, and its results are stamped with their window
//!   ([`PerWindow`]); a global combine becomes keyed by window
//!   ([`GlobalPerWindow`]);
//! - a sink writes the values ([`Values`]).
//!
//! On a bounded input the watermark reaches the end of time once the input is read,
//! so each window fires once, on time, with all of its data: what the local runner
//! computes by merging the workers' tables.

use crate::exchange::Exchangeable;
use std::marker::PhantomData;

use crate::__private::{Stage, Witness};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::barrier::{Global, GlobalCombine, Keyed, KeyedCombine, Leaf, Merge};
use crate::collection::Collection;
use crate::context::{Scope, Worker};
use crate::error::Result;
use crate::runner::PartitionedPanes;
use crate::shuffle::{Batched, KeyedTables};
use crate::window::{
    Accumulate, AssignWindows, IntervalWindow, IntoWindowing, Late, PaneInfo, Strategy, Timestamp, TimestampCombiner,
    Windowed, Windowing,
};

/// `with_timestamps(f)`: each element's event time is `f(&x)`.
#[doc(hidden)]
pub struct WithTimestamps<F, In> {
    f: F,
    _in: PhantomData<fn(In)>,
}

pub fn with_timestamps<In, R, F>(_: Witness<In>, f: F) -> (WithTimestamps<F, In>, Witness<In>)
where
    F: Fn(&In) -> R + Sync,
    R: EventTime,
{
    (WithTimestamps { f, _in: PhantomData }, Witness::new())
}

/// What a `with_timestamps` closure may return.
#[diagnostic::on_unimplemented(
    message = "`with_timestamps` needs an event time, but its closure returns `{Self}`",
    label = "returns `{Self}`",
    note = "return a `Timestamp`, a `SystemTime`, or milliseconds since the Unix epoch as `u64` or `i64`"
)]
pub trait EventTime: Into<Timestamp> {}

// Not listed by rustc under a failed bound: the note above names them, in words.
#[diagnostic::do_not_recommend]
impl EventTime for Timestamp {}
#[diagnostic::do_not_recommend]
impl EventTime for u64 {}
#[diagnostic::do_not_recommend]
impl EventTime for i64 {}
#[diagnostic::do_not_recommend]
impl EventTime for std::time::SystemTime {}

impl<In, R: EventTime, F: Fn(&In) -> R + Sync> Stage for WithTimestamps<F, In> {
    type In = Windowed<In>;
    type Out = Windowed<In>;
    #[inline(always)]
    fn process<E: FnMut(Windowed<In>)>(&self, input: Windowed<In>, emit: &mut E) {
        // As in Beam, the element stays in its windows.
        let timestamp = (self.f)(&input.value).into();
        emit(Windowed { timestamp, ..input })
    }
}

/// `window(w)`: each element into the windows `w` assigns to its timestamp, one
/// output per window (a copy of the value for all but the last).
#[doc(hidden)]
pub struct WindowInto<W, M, In> {
    windowing: Windowing<W, M>,
    _in: PhantomData<fn(In)>,
}

pub fn window<In, I>(_: Witness<In>, windowing: I) -> (WindowInto<I::Fn, I::Mode, In>, Witness<In>)
where
    I: IntoWindowing,
    In: Clone,
{
    (WindowInto { windowing: windowing.into_windowing(), _in: PhantomData }, Witness::new())
}

impl<W, M, In> WindowInto<W, M, In> {
    /// How the collection this stage makes is windowed.
    pub fn windowing(&self) -> &Windowing<W, M> {
        &self.windowing
    }
}

impl<W: AssignWindows, M, In: Clone> Stage for WindowInto<W, M, In> {
    type In = Windowed<In>;
    type Out = Windowed<In>;
    #[inline(always)]
    fn process<E: FnMut(Windowed<In>)>(&self, input: Windowed<In>, emit: &mut E) {
        let timestamp = input.timestamp;
        let into = |window| Windowed { value: (), timestamp, window, pane: PaneInfo::NO_FIRING };
        // Each window is emitted when the next is known, so that the last one gets
        // the value itself rather than a copy.
        let mut pending: Option<IntervalWindow> = None;
        self.windowing.window_fn.assign(timestamp, &mut |window| {
            if let Some(previous) = pending.replace(window) {
                emit(into(previous).with_value(input.value.clone()));
            }
        });
        if let Some(last) = pending {
            emit(into(last).with_value(input.value));
        }
    }
}

/// `reify()`: the whole windowed element as the value, for user code to read.
#[doc(hidden)]
pub struct Reify<In>(PhantomData<fn(In)>);

pub fn reify<In>(_: Witness<In>) -> (Reify<In>, Witness<Windowed<In>>) {
    (Reify(PhantomData), Witness::new())
}

impl<In> Stage for Reify<In> {
    type In = Windowed<In>;
    type Out = Windowed<Windowed<In>>;
    #[inline(always)]
    fn process<E: FnMut(Self::Out)>(&self, input: Windowed<In>, emit: &mut E) {
        let (timestamp, window, pane) = (input.timestamp, input.window, input.pane);
        emit(Windowed { value: input, timestamp, window, pane })
    }
}

/// A stage that reads event time (`window`, `reify`, `with_timestamps`) on a
/// collection without it: each element is at [`Timestamp::MIN`] in the global
/// window, as in Beam.
#[doc(hidden)]
pub struct Untimed<S, In>(S, PhantomData<fn(In)>);

pub fn untimed<S, In, W>((stage, out): (S, Witness<W>)) -> (Untimed<S, In>, Witness<W>)
where
    S: Stage<In = Windowed<In>>,
{
    (Untimed(stage, PhantomData), out)
}

impl<S: Stage<In = Windowed<In>>, In> Stage for Untimed<S, In> {
    type In = In;
    type Out = S::Out;
    #[inline(always)]
    fn process<E: FnMut(S::Out)>(&self, input: In, emit: &mut E) {
        self.0.process(Windowed::new(input, Timestamp::MIN), emit)
    }
}

/// An element-wise stage of values in a timestamped collection.
#[doc(hidden)]
pub struct InWindows<S>(S);

/// `out` is the stage's output witness, or a `multi_output`'s witnesses.
pub fn in_windows<S: Stage, Out>((stage, out): (S, Out)) -> (InWindows<S>, Out) {
    (InWindows(stage), out)
}

impl<S: Stage> Stage for InWindows<S> {
    type In = Windowed<S::In>;
    type Out = Windowed<S::Out>;
    #[inline(always)]
    fn process<E: FnMut(Self::Out)>(&self, input: Self::In, emit: &mut E) {
        let (timestamp, window, pane) = (input.timestamp, input.window, input.pane);
        self.0.process(input.value, &mut |value| emit(Windowed { value, timestamp, window, pane }));
    }
}

/// A keyed barrier of a timestamped collection, per window as `windowing` says.
pub fn keyed_in_windows<C, W, M>(leaf: Keyed<C>, windowing: &Windowing<W, M>) -> W::Leaf<C, M>
where
    C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>,
    W: AssignWindows,
    M: Accumulate<C::Acc>,
{
    W::leaf(leaf.0, windowing.strategy())
}

/// A global combine of a timestamped collection: one result per window, as a keyed
/// barrier whose only key is `()`.
pub fn global_in_windows<C, W, M>(leaf: Global<C>, windowing: &Windowing<W, M>) -> W::Leaf<Unkeyed<C>, M>
where
    C: GlobalCombine<In: Send, Acc: Exchangeable>,
    W: AssignWindows,
    M: Accumulate<C::Acc>,
{
    W::leaf(Unkeyed(leaf.0), windowing.strategy())
}

/// A keyed barrier of a bounded timestamped collection, per window: every window
/// fires once, on time, when the input has been read.
pub fn keyed_in_bounded_windows<C, W, M>(leaf: Keyed<C>, windowing: &Windowing<W, M>) -> W::BoundedLeaf<C, M>
where
    C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>,
    W: AssignWindows,
    M: Accumulate<C::Acc>,
{
    W::bounded_leaf(leaf.0, windowing.strategy())
}

/// A global combine of a bounded timestamped collection: one result per window.
pub fn global_in_bounded_windows<C, W, M>(leaf: Global<C>, windowing: &Windowing<W, M>) -> W::BoundedLeaf<Unkeyed<C>, M>
where
    C: GlobalCombine<In: Send, Acc: Exchangeable>,
    W: AssignWindows,
    M: Accumulate<C::Acc>,
{
    W::bounded_leaf(Unkeyed(leaf.0), windowing.strategy())
}

/// A grouping per window of a bounded input, for windows that never merge: each
/// window fires once, on time, when the input has been read, as the local runner
/// fires a [`WindowedBarrier`]. With the default timestamp combiner (the end of
/// the window) nothing about a pane's elements but their accumulator matters, so a
/// table entry is the combiner's accumulator alone, keyed by (window, key): no
/// count for triggers, no element times for the pane's timestamp, nothing late to
/// check. (Half the size of a `WindowAcc` entry for a count and a maximum, and
/// the table's probes wait on memory.) Other timestamp combiners keep the times.
///
/// Windows of one length (fixed and sliding windows, and most of users' own) are
/// keyed by their start alone, the length kept once: a (window, key) entry of a
/// count and a maximum per auction is then 32 bytes, not 40, so that no entry
/// straddles two cache lines (half of 40-byte entries do; measured on the windows
/// benchmark in memory, keyed by (start, end, auction) the table ran as slowly as
/// the windowed pipeline). A window of another length than the first seen by any
/// worker is kept by its start and end.
#[doc(hidden)]
pub struct BoundedWindows<C: KeyedCombine, M> {
    windowed: WindowedBarrier<C, M>,
    lean: bool,
    /// The length of the windows keyed by their start.
    length: OnceLock<i64>,
}

/// A worker's table of a grouping per window of bounded input.
#[doc(hidden)]
pub enum BoundedLocal<K, V, A, Full> {
    Lean { by_start: Batched<(i64, K), V, A>, by_window: KeyedTables<(IntervalWindow, K), A> },
    Full(Full),
}

impl<C: KeyedCombine, M> BoundedWindows<C, M> {
    pub(crate) fn new(combine: C, strategy: &Strategy) -> Self {
        let lean = strategy.timestamp_combiner == TimestampCombiner::EndOfWindow;
        BoundedWindows { windowed: WindowedBarrier::new(combine, strategy), lean, length: OnceLock::new() }
    }

    fn on_time<W: WindowKey>(&self) -> OnTimeAtWindowEnd<'_, C, W> {
        let length = self.length.get().copied().unwrap_or_default();
        OnTimeAtWindowEnd { combine: &self.windowed.per_window.combine, length, _window: PhantomData }
    }
}

impl<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, A: Accumulate<C::Acc>> Leaf
    for BoundedWindows<C, A>
{
    type In = Windowed<C::In>;
    type Local = BoundedLocal<C::Key, C::Value, C::Acc, <WindowedBarrier<C, A> as Leaf>::Local>;
    type Out = Windowed<C::Out>;

    fn local(&self, worker: Worker) -> Self::Local {
        if self.lean {
            BoundedLocal::Lean { by_start: Batched::new(), by_window: KeyedTables::new() }
        } else {
            BoundedLocal::Full(self.windowed.local(worker))
        }
    }

    #[inline(always)]
    fn push(&self, local: &mut Self::Local, input: Self::In) {
        match local {
            BoundedLocal::Lean { by_start, by_window } => {
                let combine = &self.windowed.per_window.combine;
                let window = input.window;
                let (key, value) = combine.split(input.value);
                let (start, length) = (window.start.millis(), window.end.millis().wrapping_sub(window.start.millis()));
                if *self.length.get_or_init(|| length) == length {
                    by_start.add((start, key), value, || combine.create(), |acc, value| combine.add(acc, value));
                } else {
                    combine.add(by_window.entry((window, key), || combine.create()), value);
                }
            }
            BoundedLocal::Full(local) => self.windowed.push(local, input),
        }
    }

    fn finish<M: Merge>(&self, merge: &M, locals: Vec<Self::Local>) -> Result<Collection<Self::Out>> {
        let (mut by_start, mut by_window, mut full) = (Vec::new(), Vec::new(), Vec::new());
        for local in locals {
            match local {
                BoundedLocal::Lean { by_start: starts, by_window: windows } => {
                    let combine = &self.windowed.per_window.combine;
                    by_start.push(starts.into_tables(|| combine.create(), |acc, value| combine.add(acc, value)));
                    by_window.push(windows);
                }
                BoundedLocal::Full(local) => full.push(local),
            }
        }
        if !self.lean {
            return self.windowed.finish(merge, full);
        }
        Ok(Collection::concat(vec![merge.keyed(&self.on_time(), by_start)?, merge.keyed(&self.on_time(), by_window)?]))
    }
}

/// How a lean table keys a window: by its start, the length kept once (`i64`),
/// or whole.
trait WindowKey: std::hash::Hash + Eq + Send + Sync {
    fn key(window: IntervalWindow) -> Self;
    fn window(self, length: i64) -> IntervalWindow;
}

impl WindowKey for i64 {
    fn key(window: IntervalWindow) -> i64 {
        window.start.millis()
    }

    fn window(self, length: i64) -> IntervalWindow {
        IntervalWindow::new(Timestamp::from_millis(self), Timestamp::from_millis(self.wrapping_add(length)))
    }
}

impl WindowKey for IntervalWindow {
    fn key(window: IntervalWindow) -> IntervalWindow {
        window
    }

    fn window(self, _: i64) -> IntervalWindow {
        self
    }
}

/// `C` per (window, key), the window keyed as `W`, each window's one pane on time
/// at its end.
struct OnTimeAtWindowEnd<'c, C, W> {
    combine: &'c C,
    /// The length of windows keyed by their start.
    length: i64,
    _window: PhantomData<W>,
}

impl<C: KeyedCombine, W: WindowKey> KeyedCombine for OnTimeAtWindowEnd<'_, C, W> {
    type In = Windowed<C::In>;
    type Key = (W, C::Key);
    type Value = C::Value;
    type Acc = C::Acc;
    type Out = Windowed<C::Out>;
    type Splits = ();

    fn split(&self, input: Self::In) -> (Self::Key, C::Value) {
        let (key, value) = self.combine.split(input.value);
        ((W::key(input.window), key), value)
    }

    fn create(&self) -> C::Acc {
        self.combine.create()
    }

    fn add(&self, acc: &mut C::Acc, value: C::Value) {
        self.combine.add(acc, value)
    }

    fn merge(&self, acc: &mut C::Acc, other: C::Acc) {
        self.combine.merge(acc, other)
    }

    fn extract(&self, (window, key): Self::Key, acc: C::Acc, emit: &mut impl FnMut(Self::Out)) {
        let window = window.window(self.length);
        self.combine.extract(key, acc, &mut |value| emit(Windowed::on_time(value, window)))
    }
}

/// What a window and key's pane has received: the combiner's accumulator, how many
/// elements, and the earliest and latest timestamps among those that may hold the
/// pane's timestamp (not behind the watermark when they arrived).
#[doc(hidden)]
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct WindowAcc<A> {
    pub(crate) acc: A,
    pub(crate) count: u64,
    pub(crate) earliest: Timestamp,
    pub(crate) latest: Timestamp,
}

impl<A> WindowAcc<A> {
    pub(crate) fn new(acc: A) -> Self {
        WindowAcc { acc, count: 0, earliest: Timestamp::MAX, latest: Timestamp::MIN }
    }

    #[inline(always)]
    fn saw(&mut self, timestamp: Timestamp, hold_floor: i64) {
        self.count += 1;
        if timestamp.millis() >= hold_floor {
            self.earliest = self.earliest.min(timestamp);
            self.latest = self.latest.max(timestamp);
        }
    }

    pub(crate) fn absorb(&mut self, other: &WindowAcc<A>) {
        self.count += other.count;
        self.earliest = self.earliest.min(other.earliest);
        self.latest = self.latest.max(other.latest);
    }

    /// Whether an element that may hold the pane's timestamp arrived.
    pub(crate) fn holds(&self) -> bool {
        self.earliest <= self.latest
    }
}

/// The timestamp of a pane of `window` whose elements' times were `acc`'s: the
/// window's last timestamp, unless an element that may hold it says otherwise.
pub(crate) fn pane_timestamp<A>(combiner: TimestampCombiner, window: IntervalWindow, acc: &WindowAcc<A>) -> Timestamp {
    match combiner {
        TimestampCombiner::Earliest if acc.holds() => acc.earliest,
        TimestampCombiner::Latest if acc.holds() => acc.latest,
        _ => window.max_timestamp(),
    }
}

/// A keyed barrier `C` per window and key, for windows that never merge: its table
/// is keyed by `(window, key)`, so combiner lifting pre-combines per window.
#[doc(hidden)]
pub struct PerWindow<C> {
    pub(crate) combine: C,
    timestamp_combiner: TimestampCombiner,
    /// Elements earlier than this (the input watermark of a windowed runner's tick)
    /// cannot hold a pane's timestamp back.
    pub(crate) hold_floor: AtomicI64,
}

impl<C: KeyedCombine> KeyedCombine for PerWindow<C> {
    type In = Windowed<C::In>;
    type Key = (IntervalWindow, C::Key);
    type Value = (Timestamp, C::Value);
    type Acc = WindowAcc<C::Acc>;
    type Out = Windowed<C::Out>;
    type Splits = ();

    #[inline(always)]
    fn split(&self, input: Self::In) -> (Self::Key, Self::Value) {
        let (key, value) = self.combine.split(input.value);
        ((input.window, key), (input.timestamp, value))
    }

    #[inline(always)]
    fn create(&self) -> Self::Acc {
        WindowAcc::new(self.combine.create())
    }

    #[inline(always)]
    fn add(&self, acc: &mut Self::Acc, (timestamp, value): Self::Value) {
        acc.saw(timestamp, self.hold_floor.load(Ordering::Relaxed));
        self.combine.add(&mut acc.acc, value);
    }

    fn merge(&self, acc: &mut Self::Acc, other: Self::Acc) {
        acc.absorb(&other);
        self.combine.merge(&mut acc.acc, other.acc);
    }

    /// The window's one pane, on time, with all its data: what a bounded input
    /// gives once it has been read.
    fn extract(&self, (window, key): Self::Key, acc: Self::Acc, emit: &mut impl FnMut(Self::Out)) {
        let timestamp = pane_timestamp(self.timestamp_combiner, window, &acc);
        let pane = PaneInfo::ONLY_ON_TIME;
        self.combine.extract(key, acc.acc, &mut |value| emit(Windowed { value, timestamp, window, pane }));
    }
}

/// The barrier of a grouping per window, for windows that never merge. Its
/// workers' tables are merged by [`Merge::windowed`]: all at once, each window on
/// time, by the local runner at the end of a bounded input; tick by tick, as the
/// trigger says, by the windowed runner, which keeps every live window's panes
/// here between ticks.
#[doc(hidden)]
pub struct WindowedBarrier<C: KeyedCombine, M> {
    pub(crate) per_window: PerWindow<C>,
    pub(crate) strategy: Strategy,
    pub(crate) panes: PartitionedPanes<C::Key, C::Acc>,
    /// What the last tick received too late, for the late output.
    pub(crate) late: Mutex<Vec<Late<C::In>>>,
    _mode: PhantomData<fn() -> M>,
}

/// A worker's state of a grouping per window: its table, and what came too late.
#[doc(hidden)]
pub struct WindowedLocal<K, A, In> {
    tables: KeyedTables<K, A>,
    late: Vec<Late<In>>,
}

/// Whether an element of `window` comes too late at the watermark `hold_floor`
/// (the tick's; the beginning of time in a bounded run, where nothing is late).
#[inline(always)]
fn too_late(window: IntervalWindow, strategy: &Strategy, watermark: i64) -> bool {
    window.max_timestamp().millis().saturating_add(strategy.allowed_lateness) < watermark
}

impl<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, A: Accumulate<C::Acc>> Leaf
    for WindowedBarrier<C, A>
{
    type In = Windowed<C::In>;
    type Local = WindowedLocal<(IntervalWindow, C::Key), WindowAcc<C::Acc>, C::In>;
    type Out = Windowed<C::Out>;

    fn local(&self, _: Worker) -> Self::Local {
        WindowedLocal { tables: KeyedTables::new(), late: Vec::new() }
    }

    #[inline(always)]
    fn push(&self, local: &mut Self::Local, input: Self::In) {
        let watermark = self.per_window.hold_floor.load(Ordering::Relaxed);
        if too_late(input.window, &self.strategy, watermark) {
            local.late.push(late(input, watermark));
            return;
        }
        let (key, value) = self.per_window.split(input);
        let acc = local.tables.entry(key, || self.per_window.create());
        self.per_window.add(acc, value);
    }

    fn finish<M: Merge>(&self, merge: &M, locals: Vec<Self::Local>) -> Result<Collection<Self::Out>> {
        let (tables, late) = split_locals(locals);
        *self.late.lock().unwrap_or_else(|e| e.into_inner()) = late;
        merge.windowed(self, tables)
    }
}

fn late<T>(input: Windowed<T>, watermark: i64) -> Late<T> {
    Late {
        value: input.value,
        timestamp: input.timestamp,
        window: input.window,
        watermark: Timestamp::from_millis(watermark),
    }
}

/// The workers' tables, and everything they received too late.
fn split_locals<K, A, In>(locals: Vec<WindowedLocal<K, A, In>>) -> (Vec<KeyedTables<K, A>>, Vec<Late<In>>) {
    let mut late = Vec::new();
    let tables = locals
        .into_iter()
        .map(|local| {
            late.extend(local.late);
            local.tables
        })
        .collect();
    (tables, late)
}

/// A barrier with a late output: what it received too late in its last run.
#[doc(hidden)]
pub trait LateOutput {
    type Late: Send;
    fn take_late(&self) -> Vec<Self::Late>;
}

impl<C: KeyedCombine<In: Send>, M> LateOutput for WindowedBarrier<C, M> {
    type Late = Late<C::In>;
    fn take_late(&self) -> Vec<Late<C::In>> {
        std::mem::take(&mut *self.late.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl<C: KeyedCombine<In: Send>, M> LateOutput for SessionBarrier<C, M> {
    type Late = Late<C::In>;
    fn take_late(&self) -> Vec<Late<C::In>> {
        std::mem::take(&mut *self.late.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The element type of a grouping's late output, whose input values are `T`.
pub fn late_witness<T>(_: Witness<T>) -> Witness<Late<T>> {
    Witness::new()
}

impl<C: KeyedCombine, M> WindowedBarrier<C, M> {
    pub(crate) fn new(combine: C, strategy: &Strategy) -> Self {
        let per_window = PerWindow {
            combine,
            timestamp_combiner: strategy.timestamp_combiner,
            hold_floor: AtomicI64::new(i64::MIN),
        };
        WindowedBarrier {
            per_window,
            strategy: strategy.clone(),
            panes: PartitionedPanes::default(),
            late: Mutex::new(Vec::new()),
            _mode: PhantomData,
        }
    }
}

/// The barrier of a grouping per session (windows that merge): per key, a list of
/// its sessions. Like [`WindowedBarrier`], merged all at once at the end of a
/// bounded input, tick by tick by the windowed runner, which keeps the panes here.
#[doc(hidden)]
pub struct SessionBarrier<C: KeyedCombine, M> {
    pub(crate) per_session: PerSession<C>,
    pub(crate) strategy: Strategy,
    pub(crate) panes: PartitionedPanes<C::Key, C::Acc>,
    /// What the last tick received too late, for the late output.
    pub(crate) late: Mutex<Vec<Late<C::In>>>,
    _mode: PhantomData<fn() -> M>,
}

impl<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable, In: Send>, A: Accumulate<C::Acc>> Leaf
    for SessionBarrier<C, A>
{
    type In = Windowed<C::In>;
    type Local = WindowedLocal<C::Key, SessionList<C::Acc>, C::In>;
    type Out = Windowed<C::Out>;

    fn local(&self, _: Worker) -> Self::Local {
        WindowedLocal { tables: KeyedTables::new(), late: Vec::new() }
    }

    #[inline(always)]
    fn push(&self, local: &mut Self::Local, input: Self::In) {
        let watermark = self.per_session.hold_floor.load(Ordering::Relaxed);
        if too_late(input.window, &self.strategy, watermark) {
            local.late.push(late(input, watermark));
            return;
        }
        let (key, value) = self.per_session.split(input);
        let acc = local.tables.entry(key, Vec::new);
        self.per_session.add(acc, value);
    }

    fn finish<M: Merge>(&self, merge: &M, locals: Vec<Self::Local>) -> Result<Collection<Self::Out>> {
        let (tables, late) = split_locals(locals);
        *self.late.lock().unwrap_or_else(|e| e.into_inner()) = late;
        merge.sessions(self, tables)
    }
}

impl<C: KeyedCombine, M> SessionBarrier<C, M> {
    pub(crate) fn new(combine: C, strategy: &Strategy) -> Self {
        let timestamp_combiner = strategy.timestamp_combiner;
        SessionBarrier {
            per_session: PerSession { combine, timestamp_combiner, hold_floor: AtomicI64::new(i64::MIN) },
            strategy: strategy.clone(),
            panes: PartitionedPanes::default(),
            late: Mutex::new(Vec::new()),
            _mode: PhantomData,
        }
    }
}

/// A keyed barrier for windows that merge (sessions): per key, its windows in
/// order of start, none overlapping another, each with its accumulator. A new
/// window that overlaps some merges with them, and so do their accumulators.
#[doc(hidden)]
pub struct PerSession<C> {
    pub(crate) combine: C,
    timestamp_combiner: TimestampCombiner,
    /// As for [`PerWindow`].
    pub(crate) hold_floor: AtomicI64,
}

/// A key's sessions: disjoint windows in order, with what they received.
#[doc(hidden)]
pub type SessionList<A> = Vec<(IntervalWindow, WindowAcc<A>)>;

pub(crate) fn overlap(a: &IntervalWindow, b: &IntervalWindow) -> bool {
    a.start < b.end && b.start < a.end
}

pub(crate) fn span(a: IntervalWindow, b: IntervalWindow) -> IntervalWindow {
    IntervalWindow::new(a.start.min(b.start), a.end.max(b.end))
}

// A key with several sessions is handed to each: keys of merging windows are `Clone`.
impl<C: KeyedCombine<Key: Clone>> KeyedCombine for PerSession<C> {
    type In = Windowed<C::In>;
    type Key = C::Key;
    type Value = (IntervalWindow, Timestamp, C::Value);
    type Acc = SessionList<C::Acc>;
    type Out = Windowed<C::Out>;
    type Splits = ();

    #[inline(always)]
    fn split(&self, input: Self::In) -> (C::Key, Self::Value) {
        let (key, value) = self.combine.split(input.value);
        (key, (input.window, input.timestamp, value))
    }

    fn create(&self) -> Self::Acc {
        Vec::new()
    }

    fn add(&self, sessions: &mut Self::Acc, (window, timestamp, value): Self::Value) {
        // The sessions are disjoint and in order, so their ends are in order too:
        // the ones `window` overlaps are a run, `first..last`.
        let first = sessions.partition_point(|(w, _)| w.end <= window.start);
        let last = first + sessions[first..].iter().take_while(|(w, _)| overlap(w, &window)).count();
        if first == last {
            let mut acc = WindowAcc::new(self.combine.create());
            acc.saw(timestamp, self.hold_floor.load(Ordering::Relaxed));
            self.combine.add(&mut acc.acc, value);
            sessions.insert(first, (window, acc));
            return;
        }
        let merged: Vec<_> = sessions.drain(first + 1..last).collect();
        let (session, acc) = &mut sessions[first];
        *session = span(*session, window);
        for (other, other_acc) in merged {
            *session = span(*session, other);
            acc.absorb(&other_acc);
            self.combine.merge(&mut acc.acc, other_acc.acc);
        }
        acc.saw(timestamp, self.hold_floor.load(Ordering::Relaxed));
        self.combine.add(&mut acc.acc, value);
    }

    fn merge(&self, sessions: &mut Self::Acc, other: Self::Acc) {
        let mut all = std::mem::take(sessions);
        all.extend(other);
        all.sort_by_key(|(w, _)| w.start);
        for (window, acc) in all {
            match sessions.last_mut() {
                Some((last, last_acc)) if overlap(last, &window) => {
                    *last = span(*last, window);
                    last_acc.absorb(&acc);
                    self.combine.merge(&mut last_acc.acc, acc.acc);
                }
                _ => sessions.push((window, acc)),
            }
        }
    }

    fn extract(&self, key: C::Key, sessions: Self::Acc, emit: &mut impl FnMut(Self::Out)) {
        for (window, acc) in sessions {
            let timestamp = pane_timestamp(self.timestamp_combiner, window, &acc);
            let pane = PaneInfo::ONLY_ON_TIME;
            self.combine.extract(key.clone(), acc.acc, &mut |value| emit(Windowed { value, timestamp, window, pane }));
        }
    }
}

/// A global combine as a keyed barrier with the one key `()`, to run per window.
#[doc(hidden)]
pub struct Unkeyed<C>(C);

impl<C: GlobalCombine<In: Send>> KeyedCombine for Unkeyed<C> {
    type In = C::In;
    type Key = ();
    type Value = C::In;
    type Acc = C::Acc;
    type Out = C::Out;
    type Splits = ();

    #[inline(always)]
    fn split(&self, input: C::In) -> ((), C::In) {
        ((), input)
    }

    #[inline(always)]
    fn create(&self) -> C::Acc {
        // One state per window and worker; which worker does not matter here.
        self.0.create(Worker { index: 0, count: 1 })
    }

    #[inline(always)]
    fn add(&self, acc: &mut C::Acc, value: C::In) {
        self.0.add(acc, value);
    }

    fn merge(&self, acc: &mut C::Acc, other: C::Acc) {
        self.0.merge(acc, other);
    }

    fn extract(&self, (): (), acc: C::Acc, emit: &mut impl FnMut(C::Out)) {
        self.0.extract(acc, emit);
    }
}

/// A sink of a timestamped collection: it writes (or collects) the values.
#[doc(hidden)]
pub struct Values<L>(L);

pub fn values_of<L: Leaf>(leaf: L) -> Values<L> {
    Values(leaf)
}

impl<L: Leaf> Leaf for Values<L> {
    type In = Windowed<L::In>;
    type Local = L::Local;
    type Out = L::Out;

    fn prepare(&self, scope: &Scope) -> Result<()> {
        self.0.prepare(scope)
    }

    fn local(&self, worker: Worker) -> L::Local {
        self.0.local(worker)
    }

    #[inline(always)]
    fn push(&self, local: &mut L::Local, input: Windowed<L::In>) {
        self.0.push(local, input.value);
    }

    fn finish<M: Merge>(&self, merge: &M, locals: Vec<L::Local>) -> Result<Collection<L::Out>> {
        self.0.finish(merge, locals)
    }
}

/// The element type of a timestamped collection of `T`.
pub fn timed_witness<T>(_: Witness<T>) -> Witness<Windowed<T>> {
    Witness::new()
}

/// A `partition`'s output: the index of the output an element goes to, and the
/// element (with its event time, in a timestamped collection).
#[doc(hidden)]
pub trait Route {
    type Element;
    fn route(self) -> (usize, Self::Element);
}

impl<T> Route for (usize, T) {
    type Element = T;
    #[inline(always)]
    fn route(self) -> (usize, T) {
        self
    }
}

impl<T> Route for Windowed<(usize, T)> {
    type Element = Windowed<T>;
    #[inline(always)]
    fn route(self) -> (usize, Windowed<T>) {
        let index = self.value.0;
        (index, self.map(|(_, element)| element))
    }
}
