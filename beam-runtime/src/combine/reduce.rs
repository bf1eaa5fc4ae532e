use super::CombineFn;

/// A function that combines two values into one, as a combiner: what
/// `reduce_per_key(f)` and `reduce(f)` use, as Spark's `reduceByKey`, Beam's
/// `Combine.perKey(BinaryCombineFn)` or Rust's `Iterator::reduce` do. The function
/// must be associative, as values meet in no fixed order; it still pre-combines on
/// every worker. The accumulator is the value so far.
///
/// ```
/// use beam::prelude::*;
///
/// let out = pipeline! {
///     words = from_iter(vec![("a", "pear"), ("b", "fig"), ("a", "banana"), ("a", "kiwi")]);
///     longest = words
///         -> map(|(k, w): (&str, &str)| (k, w.to_owned()))
///         -> reduce_per_key(|a, b| if b.len() > a.len() { b } else { a })
///         -> collect();
///     lengths = words -> map(|(_, w): (&str, &str)| w.len());
///     letters = lengths -> reduce(|a, b| a + b) -> collect();
///     // The same combiner, named, where a `CombineFn` is expected.
///     shortest = lengths -> combine_globally(Reduce(|a: usize, b: usize| a.min(b))) -> collect();
/// }
/// .run()?;
/// let mut longest = out.longest;
/// longest.sort();
/// assert_eq!(longest, vec![("a", "banana".to_owned()), ("b", "fig".to_owned())]);
/// assert_eq!(out.letters, vec![17]);
/// assert_eq!(out.shortest, vec![3]);
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Reduce<F>(pub F);

impl<V: Send, F: Fn(V, V) -> V + Sync> CombineFn<V> for Reduce<F> {
    type Acc = Option<V>;
    type Out = V;

    #[inline]
    fn create_accumulator(&self) -> Option<V> {
        None
    }

    #[inline]
    fn add_input(&self, acc: &mut Option<V>, input: V) {
        fold_into(acc, input, &self.0);
    }

    fn merge_accumulators(&self, acc: &mut Option<V>, other: Option<V>) {
        if let Some(other) = other {
            fold_into(acc, other, &self.0);
        }
    }

    fn extract_output(&self, acc: Option<V>) -> V {
        acc.expect("extract_output is only called on accumulators that saw an input")
    }
}

/// Folds `input` into the value so far with `f`; the first input is the value.
#[inline]
pub(crate) fn fold_into<V>(acc: &mut Option<V>, input: V, f: impl FnOnce(V, V) -> V) {
    *acc = Some(match acc.take() {
        Some(so_far) => f(so_far, input),
        None => input,
    });
}
