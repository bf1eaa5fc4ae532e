//! What a run did, per stage: returned by `run()` as the `metrics` field of its
//! output.
//!
//! How to read them:
//!
//! - `elements_in` / `elements_out`: elements that entered and left the stage. A
//!   `filter` shows how much it dropped; a `flat_map` how much it multiplied; a
//!   `combine_per_key` reports its inputs and its output keys.
//! - `bad_records`: records a source could not parse (stopped the run, or went to
//!   its dead-letter output).
//! - `bytes_read` / `bytes_written`: file bytes read by sources (compressed size for
//!   compressed files) and written by sinks (after compression).
//! - `wall_time`: stages fused into one loop run together, element by element, so
//!   they share that loop's time; a shuffle or combine adds the time of its merge.
//!   The slowest segment is where to look first.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::plan::StageInfo;

/// Counters of one stage.
///
/// ```
/// use beam::prelude::*;
///
/// let out = pipeline! {
///     lines = from_iter(vec!["a b", "c"]);
///     words = lines -> split: flat_map(|l: &str| l.split(' ')) -> collect();
/// }
/// .run()?;
/// let split = out.metrics.stage("split").unwrap();
/// assert_eq!(split.stage.op, "flat_map");
/// assert_eq!((split.elements_in, split.elements_out), (2, 3));
/// assert_eq!(split.bad_records, 0);
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMetrics {
    /// The stage.
    pub stage: StageInfo,
    /// Elements that entered the stage.
    pub elements_in: u64,
    /// Elements the stage produced.
    pub elements_out: u64,
    /// Records a source could not parse.
    pub bad_records: u64,
    /// Elements a grouping per window received too late: past the end of their
    /// window plus the allowed lateness (sent to its late output if it has one,
    /// dropped otherwise), or for a window whose trigger had finished (dropped).
    pub late: u64,
    /// Bytes read from files.
    pub bytes_read: u64,
    /// Bytes written to files.
    pub bytes_written: u64,
    /// Time of the fused loop(s) the stage ran in, plus its own merge.
    pub wall_time: Duration,
}

/// Per-stage counters of one run, in plan order.
///
/// ```
/// use beam::prelude::*;
/// let out = pipeline! {
///     xs = from_iter(0..1000u32);
///     evens = xs -> keep_even: filter(|x: &u32| x % 2 == 0) -> collect();
/// }
/// .run()?;
/// let keep = out.metrics.stage("keep_even").unwrap();
/// assert_eq!((keep.elements_in, keep.elements_out), (1000, 500));
/// println!("{}", out.metrics); // a table, one line per stage
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// One entry per stage, indexed by [`StageInfo::id`].
    pub stages: Vec<StageMetrics>,
    /// Counters, distributions and gauges that user code updated, by name, over the whole
    /// run. (Per run, not per stage: telling which stage made each update would cost
    /// every fused loop a check per stage and element, counters used or not, and
    /// measured 5 to 8% on the tightest loops. Name a counter after its stage.)
    pub user: BTreeMap<String, UserMetric>,
    /// The whole run.
    pub wall_time: Duration,
    /// Bytes sent between processes, when several ran the pipeline (summed over
    /// them, on process 0): barrier states, gathered results, broadcast side
    /// inputs. 0 for a run in one process.
    pub bytes_exchanged: u64,
}

impl Metrics {
    /// The stage with this label (or, without labels, this transform name; the
    /// first such stage).
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let out = pipeline! {
    ///     xs = from_iter(1..=6u32);
    ///     small = xs -> under_3: filter(|x: &u32| *x < 3) -> map(|x: u32| x * 10) -> collect();
    /// }
    /// .run()?;
    /// assert_eq!(out.metrics.stage("under_3").unwrap().elements_out, 2);
    /// assert_eq!(out.metrics.stage("map").unwrap().elements_in, 2);
    /// assert!(out.metrics.stage("no_such_stage").is_none());
    /// # Ok::<(), beam::Error>(())
    /// ```
    pub fn stage(&self, name: &str) -> Option<&StageMetrics> {
        self.stages
            .iter()
            .find(|m| m.stage.label == Some(name))
            .or_else(|| self.stages.iter().find(|m| m.stage.op == name))
    }

    /// Bad records over all sources.
    ///
    /// ```
    /// use beam::prelude::*;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("points.jsonl");
    /// # std::fs::write(&path, "[1, 2]\nnot json\n[3, 4]\n").unwrap();
    /// let out = pipeline! {
    ///     (points, bad) = read_jsonl::<(i32, i32)>(&path);
    ///     good = points -> collect();
    ///     errors = bad -> collect();
    /// }
    /// .run()?;
    /// assert_eq!(out.metrics.bad_records(), 1);
    /// assert_eq!(out.good.len(), 2);
    /// # Ok::<(), beam::Error>(())
    /// ```
    pub fn bad_records(&self) -> u64 {
        self.stages.iter().map(|m| m.bad_records).sum()
    }

    /// The value of the user counter `name` (0 if it was never updated).
    ///
    /// ```
    /// use beam::prelude::*;
    /// use beam::metrics::counter;
    ///
    /// let out = pipeline! {
    ///     xs = from_iter(1..=10u32);
    ///     xs -> for_each(|x: u32| if x > 7 { counter("big").inc() });
    /// }
    /// .run()?;
    /// assert_eq!(out.metrics.counter("big"), 3);
    /// assert_eq!(out.metrics.counter("never updated"), 0);
    /// # Ok::<(), beam::Error>(())
    /// ```
    pub fn counter(&self, name: &str) -> u64 {
        match self.user.get(name) {
            Some(UserMetric::Counter(n)) => *n,
            _ => 0,
        }
    }
}

/// A counter, distribution or gauge updated by user code during a run.
///
/// ```
/// use beam::prelude::*;
/// use beam::metrics::{UserMetric, counter, distribution, distribution_f64, gauge};
///
/// let out = pipeline! {
///     xs = from_iter(vec![4i64, -1, 7]);
///     xs -> for_each(|x: i64| {
///         counter("seen").inc();
///         distribution("value").record(x);
///         distribution_f64("half").record(x as f64 / 2.0);
///         gauge("last seen").set(x);
///     });
/// }
/// .run()?;
/// assert_eq!(out.metrics.user["seen"], UserMetric::Counter(3));
/// assert_eq!(out.metrics.user["value"], UserMetric::Distribution { count: 3, sum: 10, min: -1, max: 7 });
/// assert_eq!(out.metrics.user["half"], UserMetric::FloatDistribution { count: 3, sum: 5.0, min: -0.5, max: 3.5 });
/// // A gauge keeps the value set last; which element that was is up to the workers.
/// assert!(matches!(out.metrics.user["last seen"], UserMetric::Gauge(4 | -1 | 7)));
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum UserMetric {
    /// The sum of what [`Counter::add`] added.
    Counter(u64),
    /// What [`Distribution::record`] recorded.
    Distribution { count: u64, sum: i64, min: i64, max: i64 },
    /// What [`FloatDistribution::record`] recorded.
    FloatDistribution { count: u64, sum: f64, min: f64, max: f64 },
    /// The value [`Gauge::set`] set last.
    Gauge(i64),
}

impl UserMetric {
    /// Adds `other`, the same metric's total elsewhere (another process's): counts
    /// and sums add up, bounds widen; a gauge keeps its value.
    pub(crate) fn merge(&mut self, other: UserMetric) {
        match (self, other) {
            (UserMetric::Counter(a), UserMetric::Counter(b)) => *a += b,
            (
                UserMetric::Distribution { count, sum, min, max },
                UserMetric::Distribution { count: c, sum: s, min: lo, max: hi },
            ) => {
                *count += c;
                *sum += s;
                *min = (*min).min(lo);
                *max = (*max).max(hi);
            }
            (
                UserMetric::FloatDistribution { count, sum, min, max },
                UserMetric::FloatDistribution { count: c, sum: s, min: lo, max: hi },
            ) => {
                *count += c;
                *sum += s;
                *min = min.min(lo);
                *max = max.max(hi);
            }
            // The same name used as two kinds of metric: keep the first.
            _ => {}
        }
    }
}

/// An update of a user metric as kept until the end of a loop: a gauge carries
/// the order of its setting, so that the last one set, on whatever thread, wins.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pending {
    Merged(UserMetric),
    Gauge { value: i64, order: u64 },
}

impl Pending {
    fn merge(&mut self, other: Pending) {
        match (self, other) {
            (Pending::Merged(a), Pending::Merged(b)) => a.merge(b),
            (Pending::Gauge { value, order }, Pending::Gauge { value: v, order: o }) if o > *order => {
                (*value, *order) = (v, o);
            }
            _ => {}
        }
    }

    fn metric(self) -> UserMetric {
        match self {
            Pending::Merged(metric) => metric,
            Pending::Gauge { value, .. } => UserMetric::Gauge(value),
        }
    }
}

/// The order of gauge settings, over all threads.
static GAUGE_ORDER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Identifies one run of a pipeline, so that a pipeline run inside another's user
/// code keeps its counters apart from the outer run's. Runs count from 1.
pub(crate) type RunId = u64;

/// No run: code outside any pipeline's loops and merges.
const NO_RUN: RunId = 0;

thread_local! {
    /// The run whose loop or merge this thread is working in. Set once per loop, not
    /// per element: the hot loop pays nothing for it.
    static CURRENT_RUN: Cell<RunId> = const { Cell::new(NO_RUN) };
    /// This thread's updates since they were last collected: few names, so a list.
    static UPDATES: RefCell<Vec<Update>> = const { RefCell::new(Vec::new()) };
}

/// One update of a user metric, and the run it was made for.
pub(crate) struct Update {
    run: RunId,
    pub name: Cow<'static, str>,
    pub value: Pending,
}

/// While it lives, this thread works for `run`: its counter updates are that run's.
/// Dropping it restores the run the thread worked for before (a pipeline run inside
/// another's user code, or a job rayon ran while a worker waited).
pub(crate) struct InRun {
    outer: RunId,
}

pub(crate) fn enter_run(run: RunId) -> InRun {
    InRun { outer: CURRENT_RUN.replace(run) }
}

impl Drop for InRun {
    fn drop(&mut self) {
        CURRENT_RUN.set(self.outer);
    }
}

// The name as a `Cow`, not a `&str`: a literal's stays borrowed when it is kept.
#[allow(clippy::ptr_arg)]
fn update(name: &Cow<'static, str>, value: Pending) {
    let run = CURRENT_RUN.get();
    UPDATES.with(|updates| {
        let mut updates = updates.borrow_mut();
        // A name is usually a literal: the same pointer, no comparison of text.
        let same = |u: &&mut Update| {
            u.run == run
                && (std::ptr::eq(u.name.as_ptr(), name.as_ptr()) && u.name.len() == name.len() || u.name == *name)
        };
        match updates.iter_mut().find(same) {
            Some(u) => u.value.merge(value),
            None => updates.push(Update { run, name: name.clone(), value }),
        }
    });
}

/// This thread's updates made for `run`, or outside any run (by rayon threads that
/// merge for it), taken; the updates of other runs stay.
pub(crate) fn take_thread_updates(run: RunId) -> Vec<Update> {
    UPDATES.with(|updates| {
        let mut updates = updates.borrow_mut();
        let (mine, others) = std::mem::take(&mut *updates).into_iter().partition(|u| u.run == run || u.run == NO_RUN);
        *updates = others;
        mine
    })
}

/// Drops this thread's updates made outside any run: made before a run starts, they
/// are not its.
pub(crate) fn discard_stray_updates() {
    UPDATES.with(|updates| updates.borrow_mut().retain(|u| u.run != NO_RUN));
}

/// Merges updates into a run's pending totals; [`finished`] turns them into its
/// metrics.
pub(crate) fn merge_into(total: &mut BTreeMap<String, Pending>, updates: Vec<Update>) {
    for Update { name, value, .. } in updates {
        match total.get_mut(name.as_ref()) {
            Some(metric) => metric.merge(value),
            None => {
                total.insert(name.into_owned(), value);
            }
        }
    }
}

/// A run's user metrics, from its pending totals.
pub(crate) fn finished(total: BTreeMap<String, Pending>) -> BTreeMap<String, UserMetric> {
    total.into_iter().map(|(name, pending)| (name, pending.metric())).collect()
}

/// A named counter that user code can add to from any stage. Updates stay on the
/// worker's thread (no atomics, no locks) and are summed at the end of each loop, so
/// it is cheap enough for a hot loop. The total is in `run()`'s `metrics.user`.
///
/// ```
/// use beam::prelude::*;
/// use beam::metrics::counter;
///
/// let out = pipeline! {
///     lines = from_iter(vec!["1", "x", "3"]);
///     numbers = lines -> filter_map(|l: &str| {
///         let parsed = l.parse::<u32>().ok();
///         if parsed.is_none() {
///             counter("unparsable").inc();
///         }
///         parsed
///     }) -> collect();
/// }
/// .run()?;
/// assert_eq!(out.metrics.counter("unparsable"), 1);
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Counter(Cow<'static, str>);

/// The counter called `name`. See [`Counter`].
///
/// ```
/// use beam::prelude::*;
/// use beam::metrics::counter;
///
/// let out = pipeline! {
///     words = from_iter(vec!["a", "", "b", ""]);
///     words -> for_each(|w: &str| if w.is_empty() { counter("empty words").inc() });
/// }
/// .run()?;
/// assert_eq!(out.metrics.counter("empty words"), 2);
/// # Ok::<(), beam::Error>(())
/// ```
pub fn counter(name: impl Into<Cow<'static, str>>) -> Counter {
    Counter(name.into())
}

impl Counter {
    /// Adds one.
    ///
    /// ```
    /// use beam::prelude::*;
    /// use beam::metrics::counter;
    ///
    /// let out = pipeline! {
    ///     xs = from_iter(0..100u32);
    ///     xs -> for_each(|_x: u32| counter("elements").inc());
    /// }
    /// .run()?;
    /// assert_eq!(out.metrics.counter("elements"), 100);
    /// # Ok::<(), beam::Error>(())
    /// ```
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`.
    ///
    /// ```
    /// use beam::prelude::*;
    /// use beam::metrics::counter;
    ///
    /// let out = pipeline! {
    ///     lines = from_iter(vec!["ab", "cde", ""]);
    ///     lines -> for_each(|l: &str| counter("bytes").add(l.len() as u64));
    /// }
    /// .run()?;
    /// assert_eq!(out.metrics.counter("bytes"), 5);
    /// # Ok::<(), beam::Error>(())
    /// ```
    #[inline]
    pub fn add(&self, n: u64) {
        update(&self.0, Pending::Merged(UserMetric::Counter(n)));
    }
}

/// A named distribution (count, sum, min, max) of values user code records.
///
/// ```
/// use beam::prelude::*;
/// use beam::metrics::{UserMetric, distribution};
///
/// let out = pipeline! {
///     words = from_iter(vec!["a", "bbb", "cc"]);
///     words -> for_each(|w: &str| distribution("word length").record(w.len() as i64));
/// }
/// .run()?;
/// assert_eq!(out.metrics.user["word length"], UserMetric::Distribution { count: 3, sum: 6, min: 1, max: 3 });
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Distribution(Cow<'static, str>);

/// The distribution called `name`. See [`Distribution`].
///
/// ```
/// use beam::prelude::*;
/// use beam::metrics::{UserMetric, distribution};
///
/// let out = pipeline! {
///     xs = from_iter(vec![5i64, 1, 3]);
///     xs -> for_each(|x: i64| distribution("x").record(x));
/// }
/// .run()?;
/// let UserMetric::Distribution { min, max, .. } = out.metrics.user["x"] else { panic!("not a distribution") };
/// assert_eq!((min, max), (1, 5));
/// # Ok::<(), beam::Error>(())
/// ```
pub fn distribution(name: impl Into<Cow<'static, str>>) -> Distribution {
    Distribution(name.into())
}

impl Distribution {
    /// Records one value.
    ///
    /// ```
    /// use beam::prelude::*;
    /// use beam::metrics::{UserMetric, distribution};
    ///
    /// let out = pipeline! {
    ///     orders = from_iter(vec![("a", 20i64), ("b", 40)]);
    ///     orders -> for_each(|(_, cents): (&str, i64)| distribution("order cents").record(cents));
    /// }
    /// .run()?;
    /// let UserMetric::Distribution { count, sum, .. } = out.metrics.user["order cents"] else { panic!() };
    /// assert_eq!(sum / count as i64, 30); // the mean
    /// # Ok::<(), beam::Error>(())
    /// ```
    #[inline]
    pub fn record(&self, value: i64) {
        update(&self.0, Pending::Merged(UserMetric::Distribution { count: 1, sum: value, min: value, max: value }));
    }
}

/// A named distribution (count, sum, min, max) of `f64` values user code records.
/// A NaN is not recorded.
///
/// ```
/// use beam::prelude::*;
/// use beam::metrics::{UserMetric, distribution_f64};
///
/// let out = pipeline! {
///     temps = from_iter(vec![("oslo", 2.5), ("rome", 14.0)]);
///     temps -> for_each(|(city, t): (&str, f64)| distribution_f64(format!("temp {}", &city[..1])).record(t));
/// }
/// .run()?;
/// assert_eq!(out.metrics.user["temp o"], UserMetric::FloatDistribution { count: 1, sum: 2.5, min: 2.5, max: 2.5 });
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FloatDistribution(Cow<'static, str>);

/// The `f64` distribution called `name`. See [`FloatDistribution`].
pub fn distribution_f64(name: impl Into<Cow<'static, str>>) -> FloatDistribution {
    FloatDistribution(name.into())
}

impl FloatDistribution {
    /// Records one value.
    #[inline]
    pub fn record(&self, value: f64) {
        if !value.is_nan() {
            let metric = UserMetric::FloatDistribution { count: 1, sum: value, min: value, max: value };
            update(&self.0, Pending::Merged(metric));
        }
    }
}

/// A named value user code sets, Beam's `Gauge`: the run's metrics keep the value
/// set last, on whatever worker (a queue's length, a model's version).
///
/// ```
/// use beam::prelude::*;
/// use beam::metrics::{UserMetric, gauge};
///
/// let out = pipeline! {
///     versions = from_iter(vec![3i64]);
///     versions -> for_each(|v: i64| gauge("model version").set(v));
/// }
/// .run()?;
/// assert_eq!(out.metrics.user["model version"], UserMetric::Gauge(3));
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Gauge(Cow<'static, str>);

/// The gauge called `name`. See [`Gauge`].
pub fn gauge(name: impl Into<Cow<'static, str>>) -> Gauge {
    Gauge(name.into())
}

impl Gauge {
    /// Sets the gauge to `value`.
    #[inline]
    pub fn set(&self, value: i64) {
        let order = GAUGE_ORDER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        update(&self.0, Pending::Gauge { value, order });
    }
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<28} {:>12} {:>12} {:>6} {:>12} {:>12} {:>10}",
            "stage", "in", "out", "bad", "read", "written", "time"
        )?;
        for m in &self.stages {
            let name = match m.stage.label {
                Some(label) => format!("[{}] {label}: {}", m.stage.id, m.stage.op),
                None => format!("[{}] {}", m.stage.id, m.stage.op),
            };
            writeln!(
                f,
                "{name:<28} {:>12} {:>12} {:>6} {:>12} {:>12} {:>9.3}s",
                m.elements_in,
                m.elements_out,
                m.bad_records,
                m.bytes_read,
                m.bytes_written,
                m.wall_time.as_secs_f64()
            )?;
        }
        for (name, metric) in &self.user {
            match metric {
                UserMetric::Counter(n) => writeln!(f, "{name}: {n}")?,
                UserMetric::Distribution { count, sum, min, max } => {
                    let mean = if *count > 0 { *sum as f64 / *count as f64 } else { 0.0 };
                    writeln!(f, "{name}: {count} values, min {min}, mean {mean:.2}, max {max}")?
                }
                UserMetric::FloatDistribution { count, sum, min, max } => {
                    let mean = if *count > 0 { *sum / *count as f64 } else { 0.0 };
                    writeln!(f, "{name}: {count} values, min {min}, mean {mean:.2}, max {max}")?
                }
                UserMetric::Gauge(value) => writeln!(f, "{name}: {value} (last set)")?,
            }
        }
        write!(f, "total {:.3}s", self.wall_time.as_secs_f64())
    }
}
