use super::CombineFn;
use super::reduce::fold_into;

/// The smallest input (by `PartialOrd`; a NaN never replaces a number already seen).
///
/// ```
/// use beam::prelude::*;
/// let out = pipeline! {
///     xs = from_iter(vec![("a", 3), ("a", 1), ("b", 2)]);
///     lo = xs -> combine_per_key(Min) -> collect();
/// }
/// .run()
/// .unwrap();
/// let mut lo = out.lo;
/// lo.sort();
/// assert_eq!(lo, vec![("a", 1), ("b", 2)]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Min;

/// The largest input (by `PartialOrd`; a NaN never replaces a number already seen).
///
/// ```
/// use beam::prelude::*;
/// let out = pipeline! {
///     xs = from_iter(vec![3.5, 9.0, 1.0]);
///     hi = xs -> combine_globally(Max) -> collect();
/// }
/// .run()
/// .unwrap();
/// assert_eq!(out.hi, vec![9.0]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Max;

macro_rules! extreme {
    ($combiner:ty, $keep_new:expr) => {
        impl<V: PartialOrd + Send> CombineFn<V> for $combiner {
            type Acc = Option<V>;
            type Out = V;

            #[inline]
            fn create_accumulator(&self) -> Option<V> {
                None
            }
            #[inline]
            fn add_input(&self, acc: &mut Option<V>, input: V) {
                fold_into(acc, input, |current, new| if $keep_new(&new, &current) { new } else { current });
            }
            fn merge_accumulators(&self, acc: &mut Option<V>, other: Option<V>) {
                if let Some(other) = other {
                    self.add_input(acc, other);
                }
            }
            fn extract_output(&self, acc: Option<V>) -> V {
                acc.expect("extract_output is only called on accumulators that saw an input")
            }
        }
    };
}

extreme!(Min, |new: &V, current: &V| new < current);
extreme!(Max, |new: &V, current: &V| new > current);
