//! The value `pipeline!` evaluates to: a plan plus the fused code that runs it.

use std::marker::PhantomData;

use crate::context::Context;
use crate::error::Result;
use crate::plan::Plan;
use crate::runner::LocalRunner;

/// A checked, planned pipeline, ready to [`run`](Pipeline::run). Nothing runs until
/// then; [`explain`](Pipeline::explain) shows what will.
///
/// `run()` returns a struct with one public field per `collect()` sink, named after
/// the statement that defines it.
///
/// ```
/// use beam::prelude::*;
///
/// let text = "the cat and the hat";
/// let out = pipeline! {
///     words = from_iter(text.split(' '));
///     counts = words -> count_per_element() -> collect();
///     total = words -> count() -> collect();
/// }
/// .threads(2)
/// .run()?;
/// assert_eq!(out.total, vec![5]);
/// assert!(out.counts.contains(&("the", 2)));
/// # Ok::<(), beam::Error>(())
/// ```
#[must_use = "a pipeline does nothing until `.run()` is called"]
pub struct Pipeline<Out, Body> {
    plan: &'static Plan,
    body: Body,
    threads: Option<usize>,
    /// The group this process runs the pipeline with, if set in code.
    #[cfg(feature = "timely")]
    group: Option<crate::runner::Group>,
    /// Run in this process alone, whatever the environment says.
    alone: bool,
    _out: PhantomData<fn() -> Out>,
}

impl<Out, Body> Pipeline<Out, Body>
where
    Body: FnOnce(&Context) -> Result<Out> + Send,
    Out: Send,
{
    #[doc(hidden)]
    pub fn new(plan: &'static Plan, body: Body) -> Self {
        Pipeline {
            plan,
            body,
            threads: None,
            #[cfg(feature = "timely")]
            group: None,
            alone: false,
            _out: PhantomData,
        }
    }

    /// Runs on a pool of `threads` threads instead of rayon's global pool (which has
    /// one thread per core).
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let out = pipeline! {
    ///     xs = from_iter(0..10_000u64);
    ///     total = xs -> combine_globally(Sum) -> collect();
    /// }
    /// .threads(1)
    /// .run()?;
    /// assert_eq!(out.total, vec![49_995_000]);
    /// # Ok::<(), beam::Error>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads.max(1));
        self
    }

    /// The plan: stages, fused segments, shuffles.
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let p = pipeline! {
    ///     xs = from_iter(0..10u32);
    ///     _evens = xs -> filter(|x: &u32| x % 2 == 0) -> collect();
    /// };
    /// let ops: Vec<&str> = p.plan().stages.iter().map(|s| s.op).collect();
    /// assert_eq!(ops, ["from_iter", "filter", "collect"]);
    /// assert_eq!(p.plan().segments.len(), 1); // all three fused into one loop
    /// ```
    pub fn plan(&self) -> &'static Plan {
        self.plan
    }

    /// The plan as text. See [`Plan::explain`].
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let p = pipeline! {
    ///     xs = from_iter(vec![("a", 1u32), ("b", 2)]);
    ///     sums = xs -> sum_per_key() -> collect();
    /// };
    /// let text = p.explain();
    /// assert!(text.starts_with("plan: 3 stages in 2 fused segments, 1 shuffle\n"), "{text}");
    /// assert!(text.contains("sum_per_key"));
    /// ```
    pub fn explain(&self) -> String {
        self.plan.explain()
    }

    /// The plan as Graphviz DOT. See [`Plan::to_dot`].
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let p = pipeline! {
    ///     xs = from_iter(vec![("a", 1u32), ("b", 2)]);
    ///     sums = xs -> sum_per_key() -> collect();
    /// };
    /// let dot = p.to_dot();
    /// assert!(dot.starts_with("digraph pipeline {"));
    /// assert!(dot.contains("shuffled by key"));
    /// ```
    pub fn to_dot(&self) -> String {
        self.plan.to_dot()
    }

    /// Runs this process as process `group.index()` of `group` (with the feature
    /// `timely`): every process of the group runs the same pipeline on its share
    /// of the input, and `run()` returns `collect()`'s results on process 0 (empty
    /// elsewhere). Without this call, `run()` joins a group when the environment
    /// names one ([`Group::from_env`](crate::runner::Group::from_env)).
    ///
    /// ```no_run
    /// use beam::prelude::*;
    ///
    /// let group = beam::Group::new(0, vec!["127.0.0.1:4000".into(), "127.0.0.1:4001".into()])?;
    /// let out = pipeline! { n = from_iter(0..100u64) -> sum() -> collect(); }.on_group(group).run()?;
    /// # Ok::<(), beam::Error>(())
    /// ```
    #[cfg(feature = "timely")]
    pub fn on_group(mut self, group: crate::runner::Group) -> Self {
        self.group = Some(group);
        self
    }

    /// Runs the pipeline in this process alone, even when the environment names a
    /// group this process is one of: for a small step only one process should
    /// take, such as writing what `collect()` gathered on process 0.
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let out = pipeline! { n = from_iter(0..10u64) -> sum() -> collect(); }.alone().run()?;
    /// assert_eq!(out.n, vec![45]);
    /// # Ok::<(), beam::Error>(())
    /// ```
    pub fn alone(mut self) -> Self {
        self.alone = true;
        self
    }

    /// The runner: a distributed one when this process is one of a group (set in
    /// code or by the environment), else the local one.
    fn runner(&mut self) -> Result<Box<dyn crate::runner::Runner>> {
        #[cfg(feature = "timely")]
        if !self.alone {
            let group = match self.group.take() {
                Some(group) => Some(group),
                None => crate::runner::Group::from_env()?,
            };
            if let Some(group) = group {
                return Ok(Box::new(crate::runner::DistributedRunner::new(group, self.threads)));
            }
        }
        Ok(Box::new(LocalRunner::new(self.threads)))
    }

    /// Runs the pipeline to completion and returns its `collect()` outputs.
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let out = pipeline! {
    ///     xs = from_iter(1..=3u32);
    ///     squares = xs -> map(|x: u32| x * x) -> collect();
    /// }
    /// .run()?;
    /// let mut squares = out.squares;
    /// squares.sort();
    /// assert_eq!(squares, vec![1, 4, 9]);
    /// # Ok::<(), beam::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The first failure of any stage: a panic in user code, an unreadable or
    /// malformed input, a failed write. The error names the stage.
    pub fn run(mut self) -> Result<Out> {
        let context = Context::new(self.plan, self.runner()?);
        let mut body = Some(self.body);
        let mut out = None;
        let run = || {
            let entered = context.runner().enter(&mut || {
                if let Some(body) = body.take() {
                    out = Some(body(&context));
                }
            });
            entered.and_then(|()| out.take().unwrap_or_else(|| Err(crate::Error::internal("the runner did not run"))))
        };
        // Stages turn panics in user code into errors; a panic that still gets here
        // is a bug in beam, but the run's temporary output must be removed all the same.
        let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
            Ok(result) => result,
            Err(panic) => {
                let _ = context.end(false);
                std::panic::resume_unwind(panic);
            }
        };
        // Sinks publish their output only now, when the whole run has succeeded.
        let ended = context.end(result.is_ok());
        let out = result?;
        ended?;
        Ok(out)
    }
}
