//! Running one fused segment: a worker per thread pulls chunks of the segment's input
//! and runs the fused stages on each element into per-worker state (the leaves).
//!
//! Workers claim chunks of [`CHUNK`] elements, never single elements: per-element
//! tasks cost more in scheduling than the work they carry.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::collection::Collection;
use crate::metrics::{Metrics, RunId, StageMetrics, UserMetric};
use crate::progress::Progress;
use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind, Result};
use crate::plan::{Plan, StageInfo, StageKind};
use crate::source::Source;

/// How many elements a worker takes from its input at a time.
///
/// Sources hand out their input in chunks of about this many elements (a file
/// source, this many records), and every fused loop runs a whole chunk before it
/// claims the next, so scheduling costs once per chunk rather than once per element.
pub const CHUNK: usize = 2048;

/// What a running pipeline knows about itself; handed to every stage.
#[doc(hidden)]
pub struct Context {
    plan: &'static Plan,
    /// Run when the whole pipeline has finished, with `true` if it succeeded: sinks
    /// move their output into place (or delete it) here, so a failed run leaves no
    /// half-written output.
    at_end: Mutex<Vec<EndAction>>,
    metrics: Mutex<Vec<StageMetrics>>,
    /// This run, to tell its user counter updates from those of a pipeline run inside
    /// one of its stages.
    run: RunId,
    user_metrics: Mutex<BTreeMap<String, UserMetric>>,
    /// The stage whose `finish` is running, to which sinks' bytes are counted.
    finishing: AtomicUsize,
    progress: Option<Progress>,
    started: Instant,
    /// Where the run's sinks write: two sinks must not write to one place.
    outputs: Mutex<Vec<std::path::PathBuf>>,
}

type EndAction = Box<dyn FnOnce(bool) -> Result<()> + Send>;

/// The worker a piece of per-worker state belongs to.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Worker {
    /// 0-based index of this worker.
    pub index: usize,
    /// How many workers run the segment.
    pub count: usize,
}

/// Which stage a worker is inside, so a panic can be blamed on the right one.
/// Fused code sets it before it calls into user code.
#[doc(hidden)]
pub struct StageCell(Cell<usize>);

impl StageCell {
    #[inline(always)]
    pub fn set(&self, stage: usize) {
        self.0.set(stage);
    }
}

impl Context {
    pub(crate) fn new(plan: &'static Plan) -> Self {
        let metrics = plan
            .stages
            .iter()
            .map(|stage| StageMetrics {
                stage: *stage,
                elements_in: 0,
                elements_out: 0,
                bad_records: 0,
                bytes_read: 0,
                bytes_written: 0,
                wall_time: Duration::ZERO,
            })
            .collect();
        static RUNS: AtomicU64 = AtomicU64::new(1);
        Context {
            plan,
            at_end: Mutex::new(Vec::new()),
            metrics: Mutex::new(metrics),
            run: RUNS.fetch_add(1, Ordering::Relaxed),
            user_metrics: Mutex::new(BTreeMap::new()),
            finishing: AtomicUsize::new(usize::MAX),
            progress: Progress::for_terminal(),
            started: Instant::now(),
            outputs: Mutex::new(Vec::new()),
        }
    }

    fn update(&self, stage: usize, f: impl FnOnce(&mut StageMetrics)) {
        if let Some(m) = self.metrics.lock().unwrap_or_else(|e| e.into_inner()).get_mut(stage) {
            f(m);
        }
    }

    /// Claims `path` for one sink of this run; a second claim is an error.
    pub fn claim_output(&self, path: &std::path::Path) -> Result<()> {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        let mut outputs = self.outputs.lock().unwrap_or_else(|e| e.into_inner());
        if outputs.contains(&path) {
            return Err(Error::new(ErrorKind::Io, "another sink of this pipeline writes to the same place")
                .at(crate::error::InputPosition::new(path, None)));
        }
        outputs.push(path);
        Ok(())
    }

    /// Counts bytes a sink wrote to the stage whose `finish` is running.
    pub fn add_bytes_written(&self, bytes: u64) {
        self.update(self.finishing.load(Ordering::Relaxed), |m| m.bytes_written += bytes);
    }

    /// Records what a source read, after its segment ran.
    pub fn source_done<S: Source>(&self, stage: usize, source: &S) {
        let counters = source.counters();
        self.update(stage, |m| {
            m.bytes_read = counters.bytes_read;
            m.bad_records = counters.bad_records;
        });
        if let Some(progress) = &self.progress {
            progress.segment_done(counters.bytes_read);
        }
    }

    /// Registers a source's input size with the progress bar.
    pub fn source_prepared<S: Source>(&self, source: &S) {
        if let Some(progress) = &self.progress {
            progress.add_total_bytes(source.counters().bytes_total);
        }
    }

    /// Records how many elements a barrier produced.
    pub fn output_size<O: OutputSize>(&self, stage: usize, output: &O) {
        let n = output.output_size();
        self.update(stage, |m| m.elements_out = n);
    }

    /// The metrics of the run so far.
    pub fn metrics(&self) -> Metrics {
        if let Some(progress) = &self.progress {
            progress.finish();
        }
        let mut stages = self.metrics.lock().unwrap_or_else(|e| e.into_inner()).clone();
        // What enters a stage is what the stages it reads produced.
        for id in 0..stages.len() {
            let stage = stages[id].stage;
            stages[id].elements_in = match stage.kind {
                // The bad records did not come out of the source's records.
                StageKind::DeadLetters => stages[id].elements_out,
                _ => stage.inputs.iter().map(|&i| stages[i].elements_out).sum(),
            };
        }
        let user = self.user_metrics.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Metrics { stages, user, wall_time: self.started.elapsed() }
    }

    /// Registers `action` to run when the pipeline ends; it gets whether the run
    /// succeeded.
    pub fn at_end(&self, action: impl FnOnce(bool) -> Result<()> + Send + 'static) {
        self.at_end.lock().unwrap_or_else(|e| e.into_inner()).push(Box::new(action));
    }

    /// Runs the end actions in the order they were registered. On success the first
    /// failing action fails the run; on failure every action still runs.
    pub(crate) fn end(&self, succeeded: bool) -> Result<()> {
        let actions = std::mem::take(&mut *self.at_end.lock().unwrap_or_else(|e| e.into_inner()));
        let mut first_error = None;
        for action in actions {
            if let Err(e) = action(succeeded && first_error.is_none()) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The stage with id `id`.
    pub fn stage(&self, id: usize) -> &'static StageInfo {
        &self.plan.stages[id]
    }

    /// Runs a segment: one worker per thread of the current pool, each pulling chunks
    /// from `source` and feeding every element to `body` with its own state from
    /// `init`. Returns the workers' states, or the first error; a panic in user code
    /// becomes an error naming the stage that `body` last entered.
    ///
    /// `owns_input` says whether the loop runs its input stage (a source or flatten)
    /// or reads a collection held by an earlier one.
    ///
    /// `counted` names the element-wise stages whose output the loop counts: `body`
    /// adds to `counts[k]` for `counted[k]`. The source's output is counted here, a
    /// chunk at a time.
    // Called only by generated code, which names each argument's role in place.
    #[allow(clippy::too_many_arguments)]
    pub fn run_segment<S, L, Init, Ahead, Body, const N: usize>(
        &self,
        (source_stage, owns_input): (usize, bool),
        source: &S,
        members: &[usize],
        counted: &[usize; N],
        init: Init,
        look_ahead: Ahead,
        body: Body,
    ) -> Result<Vec<L>>
    where
        S: Source,
        L: Send,
        Init: Fn(Worker) -> L + Sync,
        Ahead: Fn(&mut L, &[S::Item]) + Sync,
        Body: Fn(&mut L, S::Item, &StageCell, &mut [u64; N]) + Sync,
    {
        let started = Instant::now();
        let cancelled = AtomicBool::new(false);
        let totals = Mutex::new([0u64; N]);
        let produced = AtomicU64::new(0);
        let results: Vec<Result<Option<L>>> = rayon::broadcast(|ctx| {
            let worker = Worker { index: ctx.index(), count: ctx.num_threads() };
            let in_run = crate::metrics::enter_run(self.run);
            let stage = StageCell(Cell::new(source_stage));
            let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<Option<L>> {
                let mut local = init(worker);
                let mut state = S::State::default();
                let mut chunk = Vec::with_capacity(CHUNK);
                let mut counts = [0u64; N];
                let result = loop {
                    if cancelled.load(Ordering::Relaxed) {
                        break Ok(None);
                    }
                    stage.set(source_stage);
                    chunk.clear();
                    if !source.next_chunk(&mut state, &mut chunk)? {
                        break Ok(Some(local));
                    }
                    produced.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    if let Some(progress) = &self.progress {
                        progress.chunk(chunk.len() as u64, source.counters().bytes_read);
                    }
                    look_ahead(&mut local, &chunk);
                    for element in chunk.drain(..) {
                        body(&mut local, element, &stage, &mut counts);
                    }
                };
                let mut totals = totals.lock().unwrap_or_else(|e| e.into_inner());
                for (total, count) in totals.iter_mut().zip(counts) {
                    *total += count;
                }
                result
            }));
            // Also when the worker failed or panicked: its counts belong to this run.
            drop(in_run);
            self.collect_user_metrics();
            let outcome = match outcome {
                Ok(result) => result.map_err(|e| e.in_stage(self.stage(stage.0.get()))),
                Err(panic) => Err(Error::from_panic(self.stage(stage.0.get()), panic)),
            };
            if outcome.is_err() {
                cancelled.store(true, Ordering::Relaxed);
            }
            outcome
        });
        let mut locals = Vec::with_capacity(results.len());
        for result in results {
            if let Some(local) = result? {
                locals.push(local);
            }
        }
        let elapsed = started.elapsed();
        let totals = totals.into_inner().unwrap_or_else(|e| e.into_inner());
        for (&stage, elements_out) in counted.iter().zip(totals) {
            self.update(stage, |m| m.elements_out += elements_out);
        }
        for &stage in members {
            self.update(stage, |m| m.wall_time += elapsed);
        }
        // A shuffled input's size is recorded by the stage that produced it.
        // A loop that reads its source or flatten counts what it produced; one that
        // reads a held collection (a shuffle's output, a second pass) does not: the
        // stage that produced it counted it already.
        if owns_input {
            let produced = produced.into_inner();
            self.update(source_stage, |m| m.elements_out += produced);
            self.update(source_stage, |m| m.wall_time += elapsed);
            self.source_done(source_stage, source);
        }
        Ok(locals)
    }

    /// Runs the end of a stage (merging per-worker state) so that a panic in user
    /// code there (a `CombineFn`, say) becomes an error naming the stage.
    pub fn finish<T>(&self, stage: usize, finish: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        self.finishing.store(stage, Ordering::Relaxed);
        let in_run = crate::metrics::enter_run(self.run);
        let result = match catch_unwind(AssertUnwindSafe(finish)) {
            Ok(result) => result.map_err(|e| e.in_stage(self.stage(stage))),
            Err(panic) => Err(Error::from_panic(self.stage(stage), panic)),
        };
        drop(in_run);
        let elapsed = started.elapsed();
        self.update(stage, |m| m.wall_time += elapsed);
        // User code in a merge (a `CombineFn`) may have run on any thread of the pool.
        self.collect_user_metrics_everywhere();
        result
    }

    /// Adds every pool thread's user counter updates (and this thread's) to the run's.
    pub(crate) fn collect_user_metrics_everywhere(&self) {
        self.collect_user_metrics();
        rayon::broadcast(|_| self.collect_user_metrics());
    }

    /// Adds this thread's user counter updates to the run's.
    fn collect_user_metrics(&self) {
        let updates = crate::metrics::take_thread_updates(self.run);
        if !updates.is_empty() {
            crate::metrics::merge_into(&mut self.user_metrics.lock().unwrap_or_else(|e| e.into_inner()), updates);
        }
    }
}

/// How many elements a stage's result holds, for metrics.
#[doc(hidden)]
pub trait OutputSize {
    fn output_size(&self) -> u64;
}

impl<T> OutputSize for Collection<T> {
    fn output_size(&self) -> u64 {
        self.len() as u64
    }
}

impl<T> OutputSize for Vec<T> {
    fn output_size(&self) -> u64 {
        self.len() as u64
    }
}

impl OutputSize for () {
    fn output_size(&self) -> u64 {
        0
    }
}
