//! Combiners: Beam's `CombineFn`, and the built-in ones.
//!
//! A combiner folds many inputs into one output in four steps that let the runtime
//! pre-combine on every worker before data crosses a shuffle (combiner lifting):
//! create an accumulator, add inputs to it, merge accumulators, extract the output.

mod count;
mod mean;
mod min_max;
mod reduce;
mod sum;
mod top;

pub use count::Count;
pub use mean::{AsF64, Mean};
pub use min_max::{Max, Min};
pub use reduce::Reduce;
pub use sum::Sum;
pub use top::Top;

/// Beam's `CombineFn`: how to fold inputs of type `In` into one output.
///
/// Used by `combine_per_key(c)` (one output per key) and `combine_globally(c)` (one
/// output for the whole collection). The runtime calls `add_input` on per-worker
/// accumulators inside the fused loop, then `merge_accumulators` across workers, then
/// `extract_output` once per key. `extract_output` is only called on an accumulator
/// that received at least one input; for an empty input, `combine_globally` emits
/// [`default_output`](CombineFn::default_output) if there is one, else nothing.
///
/// A mean as a user-defined combiner:
///
/// ```
/// use beam::prelude::*;
///
/// struct Average;
/// impl CombineFn<f64> for Average {
///     type Acc = (f64, u64);
///     type Out = f64;
///     fn create_accumulator(&self) -> (f64, u64) { (0.0, 0) }
///     fn add_input(&self, acc: &mut (f64, u64), x: f64) { acc.0 += x; acc.1 += 1; }
///     fn merge_accumulators(&self, acc: &mut (f64, u64), other: (f64, u64)) {
///         acc.0 += other.0;
///         acc.1 += other.1;
///     }
///     fn extract_output(&self, acc: (f64, u64)) -> f64 { acc.0 / acc.1 as f64 }
/// }
///
/// let out = pipeline! {
///     temps = from_iter(vec![("oslo", 2.0), ("rome", 15.0), ("oslo", 4.0)]);
///     avg = temps -> combine_per_key(Average) -> collect();
/// }
/// .run()
/// .unwrap();
/// let mut avg = out.avg;
/// avg.sort_by(|a, b| a.0.cmp(b.0));
/// assert_eq!(avg, vec![("oslo", 3.0), ("rome", 15.0)]);
/// ```
///
/// For a custom reduction, no trait to implement: `reduce_per_key(f)` and
/// `reduce(f)` combine with a function of two values (see [`Reduce`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot combine values of type `{In}`",
    label = "this combiner does not take `{In}`",
    note = "a combiner for `{In}` implements `CombineFn<{In}>`"
)]
pub trait CombineFn<In>: Sync {
    /// The partial result kept per key and per worker.
    type Acc: Send;
    /// The final result.
    type Out: Send;

    /// A new, empty accumulator.
    fn create_accumulator(&self) -> Self::Acc;
    /// Folds one input into `acc`.
    fn add_input(&self, acc: &mut Self::Acc, input: In);
    /// Folds `other` (from another worker) into `acc`.
    fn merge_accumulators(&self, acc: &mut Self::Acc, other: Self::Acc);
    /// The final result of an accumulator that saw at least one input.
    fn extract_output(&self, acc: Self::Acc) -> Self::Out;
    /// What `combine_globally` emits for an empty input: nothing by default (there is
    /// no minimum of no numbers); `Sum` and `Count` emit zero.
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let out = pipeline! {
    ///     xs = from_iter(Vec::<u32>::new());
    ///     total = xs -> combine_globally(Sum) -> collect();
    ///     lowest = xs -> combine_globally(Min) -> collect();
    /// }
    /// .run()?;
    /// assert_eq!(out.total, vec![0]);
    /// assert!(out.lowest.is_empty());
    /// # Ok::<(), beam::Error>(())
    /// ```
    fn default_output(&self) -> Option<Self::Out> {
        None
    }
}
