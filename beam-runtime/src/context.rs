//! What a run knows about itself (its plan, metrics, user counters, progress, the
//! outputs its sinks claim and the actions that publish them), and the [`Scope`]
//! every task of a runner works in.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::error::{Error, ErrorKind, Result};
use crate::io::publish::Publication;
use crate::metrics::{InRun, Metrics, Pending, RunId, StageMetrics};
use crate::plan::{Plan, StageInfo, StageKind};
use crate::progress::Progress;
use crate::runner::{AnySegment, Runner};
use crate::runner::{Schedule, Tick};
use crate::source::Source;

/// What a running pipeline knows about itself; handed to every stage.
#[doc(hidden)]
pub struct Context {
    plan: &'static Plan,
    /// Runs the segments; `Pipeline::run` chooses it.
    runner: Box<dyn Runner>,
    /// The sinks' outputs, published together when the whole pipeline has
    /// succeeded and removed when it failed, so a failed run leaves no half-written
    /// output.
    publications: Mutex<Vec<Publication>>,
    metrics: Mutex<Vec<StageMetrics>>,
    /// This run, to tell its user counter updates from those of a pipeline run inside
    /// one of its stages.
    run: RunId,
    user_metrics: Mutex<BTreeMap<String, Pending>>,
    progress: Option<Progress>,
    started: Instant,
    /// Where the run's sinks write: two sinks must not write to one place.
    outputs: Mutex<Vec<std::path::PathBuf>>,
    /// The steps of an unbounded source's input, registered when it is prepared:
    /// the run then goes tick by tick.
    schedule: Mutex<Option<Schedule>>,
    /// The tick being run, when the run goes tick by tick.
    tick: Mutex<Option<Tick>>,
    /// Bytes sent between processes (see [`Metrics::bytes_exchanged`]).
    bytes_exchanged: AtomicU64,
    /// The other processes' user metrics, on process 0 of a group.
    other_user_metrics: Mutex<BTreeMap<String, crate::metrics::UserMetric>>,
}

/// The worker a piece of per-worker state belongs to.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Worker {
    /// 0-based index of this worker.
    pub index: usize,
    /// How many workers run the segment.
    pub count: usize,
}

/// Which stage a task is inside, so that a panic or an error is blamed on the right
/// one. Fused code sets it before it calls into user code.
#[doc(hidden)]
pub struct StageCell(Cell<usize>);

impl StageCell {
    #[inline(always)]
    pub fn set(&self, stage: usize) {
        self.0.set(stage);
    }

    #[inline(always)]
    pub fn get(&self) -> usize {
        self.0.get()
    }
}

/// The one guard of every task a runner runs that may call user code (a worker's
/// loop, a merge, a sink's flush, building a stage). While it lives, the thread
/// works for one stage of one run: the user counters it updates are that run's,
/// [`Scope::catch`] turns a panic or an error into one naming the stage, and bytes
/// a sink writes are charged to the stage. Dropping it hands this thread's counter
/// updates to the run.
#[doc(hidden)]
pub struct Scope<'c> {
    ctx: &'c Context,
    stage: StageCell,
    _in_run: InRun,
}

impl<'c> Scope<'c> {
    /// The run this task works for.
    pub fn context(&self) -> &'c Context {
        self.ctx
    }

    /// The stage the task is in; fused loops move it from stage to stage.
    #[inline(always)]
    pub fn stage(&self) -> &StageCell {
        &self.stage
    }

    /// Runs `f`. An error from it, or a panic in it, becomes an error naming the
    /// stage the scope was in at that moment.
    pub fn catch<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        match catch_unwind(AssertUnwindSafe(f)) {
            Ok(result) => result.map_err(|e| e.in_stage(self.ctx.stage(self.stage.get()))),
            Err(panic) => Err(Error::from_panic(self.ctx.stage(self.stage.get()), panic)),
        }
    }

    /// Runs `f` on every item in parallel on the current pool, each call in a task
    /// of this scope's stage: the way a runner's work for one stage (a merge, a
    /// co-group) fans out without losing the run's counters. A panic in `f` reaches
    /// the caller, whose scope reports it.
    pub fn par_map<I, T, F>(&self, items: Vec<I>, f: F) -> Vec<T>
    where
        I: Send,
        T: Send,
        F: Fn(I) -> T + Sync,
    {
        let (ctx, stage) = (self.ctx, self.stage.get());
        items
            .into_par_iter()
            .map(|item| {
                let _task = ctx.scope(stage);
                f(item)
            })
            .collect()
    }

    /// Counts bytes a sink wrote to the stage this task is in.
    pub fn add_bytes_written(&self, bytes: u64) {
        self.ctx.update(self.stage.get(), |m| m.bytes_written += bytes);
    }

    /// Counts bytes a stage that reads files (`read_all_text`) read.
    pub fn add_bytes_read(&self, bytes: u64) {
        self.ctx.update(self.stage.get(), |m| m.bytes_read += bytes);
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        // Also when the task failed or panicked: its counts belong to this run.
        self.ctx.collect_user_metrics();
    }
}

impl Context {
    pub(crate) fn new(plan: &'static Plan, runner: Box<dyn Runner>) -> Self {
        let metrics = plan
            .stages
            .iter()
            .map(|stage| StageMetrics {
                stage: *stage,
                elements_in: 0,
                elements_out: 0,
                bad_records: 0,
                late: 0,
                bytes_read: 0,
                bytes_written: 0,
                wall_time: Duration::ZERO,
            })
            .collect();
        static RUNS: AtomicU64 = AtomicU64::new(1);
        Context {
            plan,
            runner,
            publications: Mutex::new(Vec::new()),
            metrics: Mutex::new(metrics),
            run: RUNS.fetch_add(1, Ordering::Relaxed),
            user_metrics: Mutex::new(BTreeMap::new()),
            progress: Progress::for_terminal(),
            started: Instant::now(),
            outputs: Mutex::new(Vec::new()),
            schedule: Mutex::new(None),
            tick: Mutex::new(None),
            bytes_exchanged: AtomicU64::new(0),
            other_user_metrics: Mutex::new(BTreeMap::new()),
        }
    }

    /// The plan being run.
    pub fn plan(&self) -> &'static Plan {
        self.plan
    }

    /// The stage with id `id`.
    pub fn stage(&self, id: usize) -> &'static StageInfo {
        &self.plan.stages[id]
    }

    /// Which share of each input this process reads (all of it, unless several
    /// processes run the pipeline).
    pub(crate) fn share(&self) -> crate::runner::Share {
        self.runner.share()
    }

    pub(crate) fn runner(&self) -> &dyn Runner {
        &*self.runner
    }

    /// Runs every segment of the pipeline: the generated code says what runs, the
    /// runner decides when and where.
    pub fn run(&self, segments: &[&dyn AnySegment]) -> Result<()> {
        self.runner.run(self, segments)
    }

    /// Enters a task of `stage` on this thread. See [`Scope`].
    pub fn scope(&self, stage: usize) -> Scope<'_> {
        Scope { ctx: self, stage: StageCell(Cell::new(stage)), _in_run: crate::metrics::enter_run(self.run) }
    }

    /// Runs `f` as a task of `stage` on this thread (see [`Scope`]), and adds its time
    /// to the stage's.
    pub fn task<T>(&self, stage: usize, f: impl FnOnce(&Scope) -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let scope = self.scope(stage);
        let result = scope.catch(|| f(&scope));
        drop(scope);
        self.add_wall_time(stage, started.elapsed());
        result
    }

    /// Builds a stage from its arguments, which are user code: a panic there is the
    /// stage's error.
    pub fn build<T>(&self, stage: usize, f: impl FnOnce() -> T) -> Result<T> {
        self.task(stage, |_| Ok(f()))
    }

    pub(crate) fn update(&self, stage: usize, f: impl FnOnce(&mut StageMetrics)) {
        if let Some(m) = self.metrics.lock().unwrap_or_else(|e| e.into_inner()).get_mut(stage) {
            f(m);
        }
    }

    pub(crate) fn add_wall_time(&self, stage: usize, elapsed: Duration) {
        self.update(stage, |m| m.wall_time += elapsed);
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

    /// Records what a source read, after its segment ran.
    pub(crate) fn source_done<S: Source>(&self, stage: usize, source: &S) {
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
    pub(crate) fn source_prepared<S: Source>(&self, source: &S) {
        if let Some(progress) = &self.progress {
            progress.add_total_bytes(source.counters().bytes_total);
        }
    }

    pub(crate) fn progress(&self) -> Option<&Progress> {
        self.progress.as_ref()
    }

    /// Registers the steps of an unbounded source: the run goes tick by tick.
    pub(crate) fn register_schedule(&self, schedule: Schedule) -> Result<()> {
        let mut slot = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            let message = "a pipeline can read one unbounded source (`test_stream`) so far";
            return Err(Error::new(ErrorKind::InvalidInput, message));
        }
        *slot = Some(schedule);
        Ok(())
    }

    /// The steps of the run's unbounded source, if it has one.
    /// Notes the tick being run (see `runner::windowed`).
    pub(crate) fn set_tick(&self, tick: Tick) {
        *self.tick.lock().unwrap_or_else(|e| e.into_inner()) = Some(tick);
    }

    /// The tick being run, if the run goes tick by tick: a barrier that is not a
    /// segment's leaf (a co-group's) fires its panes with it.
    pub(crate) fn tick(&self) -> Option<Tick> {
        *self.tick.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn take_schedule(&self) -> Option<Schedule> {
        self.schedule.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Counts elements a grouping received too late.
    pub(crate) fn add_late(&self, stage: usize, elements: u64) {
        self.update(stage, |m| m.late += elements);
    }

    /// Records how many elements a stage produced, counted when its result was made.
    pub(crate) fn output_size(&self, stage: usize, elements: u64) {
        self.update(stage, |m| m.elements_out = elements);
    }

    /// Adds to the elements a stage produced, counted in a loop.
    pub(crate) fn add_output(&self, stage: usize, elements: u64) {
        self.update(stage, |m| m.elements_out += elements);
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
                StageKind::DeadLetters | StageKind::LateData => stages[id].elements_out,
                _ => stage.inputs.iter().map(|&i| stages[i].elements_out).sum(),
            };
        }
        let mut user = crate::metrics::finished(self.user_metrics.lock().unwrap_or_else(|e| e.into_inner()).clone());
        for (name, metric) in self.other_user_metrics.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            match user.get_mut(name) {
                Some(mine) => mine.merge(*metric),
                None => {
                    user.insert(name.clone(), *metric);
                }
            }
        }
        let bytes_exchanged = self.bytes_exchanged.load(Ordering::Relaxed);
        Metrics { stages, user, wall_time: self.started.elapsed(), bytes_exchanged }
    }

    /// Every stage's counts, as numbers another process can add to its own (see
    /// [`add_stage_counts`](Self::add_stage_counts)).
    #[cfg(feature = "timely")]
    pub(crate) fn stage_counts(&self) -> Vec<[u64; 6]> {
        let metrics = self.metrics.lock().unwrap_or_else(|e| e.into_inner());
        metrics
            .iter()
            .map(|m| {
                let nanos = u64::try_from(m.wall_time.as_nanos()).unwrap_or(u64::MAX);
                [m.elements_out, m.bad_records, m.late, m.bytes_read, m.bytes_written, nanos]
            })
            .collect()
    }

    /// Adds another process's stage counts to this one's: counts add up; a stage's
    /// time is the longest any process took.
    #[cfg(feature = "timely")]
    pub(crate) fn add_stage_counts(&self, counts: &[[u64; 6]]) {
        let mut metrics = self.metrics.lock().unwrap_or_else(|e| e.into_inner());
        for (m, c) in metrics.iter_mut().zip(counts) {
            m.elements_out += c[0];
            m.bad_records += c[1];
            m.late += c[2];
            m.bytes_read += c[3];
            m.bytes_written += c[4];
            m.wall_time = m.wall_time.max(Duration::from_nanos(c[5]));
        }
    }

    /// Adds another process's user metrics to this run's.
    #[cfg(feature = "timely")]
    pub(crate) fn add_user_metrics(&self, metrics: BTreeMap<String, crate::metrics::UserMetric>) {
        let mut others = self.other_user_metrics.lock().unwrap_or_else(|e| e.into_inner());
        for (name, metric) in metrics {
            match others.get_mut(&name) {
                Some(known) => known.merge(metric),
                None => {
                    others.insert(name, metric);
                }
            }
        }
    }

    /// Adds to the bytes sent between processes.
    #[cfg(feature = "timely")]
    pub(crate) fn add_bytes_exchanged(&self, bytes: u64) {
        self.bytes_exchanged.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Registers a sink's output, to be published when the pipeline has succeeded.
    pub(crate) fn publish_at_end(&self, publication: Publication) {
        self.publications.lock().unwrap_or_else(|e| e.into_inner()).push(publication);
    }

    /// Ends the run: publishes every sink's output together if it succeeded (an
    /// error then changes no destination), removes them all if not.
    /// The outputs waiting to be published, taken: a distributed runner gathers
    /// every process's parts into one process's before it publishes them.
    pub(crate) fn take_publications(&self) -> Vec<Publication> {
        std::mem::take(&mut *self.publications.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn end(&self, succeeded: bool) -> Result<()> {
        let publications = self.take_publications();
        if succeeded {
            crate::io::publish::publish_all(publications)
        } else {
            crate::io::publish::discard_all(publications);
            Ok(())
        }
    }

    /// Adds this thread's user counter updates to the run's.
    pub(crate) fn collect_user_metrics(&self) {
        let updates = crate::metrics::take_thread_updates(self.run);
        if !updates.is_empty() {
            crate::metrics::merge_into(&mut self.user_metrics.lock().unwrap_or_else(|e| e.into_inner()), updates);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::LocalRunner;

    const fn sink(id: usize) -> StageInfo {
        let op = "write_text";
        StageInfo {
            id,
            op,
            label: None,
            line: 1,
            column: 1,
            kind: StageKind::Sink,
            inputs: &[],
            side_inputs: &[],
            name: None,
        }
    }

    static STAGES: [StageInfo; 2] = [sink(0), sink(1)];
    static PLAN: Plan = Plan { stages: &STAGES, segments: &[] };

    #[test]
    fn bytes_written_go_to_the_stage_of_the_task_that_wrote_them() {
        let ctx = Context::new(&PLAN, Box::new(LocalRunner::new(Some(2))));
        let ctx = &ctx;
        // Two sinks finishing at once, on two threads.
        std::thread::scope(|threads| {
            for (stage, bytes) in [(0, 3), (1, 5)] {
                threads.spawn(move || {
                    let scope = ctx.scope(stage);
                    for _ in 0..10_000 {
                        scope.add_bytes_written(bytes);
                    }
                });
            }
        });
        let metrics = ctx.metrics();
        assert_eq!(metrics.stages[0].bytes_written, 30_000);
        assert_eq!(metrics.stages[1].bytes_written, 50_000);
    }
}
