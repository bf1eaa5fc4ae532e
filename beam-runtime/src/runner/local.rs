//! The local runner: the whole pipeline in this process, on a rayon thread pool.
//!
//! Segments run one at a time, in plan order (the planner orders each after the
//! segments whose results it reads). A segment's loop runs on every thread of the
//! pool at once, each thread a worker pulling chunks of [`CHUNK`] elements from the
//! segment's input; then its barriers are merged in process. Collections held for
//! later segments stay in memory: each reader but the last gets a copy, the last
//! takes them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crate::barrier::{EachWorker, GlobalCombine, KeyedCombine, Leaf, Merge};
use crate::collection::Collection;
use crate::context::{Context, Scope, Worker};
use crate::error::{Error, ErrorKind, Result};
use crate::exchange::Exchangeable;
use crate::plan::{Plan, SegmentInfo};
use crate::runner::held::{Held, ReadHeld};
use crate::runner::segment::{Destination, FinishLeaf, Input, Leaves, Sides};
use crate::runner::{AnySegment, CHUNK, Runner, Segment, SegmentTask};
use crate::shuffle::{KeyedTables, by_partition, merge_partition};
use crate::source::Source;
use crate::transform::timed::{SessionBarrier, SessionList, WindowAcc, WindowedBarrier};
use crate::window::{Accumulate, IntervalWindow, Windowed};

/// Runs a pipeline in this process, on rayon's global pool or on a pool of its own.
#[doc(hidden)]
pub struct LocalRunner {
    threads: Option<usize>,
}

impl LocalRunner {
    /// A runner on a pool of `threads` threads, or on rayon's global pool.
    pub(crate) fn new(threads: Option<usize>) -> Self {
        LocalRunner { threads }
    }
}

impl Runner for LocalRunner {
    /// Runs `whole` on this runner's pool.
    fn enter(&self, whole: &mut (dyn FnMut() + Send)) -> Result<()> {
        let mut start = || {
            // Counts left on the pool's threads by code outside any run are not this run's.
            crate::metrics::discard_stray_updates();
            rayon::broadcast(|_| crate::metrics::discard_stray_updates());
            whole();
        };
        match self.threads {
            None => start(),
            Some(threads) => match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
                Ok(pool) => pool.install(start),
                Err(e) => {
                    return Err(
                        Error::new(ErrorKind::Runner, format!("could not start {threads} threads")).with_source(e)
                    );
                }
            },
        }
        Ok(())
    }

    fn run(&self, ctx: &Context, segments: &[&dyn AnySegment]) -> Result<()> {
        log::info!(
            "running a pipeline of {} stages in {} segments on {} threads",
            ctx.plan().stages.len(),
            segments.len(),
            rayon::current_num_threads()
        );
        // Every input and output is checked before any work is done.
        for segment in segments {
            segment.perform(SegmentTask::Prepare(ctx))?;
        }
        if let Some(schedule) = ctx.take_schedule() {
            // An unbounded input: every segment once per tick.
            crate::runner::windowed::run_in_ticks(ctx, segments, schedule)?;
        } else {
            // Plan order runs each segment after the segments whose results it reads.
            let reads = LocalReads::new(ctx.plan());
            for segment in segments {
                segment.perform(SegmentTask::RunLocally(ctx, &reads))?;
            }
        }
        // Counts user code left on a pool thread outside any task of this run (in
        // rayon jobs it started itself) are this run's too.
        ctx.collect_user_metrics();
        rayon::broadcast(|_| ctx.collect_user_metrics());
        Ok(())
    }
}

/// Runs one segment: fills its side inputs, opens its input, runs its loop on every
/// thread and finishes its barriers with `finish`.
pub(crate) fn run_segment<S: Segment, R: ReadHeld>(
    ctx: &Context,
    reads: &R,
    segment: &S,
    finish: &impl FinishLeaf,
) -> Result<()> {
    let info = &ctx.plan().segments[segment.index()];
    let started = std::time::Instant::now();
    segment.sides().fill(ctx, reads)?;
    let source = open(ctx, info, segment.input(), reads)?;
    let states = run_loop(ctx, info, segment, &source)?;
    segment.leaves().finish(finish, S::into_leaf_states(states))?;
    segment.input().after_loop(ctx)?;
    log::debug!("segment {} done in {:.3}s", segment.index(), started.elapsed().as_secs_f64());
    Ok(())
}

/// Opens a segment's input. Making it (a flatten's concatenation, a co-group's
/// grouping) is the input stage's work and counts in its time; reading a held
/// collection is not the work of the stage that made it.
fn open<I: Input, R: ReadHeld>(ctx: &Context, info: &SegmentInfo, input: &I, reads: &R) -> Result<I::Source> {
    let stage = info.input.node();
    if info.input.runs_its_input() {
        ctx.task(stage, |scope| input.open(reads, scope))
    } else {
        let scope = ctx.scope(stage);
        scope.catch(|| input.open(reads, &scope))
    }
}

/// Runs a segment's loop: one worker per thread of the current pool, each pulling
/// chunks from `source` and running the fused stages on every element with its own
/// state. Returns the workers' states, or the first error; a panic in user code
/// becomes an error naming the stage the worker was in.
fn run_loop<S: Segment>(
    ctx: &Context,
    info: &SegmentInfo,
    segment: &S,
    source: &<S::Input as Input>::Source,
) -> Result<Vec<S::State>> {
    let input_stage = info.input.node();
    let counted: Vec<usize> =
        info.members().iter().copied().filter(|&m| ctx.stage(m).kind.is_counted_in_loop()).collect();
    let started = Instant::now();
    let cancelled = AtomicBool::new(false);
    let totals = Mutex::new(vec![0u64; counted.len()]);
    let produced = AtomicU64::new(0);
    let results: Vec<Result<Option<S::State>>> = rayon::broadcast(|pool| {
        let worker = Worker { index: pool.index(), count: pool.num_threads() };
        let scope = ctx.scope(input_stage);
        let stage = scope.stage();
        let outcome = scope.catch(|| {
            let mut state = segment.worker(worker, stage);
            let mut source_state = Default::default();
            let mut chunk = Vec::with_capacity(CHUNK);
            let mut counts = segment.counts();
            let result = loop {
                if cancelled.load(Ordering::Relaxed) {
                    break Ok(None);
                }
                stage.set(input_stage);
                chunk.clear();
                if !source.next_chunk(&mut source_state, &mut chunk)? {
                    break Ok(Some(state));
                }
                let elements = source.elements(&source_state, &chunk);
                produced.fetch_add(elements, Ordering::Relaxed);
                if let Some(progress) = ctx.progress() {
                    progress.chunk(elements, source.counters().bytes_read);
                }
                segment.look_ahead(&mut state, &chunk);
                for element in chunk.drain(..) {
                    segment.process(&mut state, element, stage, &mut counts);
                }
                // Before the source reuses what it lent for this chunk.
                segment.end_chunk(&mut state);
            };
            let mut totals = totals.lock().unwrap_or_else(|e| e.into_inner());
            for (total, count) in totals.iter_mut().zip(counts.as_ref()) {
                *total += count;
            }
            result
        });
        if outcome.is_err() {
            cancelled.store(true, Ordering::Relaxed);
        }
        outcome
    });
    let mut states = Vec::with_capacity(results.len());
    for result in results {
        if let Some(state) = result? {
            states.push(state);
        }
    }
    let elapsed = started.elapsed();
    let totals = totals.into_inner().unwrap_or_else(|e| e.into_inner());
    for (&stage, elements) in counted.iter().zip(totals) {
        ctx.add_output(stage, elements);
    }
    for &stage in info.members() {
        ctx.add_wall_time(stage, elapsed);
    }
    // A loop that runs its source or flatten counts what it produced; one that reads
    // a held collection (a shuffle's output, a second pass) does not: the stage that
    // produced it counted it already.
    if info.input.runs_its_input() {
        ctx.add_output(input_stage, produced.into_inner());
        ctx.add_wall_time(input_stage, elapsed);
        ctx.source_done(input_stage, source);
    }
    Ok(states)
}

/// Finishes each barrier in this process, as a task of its stage.
pub(crate) struct FinishInProcess<'c> {
    pub ctx: &'c Context,
}

impl FinishLeaf for FinishInProcess<'_> {
    fn finish<L: Leaf, D: Destination<L::Out>>(
        &self,
        stage: usize,
        leaf: &L,
        to: &D,
        locals: Vec<L::Local>,
    ) -> Result<()> {
        finish_as_task(self.ctx, stage, to, |scope| leaf.finish(&InProcess { scope }, locals))
    }
}

/// Runs `finish`, a barrier's merge, as a task of its stage, and hands its result
/// to `to`. A barrier's result is counted here; a collection held after a loop was
/// counted, element by element, by the stage that made it.
pub(crate) fn finish_as_task<T, D: Destination<T>>(
    ctx: &Context,
    stage: usize,
    to: &D,
    finish: impl FnOnce(&Scope) -> Result<Collection<T>>,
) -> Result<()> {
    let out = ctx.task(stage, finish)?;
    if ctx.stage(stage).kind.is_barrier() {
        ctx.output_size(stage, out.len() as u64);
    }
    to.put(out);
    Ok(())
}

/// Finishes `leaf` in this process, in `scope` (its stage's task), as
/// `FinishInProcess` finishes a segment's leaves: for a barrier that is not a
/// segment's leaf (a co-group's).
pub(crate) fn finish_in_process<L: Leaf>(scope: &Scope, leaf: &L, locals: Vec<L::Local>) -> Result<Collection<L::Out>> {
    leaf.finish(&InProcess { scope }, locals)
}

/// Merges the workers' states of one barrier in this process.
pub(crate) struct InProcess<'s, 'c> {
    pub scope: &'s Scope<'c>,
}

impl InProcess<'_, '_> {
    /// Partition `p` of every worker's tables is merged by one parallel task, so the
    /// merge runs on all threads and no key moves between threads twice.
    pub(crate) fn keyed_here<C: KeyedCombine>(
        &self,
        combine: &C,
        workers: Vec<KeyedTables<C::Key, C::Acc>>,
    ) -> Result<Collection<C::Out>> {
        let by_partition = by_partition(workers);
        // User code merges here (a `CombineFn`), on every thread.
        let parts = self.scope.par_map(by_partition, |tables| {
            let merged = merge_partition(tables, |acc, other| combine.merge(acc, other));
            let mut out = Vec::with_capacity(merged.len());
            for (key, acc) in merged {
                combine.extract(key, acc, &mut |element| out.push(element));
            }
            out
        });
        Ok(Collection::from_parts(parts))
    }
}

impl Merge for InProcess<'_, '_> {
    fn keyed<C: KeyedCombine<Key: Exchangeable, Acc: Exchangeable>>(
        &self,
        combine: &C,
        workers: Vec<KeyedTables<C::Key, C::Acc>>,
    ) -> Result<Collection<C::Out>> {
        self.keyed_here(combine, workers)
    }

    fn global<C: GlobalCombine<Acc: Exchangeable>>(
        &self,
        combine: &C,
        workers: Vec<C::Acc>,
    ) -> Result<Collection<C::Out>> {
        let mut workers = workers.into_iter();
        let mut merged = workers.next().unwrap_or_else(|| combine.create(Worker { index: 0, count: 1 }));
        for other in workers {
            combine.merge(&mut merged, other);
        }
        let mut out = Vec::new();
        combine.extract(merged, &mut |element| out.push(element));
        Ok(Collection::from_parts(vec![out]))
    }

    fn each_worker<E: EachWorker>(&self, each: &E, workers: Vec<E::Local>) -> Result<Collection<E::Out>> {
        let parts = workers.into_iter().map(|local| each.finish(local, self.scope)).collect::<Result<Vec<_>>>()?;
        Ok(Collection::from_parts(parts))
    }

    fn gathered<E: EachWorker<Out: Exchangeable>>(
        &self,
        each: &E,
        workers: Vec<E::Local>,
    ) -> Result<Collection<E::Out>> {
        self.each_worker(each, workers)
    }

    /// A bounded input has been read whole: every window fires once, on time.
    fn windowed<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable>, M: Accumulate<C::Acc>>(
        &self,
        barrier: &WindowedBarrier<C, M>,
        workers: Vec<KeyedTables<(IntervalWindow, C::Key), WindowAcc<C::Acc>>>,
    ) -> Result<Collection<Windowed<C::Out>>> {
        self.keyed_here(&barrier.per_window, workers)
    }

    fn sessions<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable>, M: Accumulate<C::Acc>>(
        &self,
        barrier: &SessionBarrier<C, M>,
        workers: Vec<KeyedTables<C::Key, SessionList<C::Acc>>>,
    ) -> Result<Collection<Windowed<C::Out>>> {
        self.keyed_here(&barrier.per_session, workers)
    }
}

/// How many segments are still to read each held collection: the last one takes
/// it, the others get a copy.
#[doc(hidden)]
pub struct LocalReads {
    left: Mutex<Vec<usize>>,
}

impl LocalReads {
    pub(crate) fn new(plan: &Plan) -> Self {
        let mut left = vec![0; plan.stages.len()];
        for segment in plan.segments {
            for &stage in segment.reads {
                left[stage] += 1;
            }
        }
        LocalReads { left: Mutex::new(left) }
    }
}

impl ReadHeld for LocalReads {
    fn read<T: Send>(&self, held: &Held<T>) -> Result<Collection<T>> {
        let left = {
            let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
            let Some(left) = left.get_mut(held.stage()).filter(|n| **n > 0) else {
                return Err(Error::internal(format!("stage {} is read more often than planned", held.stage())));
            };
            *left -= 1;
            *left
        };
        if left == 0 { held.take() } else { held.copy() }
    }
}
