//! Running one fused segment: a worker per thread pulls chunks of the segment's input
//! and runs the fused stages on each element into per-worker state (the leaves).
//!
//! Workers claim chunks of [`CHUNK`] elements, never single elements: per-element
//! tasks cost more in scheduling than the work they carry.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};
use crate::plan::{Plan, StageInfo};
use crate::source::Source;

/// How many elements a worker takes from its input at a time.
pub const CHUNK: usize = 2048;

/// What a running pipeline knows about itself; handed to every stage.
#[doc(hidden)]
pub struct Context {
    plan: &'static Plan,
    /// Run when the whole pipeline has finished, with `true` if it succeeded: sinks
    /// move their output into place (or delete it) here, so a failed run leaves no
    /// half-written output.
    at_end: Mutex<Vec<EndAction>>,
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
        Context { plan, at_end: Mutex::new(Vec::new()) }
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
    pub fn run_segment<S, L, Init, Body>(
        &self,
        source_stage: usize,
        source: &S,
        init: Init,
        body: Body,
    ) -> Result<Vec<L>>
    where
        S: Source,
        L: Send,
        Init: Fn(Worker) -> L + Sync,
        Body: Fn(&mut L, S::Item, &StageCell) + Sync,
    {
        let cancelled = AtomicBool::new(false);
        let results: Vec<Result<Option<L>>> = rayon::broadcast(|ctx| {
            let worker = Worker { index: ctx.index(), count: ctx.num_threads() };
            let stage = StageCell(Cell::new(source_stage));
            let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<Option<L>> {
                let mut local = init(worker);
                let mut state = S::State::default();
                let mut chunk = Vec::with_capacity(CHUNK);
                loop {
                    if cancelled.load(Ordering::Relaxed) {
                        return Ok(None);
                    }
                    stage.set(source_stage);
                    chunk.clear();
                    if !source.next_chunk(&mut state, &mut chunk)? {
                        return Ok(Some(local));
                    }
                    for element in chunk.drain(..) {
                        body(&mut local, element, &stage);
                    }
                }
            }));
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
        Ok(locals)
    }

    /// Runs the end of a stage (merging per-worker state) so that a panic in user
    /// code there (a `CombineFn`, say) becomes an error naming the stage.
    pub fn finish<T>(&self, stage: usize, finish: impl FnOnce() -> Result<T>) -> Result<T> {
        match catch_unwind(AssertUnwindSafe(finish)) {
            Ok(result) => result.map_err(|e| e.in_stage(self.stage(stage))),
            Err(panic) => Err(Error::from_panic(self.stage(stage), panic)),
        }
    }
}
