use std::ops::AddAssign;

use super::CombineFn;

/// Adds its inputs: `sum_per_key()` is `combine_per_key(Sum)`.
///
/// ```
/// use beam::prelude::*;
/// let out = pipeline! {
///     xs = from_iter(1..=4u64);
///     total = xs -> combine_globally(Sum) -> collect();
/// }
/// .run()
/// .unwrap();
/// assert_eq!(out.total, vec![10]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Sum;

impl<V> CombineFn<V> for Sum
where
    V: AddAssign + Default + Send,
{
    type Acc = V;
    type Out = V;

    #[inline]
    fn create_accumulator(&self) -> V {
        V::default()
    }
    #[inline]
    fn add_input(&self, acc: &mut V, input: V) {
        *acc += input;
    }
    fn merge_accumulators(&self, acc: &mut V, other: V) {
        *acc += other;
    }
    fn extract_output(&self, acc: V) -> V {
        acc
    }
    fn default_output(&self) -> Option<V> {
        Some(V::default())
    }
}
