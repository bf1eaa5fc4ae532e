use super::CombineFn;

/// Counts its inputs, whatever their type: `count()` is `combine_globally(Count)`.
///
/// ```
/// use beam::prelude::*;
/// let out = pipeline! {
///     xs = from_iter(vec!["a", "b", "a"]);
///     n = xs -> combine_globally(Count) -> collect();
/// }
/// .run()
/// .unwrap();
/// assert_eq!(out.n, vec![3]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Count;

impl<T> CombineFn<T> for Count {
    type Acc = u64;
    type Out = u64;

    #[inline]
    fn create_accumulator(&self) -> u64 {
        0
    }
    #[inline]
    fn add_input(&self, acc: &mut u64, _input: T) {
        *acc += 1;
    }
    fn merge_accumulators(&self, acc: &mut u64, other: u64) {
        *acc += other;
    }
    fn extract_output(&self, acc: u64) -> u64 {
        acc
    }
    fn default_output(&self) -> Option<u64> {
        Some(0)
    }
}
