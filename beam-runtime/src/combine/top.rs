use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::CombineFn;

/// The `n` largest inputs by a key, largest first: the combiner behind `top(n, key)`.
/// Among inputs with equal keys, which ones are kept is unspecified.
///
/// ```
/// use beam::prelude::*;
/// let out = pipeline! {
///     words = from_iter(vec![("a", 5u64), ("b", 9), ("c", 7)]);
///     best = words -> combine_globally(Top::by(2, |(_, n): &(&str, u64)| *n)) -> collect();
/// }
/// .run()
/// .unwrap();
/// assert_eq!(out.best, vec![vec![("b", 9), ("c", 7)]]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Top<F> {
    n: usize,
    key: F,
}

impl<F> Top<F> {
    /// Keeps the `n` inputs with the largest `key(&input)`.
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let out = pipeline! {
    ///     scores = from_iter(vec![("ann", 3u32), ("bob", 8), ("ann", 9), ("ann", 5)]);
    ///     best = scores -> combine_per_key(Top::by(2, |s: &u32| *s)) -> collect();
    /// }
    /// .run()?;
    /// let mut best = out.best;
    /// best.sort();
    /// assert_eq!(best, vec![("ann", vec![9, 5]), ("bob", vec![8])]);
    /// # Ok::<(), beam::Error>(())
    /// ```
    pub fn by(n: usize, key: F) -> Self {
        Top { n, key }
    }
}

/// An input with its key, ordered by the key alone.
#[doc(hidden)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Keyed<K, T>(K, T);

impl<K: Ord, T> PartialEq for Keyed<K, T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<K: Ord, T> Eq for Keyed<K, T> {}
impl<K: Ord, T> PartialOrd for Keyed<K, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: Ord, T> Ord for Keyed<K, T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl<T, K, F> CombineFn<T> for Top<F>
where
    F: Fn(&T) -> K + Sync,
    K: Ord + Send,
    T: Send,
{
    /// A min-heap of the best `n` seen so far: the root is the one to drop next.
    type Acc = BinaryHeap<Reverse<Keyed<K, T>>>;
    type Out = Vec<T>;

    fn create_accumulator(&self) -> Self::Acc {
        BinaryHeap::new()
    }

    #[inline]
    fn add_input(&self, acc: &mut Self::Acc, input: T) {
        if self.n > 0 {
            let key = (self.key)(&input);
            offer(acc, self.n, Keyed(key, input));
        }
    }

    fn merge_accumulators(&self, acc: &mut Self::Acc, other: Self::Acc) {
        for Reverse(keyed) in other {
            offer(acc, self.n, keyed);
        }
    }

    fn extract_output(&self, acc: Self::Acc) -> Vec<T> {
        // `into_sorted_vec` is ascending in `Reverse`, so largest key first.
        acc.into_sorted_vec().into_iter().map(|Reverse(Keyed(_, input))| input).collect()
    }

    fn default_output(&self) -> Option<Vec<T>> {
        Some(Vec::new())
    }
}

/// Keeps `candidate` if the heap has room or it beats the smallest kept input.
fn offer<K: Ord, T>(heap: &mut BinaryHeap<Reverse<Keyed<K, T>>>, n: usize, candidate: Keyed<K, T>) {
    if heap.len() < n {
        heap.push(Reverse(candidate));
    } else if let Some(mut smallest) = heap.peek_mut()
        && candidate.0 > smallest.0.0
    {
        *smallest = Reverse(candidate);
    }
}
