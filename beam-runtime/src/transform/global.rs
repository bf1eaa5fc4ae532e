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
