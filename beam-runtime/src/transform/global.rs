//! Global combines: one accumulator per worker, merged after the loop.

use std::marker::PhantomData;

use crate::__private::{Context, Leaf, RankKey, Witness, Worker};
use crate::collection::Collection;
use crate::combine::{CombineFn, Top};

/// Combines the whole collection into one element.
#[doc(hidden)]
pub struct CombineGlobally<In, C> {
    combiner: C,
    _in: PhantomData<fn(In)>,
}

/// `combine_globally(c)`: one element, `c`'s output over the whole input (for an
/// empty input, `c.default_output()` if there is one, else no element).
pub fn combine_globally<In, C: CombineFn<In>>(
    _: Witness<In>,
    combiner: C,
) -> impl Leaf<In = In, Output = Collection<C::Out>> {
    globally(combiner)
}

fn globally<In, C>(combiner: C) -> CombineGlobally<In, C> {
    CombineGlobally { combiner, _in: PhantomData }
}

impl<In, C: CombineFn<In>> CombineGlobally<In, C> {
    fn combine(self, locals: Vec<(C::Acc, bool)>) -> Option<C::Out> {
        let mut merged: Option<C::Acc> = None;
        for (acc, seen) in locals {
            if !seen {
                continue;
            }
            match &mut merged {
                Some(m) => self.combiner.merge_accumulators(m, acc),
                None => merged = Some(acc),
            }
        }
        match merged {
            Some(acc) => Some(self.combiner.extract_output(acc)),
            None => self.combiner.default_output(),
        }
    }
}

impl<In, C: CombineFn<In>> Leaf for CombineGlobally<In, C> {
    type In = In;
    /// The accumulator, and whether it saw any input.
    type Local = (C::Acc, bool);
    type Output = Collection<C::Out>;

    fn local(&self, _: Worker) -> Self::Local {
        (self.combiner.create_accumulator(), false)
    }

    #[inline(always)]
    fn push(&self, local: &mut Self::Local, input: In) {
        self.combiner.add_input(&mut local.0, input);
        local.1 = true;
    }

    fn finish(self, locals: Vec<Self::Local>, _ctx: &Context) -> crate::Result<Self::Output> {
        Ok(Collection::from_parts(vec![self.combine(locals).into_iter().collect()]))
    }
}

/// `top(n, key)`: the `n` elements with the largest `key(&x)`, largest first.
#[doc(hidden)]
pub struct TopLeaf<In, F>(CombineGlobally<In, Top<F>>);

/// `top(n, key)`: the `n` largest elements by `key`, emitted largest first.
pub fn top<In, K, F>(_: Witness<In>, n: usize, key: F) -> impl Leaf<In = In, Output = Collection<In>>
where
    F: Fn(&In) -> K + Sync,
    K: RankKey,
    In: Send,
{
    TopLeaf(globally(Top::by(n, key)))
}

impl<In, K, F> Leaf for TopLeaf<In, F>
where
    F: Fn(&In) -> K + Sync,
    K: Ord + Send,
    In: Send,
{
    type In = In;
    type Local = <CombineGlobally<In, Top<F>> as Leaf>::Local;
    type Output = Collection<In>;

    fn local(&self, worker: Worker) -> Self::Local {
        self.0.local(worker)
    }

    #[inline(always)]
    fn push(&self, local: &mut Self::Local, input: In) {
        self.0.push(local, input)
    }

    fn finish(self, locals: Vec<Self::Local>, _ctx: &Context) -> crate::Result<Self::Output> {
        Ok(Collection::from_parts(vec![self.0.combine(locals).unwrap_or_default()]))
    }
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

pub fn sample<In: Send>(_: Witness<In>, n: usize, seed: u64) -> impl Leaf<In = In, Output = Collection<In>> {
    Sample { n, seed, _in: PhantomData }
}

/// A worker's sample: a max-heap of (priority, element), and its random state.
#[doc(hidden)]
pub struct SampleState<In> {
    kept: std::collections::BinaryHeap<Prioritized<In>>,
    rng: u64,
}

#[doc(hidden)]
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

impl<In: Send> Leaf for Sample<In> {
    type In = In;
    type Local = SampleState<In>;
    type Output = Collection<In>;

    fn local(&self, worker: Worker) -> SampleState<In> {
        let mut rng = self.seed ^ (worker.index as u64).wrapping_mul(0xa076_1d64_78bd_642f);
        next_random(&mut rng);
        SampleState { kept: std::collections::BinaryHeap::new(), rng }
    }

    #[inline]
    fn push(&self, local: &mut SampleState<In>, input: In) {
        if self.n > 0 {
            let priority = next_random(&mut local.rng);
            local.offer(self.n, priority, input);
        }
    }

    fn finish(self, locals: Vec<SampleState<In>>, _ctx: &Context) -> crate::Result<Collection<In>> {
        let mut merged = SampleState { kept: std::collections::BinaryHeap::new(), rng: 0 };
        for local in locals {
            for Prioritized(priority, element) in local.kept {
                merged.offer(self.n, priority, element);
            }
        }
        Ok(Collection::from_parts(vec![merged.kept.into_iter().map(|p| p.1).collect()]))
    }
}
