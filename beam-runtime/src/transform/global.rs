//! Global combines: one accumulator per worker, merged after the loop.

use crate::exchange::Exchangeable;
use std::marker::PhantomData;

use crate::__private::{RankKey, Witness, Worker};
use crate::barrier::{Global, GlobalCombine, Reshape};
use crate::combine::{CombineFn, Top};

/// Combines the whole collection into one element.
#[doc(hidden)]
pub struct CombineGlobally<In, C> {
    combiner: C,
    _in: PhantomData<fn(In)>,
}

/// `combine_globally(c)`: one element, `c`'s output over the whole input (for an
/// empty input, `c.default_output()` if there is one, else no element).
pub fn combine_globally<In, C: CombineFn<In, Acc: Exchangeable>>(
    _: Witness<In>,
    combiner: C,
) -> Global<impl GlobalCombine<In = In, Out = C::Out, Acc: Exchangeable>> {
    Global(globally(combiner))
}

/// `reduce(f)`: one element, all elements combined by `f`
/// ([`Reduce`](crate::combine::Reduce)); none for an empty input.
pub fn reduce<In, F>(input: Witness<In>, f: F) -> Global<impl GlobalCombine<In = In, Out = In, Acc: Exchangeable>>
where
    In: Send + Exchangeable,
    F: Fn(In, In) -> In + Sync,
{
    combine_globally(input, crate::combine::Reduce(f))
}

fn globally<In, C>(combiner: C) -> CombineGlobally<In, C> {
    CombineGlobally { combiner, _in: PhantomData }
}

impl<In, C: CombineFn<In>> GlobalCombine for CombineGlobally<In, C> {
    type In = In;
    /// The accumulator, and whether it saw any input.
    type Acc = (C::Acc, bool);
    type Out = C::Out;

    fn create(&self, _: Worker) -> Self::Acc {
        (self.combiner.create_accumulator(), false)
    }

    #[inline(always)]
    fn add(&self, acc: &mut Self::Acc, input: In) {
        self.combiner.add_input(&mut acc.0, input);
        acc.1 = true;
    }

    fn merge(&self, acc: &mut Self::Acc, other: Self::Acc) {
        match (acc.1, other.1) {
            (_, false) => {}
            (false, true) => *acc = other,
            (true, true) => self.combiner.merge_accumulators(&mut acc.0, other.0),
        }
    }

    fn extract(&self, (acc, seen): Self::Acc, emit: &mut impl FnMut(C::Out)) {
        let out = if seen { Some(self.combiner.extract_output(acc)) } else { self.combiner.default_output() };
        out.into_iter().for_each(emit);
    }
}

/// `top(n, key)`: the `n` largest elements by `key`, emitted largest first: a
/// combine whose one output, the list, is spread into its elements.
pub fn top<In, K, F>(
    _: Witness<In>,
    n: usize,
    key: F,
) -> Global<impl GlobalCombine<In = In, Out = In, Acc: Exchangeable>>
where
    F: Fn(&In) -> K + Sync,
    K: RankKey + Exchangeable,
    In: Send + Exchangeable,
{
    Global(Reshape { inner: globally(Top::by(n, key)), reshape: |largest_first: Vec<In>| largest_first })
}

/// `sample(n, seed)`: `n` elements drawn uniformly without replacement (all of them
/// if there are fewer). Each element gets a random priority and the `n` smallest
/// priorities are kept (bottom-k sampling), which stays uniform when the workers'
/// samples are merged. The priorities come from `seed`, the worker and its count of
/// elements: the same seed gives the same sample on one thread; on several, which
/// worker reads which chunk varies between runs.
#[doc(hidden)]
pub struct Sample<In> {
    n: usize,
    seed: u64,
    _in: PhantomData<fn(In)>,
}

pub fn sample<In: Send + Exchangeable>(
    _: Witness<In>,
    n: usize,
    seed: u64,
) -> Global<impl GlobalCombine<In = In, Out = In, Acc: Exchangeable>> {
    Global(Sample { n, seed, _in: PhantomData })
}

/// A worker's sample: a max-heap of (priority, element), and its random state.
#[doc(hidden)]
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(bound(serialize = "In: serde::Serialize", deserialize = "In: serde::Deserialize<'de>"))]
pub struct SampleState<In> {
    kept: std::collections::BinaryHeap<Prioritized<In>>,
    rng: u64,
}

#[doc(hidden)]
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Prioritized<In>(u64, In);

impl<In> PartialEq for Prioritized<In> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<In> Eq for Prioritized<In> {}
impl<In> PartialOrd for Prioritized<In> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<In> Ord for Prioritized<In> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl<In> SampleState<In> {
    fn offer(&mut self, n: usize, priority: u64, element: In) {
        if self.kept.len() < n {
            self.kept.push(Prioritized(priority, element));
        } else if let Some(mut largest) = self.kept.peek_mut()
            && priority < largest.0
        {
            *largest = Prioritized(priority, element);
        }
    }
}

/// splitmix64: a fast, well-mixed sequence from any seed.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl<In: Send> GlobalCombine for Sample<In> {
    type In = In;
    type Acc = SampleState<In>;
    type Out = In;

    fn create(&self, worker: Worker) -> SampleState<In> {
        let mut rng = self.seed ^ (worker.index as u64).wrapping_mul(0xa076_1d64_78bd_642f);
        next_random(&mut rng);
        SampleState { kept: std::collections::BinaryHeap::new(), rng }
    }

    #[inline]
    fn add(&self, local: &mut SampleState<In>, input: In) {
        if self.n > 0 {
            let priority = next_random(&mut local.rng);
            local.offer(self.n, priority, input);
        }
    }

    fn merge(&self, acc: &mut SampleState<In>, other: SampleState<In>) {
        for Prioritized(priority, element) in other.kept {
            acc.offer(self.n, priority, element);
        }
    }

    fn extract(&self, acc: SampleState<In>, emit: &mut impl FnMut(In)) {
        acc.kept.into_iter().for_each(|p| emit(p.1));
    }
}
