//! The windowed runner: event time on input that arrives over time. A pipeline
//! whose source is unbounded (a [`TestStream`](crate::window::TestStream); later,
//! endless sources) runs in ticks. Each tick is one step of the input: a bundle
//! of elements, an advance of the watermark, or an advance of processing time.
//! Every segment runs once per tick, in plan order, on the local runner's workers:
//!
//! 1. the source segment runs the tick's bundle through its fused stages into the
//!    groupings' per-worker tables, pre-combined per window and key;
//! 2. each grouping per window ([`WindowedBarrier`]) merges those tables into the
//!    panes it keeps between ticks (here, [`PartitionedPanes`]: partition by
//!    partition, in parallel, as its tables are partitioned), drops what is too late,
//!    asks each touched pane's trigger whether to fire, then advances its
//!    watermark: panes whose window it passes fire on time, and windows it passes
//!    by more than the allowed lateness are closed and freed;
//! 3. the fired panes are the grouping's result for this tick, and the segments
//!    that read it run on them in the same tick.
//!
//! Elements are processed before the watermark advances, so a pane fired by an
//! upstream grouping reaches a downstream one before that one's watermark passes
//! it: one watermark, the source's, serves every stage.

use crate::exchange::Exchangeable;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hashbrown::HashMap;

use crate::barrier::Leaf;
use crate::barrier::{EachWorker, GlobalCombine, KeyedCombine, Merge};
use crate::collection::Collection;
use crate::context::{Context, Scope};
use crate::error::{Error, ErrorKind, Result};
use crate::plan::SegmentInput;
use crate::runner::local::{InProcess, LocalReads};
use crate::runner::segment::{Destination, FinishLeaf};
use crate::runner::{AnySegment, SegmentTask};
use crate::shuffle::{KeyHasher, KeyedTables, PARTITIONS, by_partition, merge_partition};
use crate::transform::timed::{SessionBarrier, SessionList, WindowAcc, WindowedBarrier, overlap, pane_timestamp, span};
use crate::window::{
    Accumulate, IntervalWindow, PaneInfo, Strategy, Timestamp, TimestampCombiner, Timing, TriggerState, When, Windowed,
};

/// One step of an unbounded input's script.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Step {
    /// The source hands out its bundle with this index.
    Elements(usize),
    /// The watermark advances to this time.
    Watermark(Timestamp),
    /// Processing time advances by this many milliseconds.
    ProcessingTime(i64),
}

/// The steps of a run's unbounded source, and which bundle it hands out now.
pub(crate) struct Schedule {
    pub steps: Vec<Step>,
    /// The bundle of the current tick, or `NO_BUNDLE`.
    pub bundle: Arc<AtomicUsize>,
}

pub(crate) const NO_BUNDLE: usize = usize::MAX;

/// Where the run is in time during one tick.
#[derive(Clone, Copy, Debug)]
struct Now {
    /// The watermark while the tick's elements are processed.
    watermark: Timestamp,
    /// The watermark once they have been: panes whose window it passes fire.
    next_watermark: Timestamp,
    processing_time: Timestamp,
}

/// Runs the pipeline tick by tick, following `schedule`; `segments` are prepared.
pub(crate) fn run_in_ticks(ctx: &Context, segments: &[&dyn AnySegment], schedule: Schedule) -> Result<()> {
    run_ticks(ctx, schedule, |tick| {
        let reads = LocalReads::new(ctx.plan());
        segments.iter().try_for_each(|segment| segment.perform(SegmentTask::RunTick(ctx, &reads, tick)))
    })
}

/// Steps through `schedule`, calling `run_tick` for each tick (every segment, in
/// plan order, on this tick's bundle and watermark): in this process, or in every
/// process of a group.
pub(crate) fn run_ticks(
    ctx: &Context,
    schedule: Schedule,
    mut run_tick: impl FnMut(&Tick) -> Result<()>,
) -> Result<()> {
    for info in ctx.plan().segments {
        if let SegmentInput::Source(n) = info.input
            && ctx.stage(n).op != "test_stream"
        {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a pipeline with an unbounded source (`test_stream`) cannot also read a bounded one yet",
            )
            .in_stage(ctx.stage(n)));
        }
    }
    let mut now =
        Now { watermark: Timestamp::MIN, next_watermark: Timestamp::MIN, processing_time: Timestamp::from_millis(0) };
    // The end of the input: the watermark reaches the end of time.
    let steps = schedule.steps.iter().copied().chain([Step::Watermark(Timestamp::MAX)]);
    for step in steps {
        schedule.bundle.store(NO_BUNDLE, Ordering::Relaxed);
        match step {
            Step::Elements(bundle) => schedule.bundle.store(bundle, Ordering::Relaxed),
            Step::Watermark(to) => now.next_watermark = now.watermark.max(to),
            Step::ProcessingTime(by) => {
                now.processing_time = Timestamp::from_millis(now.processing_time.millis().saturating_add(by));
            }
        }
        let tick = Tick { now };
        ctx.set_tick(tick);
        run_tick(&tick)?;
        now.watermark = now.next_watermark;
    }
    Ok(())
}

/// One tick, as the segments' barriers see it.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Tick {
    now: Now,
}

/// Finishes each barrier of a segment on one tick, as a task of its stage. Results
/// add up over ticks: a `collect()` output gathers every tick's.
pub(crate) struct FinishTick<'c, 't> {
    pub ctx: &'c Context,
    pub tick: &'t Tick,
    /// Whether barriers are merged across a group of processes.
    pub across: bool,
}

impl FinishLeaf for FinishTick<'_, '_> {
    fn finish<L: Leaf, D: Destination<L::Out>>(
        &self,
        stage: usize,
        leaf: &L,
        to: &D,
        locals: Vec<L::Local>,
    ) -> Result<()> {
        let out = self.ctx.task(stage, |scope| {
            let merge = TickMerge { in_process: InProcess { scope }, tick: self.tick, stage, across: self.across };
            leaf.finish(&merge, locals)
        })?;
        if self.ctx.stage(stage).kind.is_barrier() {
            self.ctx.add_output(stage, out.len() as u64);
        }
        to.append(out);
        Ok(())
    }
}

/// Finishes `leaf` on `tick` in `scope` (its stage's task), as `FinishTick` finishes
/// a segment's leaves: for a barrier that is not a segment's leaf (a co-group's).
pub(crate) fn finish_on_tick<L: Leaf>(
    scope: &Scope,
    tick: &Tick,
    leaf: &L,
    locals: Vec<L::Local>,
) -> Result<Collection<L::Out>> {
    // A co-group's grouping is in process: its inputs were read by key.
    let merge = TickMerge { in_process: InProcess { scope }, tick, stage: scope.stage().get(), across: false };
    leaf.finish(&merge, locals)
}

/// Merges the workers' states of one barrier in a tick: groupings per window keep
/// their panes between ticks; every other barrier is as in a bounded run.
pub(crate) struct TickMerge<'s, 'c> {
    pub in_process: InProcess<'s, 'c>,
    pub tick: &'s Tick,
    pub stage: usize,
    /// Whether barriers are merged across a group of processes: each process
    /// keeps the panes of the partitions it owns.
    #[cfg_attr(not(feature = "timely"), allow(dead_code))]
    pub across: bool,
}

impl Merge for TickMerge<'_, '_> {
    fn keyed<C: KeyedCombine<Key: Exchangeable, Acc: Exchangeable>>(
        &self,
        combine: &C,
        workers: Vec<KeyedTables<C::Key, C::Acc>>,
    ) -> Result<Collection<C::Out>> {
        #[cfg(feature = "timely")]
        if self.across {
            return self.across_group().keyed(combine, workers);
        }
        self.in_process.keyed(combine, workers)
    }

    fn global<C: GlobalCombine<Acc: Exchangeable>>(
        &self,
        combine: &C,
        workers: Vec<C::Acc>,
    ) -> Result<Collection<C::Out>> {
        #[cfg(feature = "timely")]
        if self.across {
            return self.across_group().global(combine, workers);
        }
        self.in_process.global(combine, workers)
    }

    fn gathered<E: EachWorker<Out: Exchangeable>>(
        &self,
        each: &E,
        workers: Vec<E::Local>,
    ) -> Result<Collection<E::Out>> {
        #[cfg(feature = "timely")]
        if self.across {
            return self.across_group().gathered(each, workers);
        }
        self.in_process.gathered(each, workers)
    }

    fn each_worker<E: EachWorker>(&self, each: &E, workers: Vec<E::Local>) -> Result<Collection<E::Out>> {
        self.in_process.each_worker(each, workers)
    }

    fn windowed<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable>, M: Accumulate<C::Acc>>(
        &self,
        barrier: &WindowedBarrier<C, M>,
        workers: Vec<KeyedTables<(IntervalWindow, C::Key), WindowAcc<C::Acc>>>,
    ) -> Result<Collection<Windowed<C::Out>>> {
        let combine = &barrier.per_window;
        let (strategy, now, all_panes) = (&barrier.strategy, self.tick.now, &barrier.panes);
        // Each partition in a task of its own: this tick's data, merged across
        // workers, arrives into the partition's panes, which fire and advance.
        let partitions = self.tick_partitions(workers, |acc, other| combine.merge(acc, other))?;
        let fired = self.in_process.scope.par_map(partitions, |(p, tables)| {
            let arrived = merge_partition(tables, |acc, other| combine.merge(acc, other));
            let mut panes = all_panes.partition(p);
            let mut fire = Firing::<C, M>::new(&combine.combine, strategy, now);
            let touched = fire.arrive(&mut panes, arrived.into_iter());
            fire.fire_and_advance(&mut panes, touched)
        });
        let late = barrier.late.lock().unwrap_or_else(|e| e.into_inner()).len() as u64;
        self.finish_tick(fired, late, &combine.hold_floor)
    }

    fn sessions<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable>, M: Accumulate<C::Acc>>(
        &self,
        barrier: &SessionBarrier<C, M>,
        workers: Vec<KeyedTables<C::Key, SessionList<C::Acc>>>,
    ) -> Result<Collection<Windowed<C::Out>>> {
        let combine = &barrier.per_session;
        let (strategy, now, all_panes) = (&barrier.strategy, self.tick.now, &barrier.panes);
        // As for windows that never merge; a key's sessions are all in its partition.
        let partitions = self.tick_partitions(workers, |acc, other| combine.merge(acc, other))?;
        let fired = self.in_process.scope.par_map(partitions, |(p, tables)| {
            let arrived = merge_partition(tables, |acc, other| combine.merge(acc, other));
            let mut panes = all_panes.partition(p);
            let mut fire = Firing::<C, M>::new(&combine.combine, strategy, now);
            let touched = fire.arrive_sessions(&mut panes, arrived.into_iter());
            fire.fire_and_advance(&mut panes, touched)
        });
        let late = barrier.late.lock().unwrap_or_else(|e| e.into_inner()).len() as u64;
        self.finish_tick(fired, late, &combine.hold_floor)
    }
}

/// Each item with its index: a partition's tables with the partition.
fn indexed<T>(items: Vec<T>) -> Vec<(usize, T)> {
    items.into_iter().enumerate().collect()
}

impl TickMerge<'_, '_> {
    /// This tick's tables of a grouping per window, partition by partition: every
    /// partition of this process's workers' tables, or, across a group, the
    /// partitions this process owns (whose panes it keeps), from every process.
    #[allow(clippy::type_complexity)]
    fn tick_partitions<K: Hash + Eq + Send + Exchangeable, S: Send + Exchangeable>(
        &self,
        workers: Vec<KeyedTables<K, S>>,
        merge: impl Fn(&mut S, S) + Sync,
    ) -> Result<Vec<(usize, Vec<hashbrown::HashTable<(K, S)>>)>> {
        #[cfg(feature = "timely")]
        if self.across {
            let mine = crate::runner::distributed::exchange_partitions(self.in_process.scope, workers, merge)?;
            return Ok(mine.into_iter().map(|(p, table)| (p, vec![table])).collect());
        }
        let _ = merge;
        Ok(indexed(by_partition(workers)))
    }

    /// This tick's merges across the group, for barriers that are not per window.
    #[cfg(feature = "timely")]
    fn across_group(&self) -> crate::runner::distributed::Across<'_, '_> {
        crate::runner::distributed::Across { here: InProcess { scope: self.in_process.scope } }
    }

    /// After every partition has fired: the panes fired, and what was dropped as
    /// too late (by the partitions, and by the workers' `push`, `late`).
    fn finish_tick<Out>(
        &self,
        fired: Vec<(Vec<Windowed<Out>>, u64)>,
        late: u64,
        hold_floor: &AtomicI64,
    ) -> Result<Collection<Windowed<Out>>> {
        let dropped = late + fired.iter().map(|(_, dropped)| dropped).sum::<u64>();
        // The next tick's elements behind its watermark cannot hold a pane back.
        hold_floor.store(self.tick.now.next_watermark.millis(), Ordering::Relaxed);
        if dropped > 0 {
            self.in_process.scope.context().add_late(self.stage, dropped);
        }
        Ok(Collection::from_parts(fired.into_iter().map(|(out, _)| out).collect()))
    }
}

/// A grouping's panes between ticks, in the partitions of its keyed tables (each
/// key's panes in the partition of its hash), so that each tick the partitions
/// take their data in, fire and advance in parallel, and a distributed runner can
/// keep each partition where its keys are sent.
#[doc(hidden)]
pub struct PartitionedPanes<K, A>(Vec<Mutex<Panes<K, A>>>);

impl<K, A> Default for PartitionedPanes<K, A> {
    fn default() -> Self {
        PartitionedPanes((0..PARTITIONS).map(|_| Mutex::new(Panes::default())).collect())
    }
}

impl<K, A> PartitionedPanes<K, A> {
    /// The panes of partition `p`, for the tick's task of that partition.
    fn partition(&self, p: usize) -> MutexGuard<'_, Panes<K, A>> {
        self.0[p].lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The panes of every live window and key of one grouping, between ticks, and
/// the windows and keys whose trigger has finished (closed until they expire).
/// For windows that merge (sessions), each key's live windows, in order.
#[doc(hidden)]
pub struct Panes<K, A> {
    live: HashMap<(IntervalWindow, K), Pane<A>, KeyHasher>,
    closed: HashMap<(IntervalWindow, K), (), KeyHasher>,
    sessions: HashMap<K, Vec<IntervalWindow>, KeyHasher>,
}

impl<K, A> Default for Panes<K, A> {
    fn default() -> Self {
        Panes { live: HashMap::default(), closed: HashMap::default(), sessions: HashMap::default() }
    }
}

impl<K: Hash + Eq + Clone, A> Panes<K, A> {
    /// Removes a pane, and its window from its key's sessions.
    fn remove(&mut self, window: IntervalWindow, key: &K) -> Option<Pane<A>> {
        let pane = self.live.remove(&(window, key.clone()));
        if let Some(windows) = self.sessions.get_mut(key) {
            windows.retain(|w| *w != window);
            if windows.is_empty() {
                self.sessions.remove(key);
            }
        }
        pane
    }
}

/// One window and key.
struct Pane<A> {
    /// What the next pane holds (since the last one, or everything when
    /// accumulating).
    data: WindowAcc<A>,
    /// Elements since the last pane fired.
    unfired: u64,
    trigger: TriggerState,
    /// Panes fired so far, and of those, on time or late.
    fired: u32,
    not_early: u32,
    /// The earliest and latest timestamps that hold the next pane's timestamp.
    hold: WindowAcc<()>,
}

/// One tick of one grouping: what fires, and how much was dropped as too late.
struct Firing<'b, C: KeyedCombine, M> {
    combine: &'b C,
    strategy: &'b Strategy,
    now: Now,
    out: Vec<Windowed<C::Out>>,
    dropped: u64,
    _mode: PhantomData<M>,
}

impl<'b, C: KeyedCombine<Key: Clone>, M: Accumulate<C::Acc>> Firing<'b, C, M> {
    fn new(combine: &'b C, strategy: &'b Strategy, now: Now) -> Self {
        Firing { combine, strategy, now, out: Vec::new(), dropped: 0, _mode: PhantomData }
    }

    fn new_pane(&self) -> Pane<C::Acc> {
        Pane {
            data: WindowAcc::new(self.combine.create()),
            unfired: 0,
            trigger: TriggerState::new(&self.strategy.trigger),
            fired: 0,
            not_early: 0,
            hold: WindowAcc::new(()),
        }
    }

    /// Adds what arrived for `window` to its pane.
    fn take_in(&self, pane: &mut Pane<C::Acc>, window: IntervalWindow, data: WindowAcc<C::Acc>) {
        let watermark = self.now.watermark;
        pane.trigger.on_elements(data.count, self.now.processing_time, &self.when(window, watermark));
        pane.unfired += data.count;
        // Only elements not behind the watermark hold the pane's timestamp; for the
        // end of the window, only if the window is not behind it.
        if self.strategy.timestamp_combiner != TimestampCombiner::EndOfWindow || window.max_timestamp() >= watermark {
            pane.hold.absorb(&WindowAcc { acc: (), count: 0, earliest: data.earliest, latest: data.latest });
        }
        pane.data.absorb(&data);
        self.combine.merge(&mut pane.data.acc, data.acc);
    }
    fn when(&self, window: IntervalWindow, watermark: Timestamp) -> When {
        When { watermark, processing_time: self.now.processing_time, window_max: window.max_timestamp() }
    }

    /// Whether `window` is past its end plus the allowed lateness at `watermark`.
    fn expired(&self, window: IntervalWindow, watermark: Timestamp) -> bool {
        let lateness = self.strategy.allowed_lateness;
        window.max_timestamp().millis().saturating_add(lateness) < watermark.millis()
    }

    /// The tick's data arrives: each window and key's pane takes it, unless the
    /// window has expired or its trigger has finished. Returns the panes it touched.
    fn arrive(
        &mut self,
        panes: &mut Panes<C::Key, C::Acc>,
        arrived: impl Iterator<Item = ((IntervalWindow, C::Key), WindowAcc<C::Acc>)>,
    ) -> Vec<(IntervalWindow, C::Key)> {
        let mut touched = Vec::new();
        for ((window, key), data) in arrived {
            if self.expired(window, self.now.watermark) || panes.closed.contains_key(&(window, key.clone())) {
                self.dropped += data.count;
                continue;
            }
            let pane = panes.live.entry((window, key.clone())).or_insert_with(|| self.new_pane());
            self.take_in(pane, window, data);
            touched.push((window, key));
        }
        touched
    }

    /// The tick's sessions arrive, per key: each merges with the key's live
    /// sessions it overlaps, and their panes with it. A session that grows a live
    /// one into a new window starts its pane counts again, as Beam's merging does;
    /// one that falls inside a live session joins its pane. Returns the panes it
    /// touched.
    fn arrive_sessions(
        &mut self,
        panes: &mut Panes<C::Key, C::Acc>,
        arrived: impl Iterator<Item = (C::Key, SessionList<C::Acc>)>,
    ) -> Vec<(IntervalWindow, C::Key)> {
        let mut touched = Vec::new();
        for (key, sessions) in arrived {
            for (window, data) in sessions {
                let closed = panes.closed.keys().any(|(w, k)| *k == key && overlap(w, &window));
                if self.expired(window, self.now.watermark) || closed {
                    self.dropped += data.count;
                    continue;
                }
                let live = panes
                    .sessions
                    .get(&key)
                    .map_or_else(Vec::new, |ws| ws.iter().copied().filter(|w| overlap(w, &window)).collect());
                let merged = live.iter().fold(window, |a, &b| span(a, b));
                let pane = match live.as_slice() {
                    // Inside a live session: its pane, counts and all.
                    [only] if *only == merged => {
                        panes.live.get_mut(&(merged, key.clone())).expect("a live session has a pane")
                    }
                    _ => {
                        // A new window: the panes it merges, merged, counts anew.
                        let mut pane = self.new_pane();
                        for w in &live {
                            if let Some(old) = panes.remove(*w, &key) {
                                pane.trigger.merge(&old.trigger);
                                pane.unfired += old.unfired;
                                pane.hold.absorb(&old.hold);
                                pane.data.absorb(&old.data);
                                self.combine.merge(&mut pane.data.acc, old.data.acc);
                            }
                        }
                        touched.retain(|(w, k)| !(*k == key && live.contains(w)));
                        let windows = panes.sessions.entry(key.clone()).or_default();
                        let at = windows.partition_point(|w| w.start < merged.start);
                        windows.insert(at, merged);
                        panes.live.entry((merged, key.clone())).or_insert(pane)
                    }
                };
                self.take_in(pane, merged, data);
                if !touched.contains(&(merged, key.clone())) {
                    touched.push((merged, key.clone()));
                }
            }
        }
        touched
    }

    /// After the tick's data arrived: touched panes fire if their triggers say so,
    /// then the watermark and processing time advance. Returns the panes fired and
    /// how much was dropped as too late.
    fn fire_and_advance(
        mut self,
        panes: &mut Panes<C::Key, C::Acc>,
        touched: Vec<(IntervalWindow, C::Key)>,
    ) -> (Vec<Windowed<C::Out>>, u64) {
        self.fire_touched(panes, touched);
        self.advance_watermark(panes);
        self.processing_time(panes);
        (self.out, self.dropped)
    }

    /// Touched panes fire if their trigger says so.
    fn fire_touched(&mut self, panes: &mut Panes<C::Key, C::Acc>, touched: Vec<(IntervalWindow, C::Key)>) {
        let watermark = self.now.watermark;
        for (window, key) in touched {
            let when = self.when(window, watermark);
            if panes.live.get(&(window, key.clone())).is_some_and(|p| p.trigger.should_fire(&when)) {
                self.emit(panes, window, key, &when, Ring::Trigger);
            }
        }
    }

    /// The watermark advances: panes whose window it passes now fire on time (if
    /// their trigger says so), and windows it passes by more than the allowed
    /// lateness fire what they still hold, then are freed.
    fn advance_watermark(&mut self, panes: &mut Panes<C::Key, C::Acc>) {
        let (from, to) = (self.now.watermark, self.now.next_watermark);
        if to <= from {
            return;
        }
        let passes_now = |w: &IntervalWindow| from <= w.max_timestamp() && w.max_timestamp() < to;
        let mut passed: Vec<(IntervalWindow, C::Key)> =
            panes.live.keys().filter(|(w, _)| passes_now(w)).cloned().collect();
        // In the order their end-of-window timers would ring; a timer rings with
        // the watermark at the window's end.
        passed.sort_by_key(|(w, _)| w.end);
        for (window, key) in passed {
            let when = self.when(window, to);
            if panes.live.get(&(window, key.clone())).is_some_and(|p| p.trigger.should_fire(&when)) {
                self.emit(panes, window, key, &when, Ring::EndOfWindow);
            }
        }
        let expired: Vec<(IntervalWindow, C::Key)> =
            panes.live.keys().filter(|(w, _)| self.expired(*w, to)).cloned().collect();
        for (window, key) in expired {
            // What has not fired yet fires as the window's last pane.
            if panes.live.get(&(window, key.clone())).is_some_and(|p| p.unfired > 0) {
                let ring = if passes_now(&window) { Ring::EndOfWindowAndExpiry } else { Ring::Expiry };
                self.emit(panes, window, key.clone(), &self.when(window, to), ring);
            }
            panes.remove(window, &key);
        }
        let lateness = self.strategy.allowed_lateness;
        panes.closed.retain(|(w, _), ()| w.max_timestamp().millis().saturating_add(lateness) >= to.millis());
    }

    /// Processing time advanced: panes whose processing-time trigger is due fire.
    fn processing_time(&mut self, panes: &mut Panes<C::Key, C::Acc>) {
        let watermark = self.now.next_watermark;
        let due: Vec<(IntervalWindow, C::Key)> = panes
            .live
            .iter()
            .filter(|((w, _), p)| {
                p.trigger.waits_on_processing_time() && p.trigger.should_fire(&self.when(*w, watermark))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for (window, key) in due {
            let when = self.when(window, watermark);
            self.emit(panes, window, key, &when, Ring::Trigger);
        }
    }

    /// Fires the pane of `window` and `key`: its timing, index and timestamp, and
    /// its data (taken, or copied when accumulating).
    fn emit(
        &mut self,
        panes: &mut Panes<C::Key, C::Acc>,
        window: IntervalWindow,
        key: C::Key,
        when: &When,
        ring: Ring,
    ) {
        let from_timer = ring != Ring::Trigger;
        let expiring = matches!(ring, Ring::Expiry | Ring::EndOfWindowAndExpiry);
        let combine = self.combine;
        let Some(pane) = panes.live.get_mut(&(window, key.clone())) else { return };
        // Early while the watermark has not passed the window (a timer fires with
        // the watermark at the window's end, so never early).
        let early = !from_timer && self.now.watermark <= window.max_timestamp();
        let (timing, on_time_index) = if early {
            (Timing::Early, None)
        } else {
            let index = pane.not_early;
            pane.not_early += 1;
            let on_time = index == 0 && matches!(ring, Ring::EndOfWindow | Ring::EndOfWindowAndExpiry);
            (if on_time { Timing::OnTime } else { Timing::Late }, Some(index))
        };
        let timestamp = pane_timestamp(self.strategy.timestamp_combiner, window, &pane.hold);
        if !expiring {
            pane.trigger.on_fire(when);
        }
        let finished = expiring || pane.trigger.is_finished();
        let pane_info =
            PaneInfo { timing, index: pane.fired, on_time_index, is_first: pane.fired == 0, is_last: finished };
        pane.fired += 1;
        pane.unfired = 0;
        // The hold stays for the on-time pane still to come; otherwise it is spent.
        if !(early && pane.trigger.awaits_on_time()) {
            pane.hold = WindowAcc::new(());
        }
        let acc = M::take(&mut pane.data.acc, || combine.create());
        combine.extract(key.clone(), acc, &mut |value| {
            self.out.push(Windowed { value, timestamp, window, pane: pane_info });
        });
        if finished {
            panes.remove(window, &key);
            if !expiring {
                panes.closed.insert((window, key), ());
            }
        }
    }
}

/// What made a pane fire.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ring {
    /// Its trigger, after data arrived or processing time advanced.
    Trigger,
    /// The watermark passed the end of its window.
    EndOfWindow,
    /// The watermark passed the end of its window plus the allowed lateness.
    Expiry,
    /// Both at once (no allowed lateness).
    EndOfWindowAndExpiry,
}
