//! Keyed transforms: pre-combined (or scattered) by key inside the fused loop, then
//! shuffled by key hash. See [`crate::shuffle`].

use std::marker::PhantomData;

use std::hash::Hash;

use crate::__private::{Context, GroupKey, KeyValue, Leaf, Witness, Worker};
use crate::collection::Collection;
use crate::combine::{CombineFn, Count};
use crate::shuffle::{KeyHasher, KeyedTables, merge_keyed};

/// How a keyed stage turns its input element into `(key, value)`.
#[doc(hidden)]
pub trait Split<In>: Sync {
    type Key;
    type Value;
    fn split(input: In) -> (Self::Key, Self::Value);
}

/// The input already is a `(key, value)` pair.
#[doc(hidden)]
pub struct Pairs;

impl<In: KeyValue> Split<In> for Pairs {
    type Key = In::Key;
    type Value = In::Value;
    #[inline(always)]
    fn split(input: In) -> (In::Key, In::Value) {
        input.into_pair()
    }
}

/// The whole element is the key (for `count_per_element`).
#[doc(hidden)]
pub struct Elements;

impl<In> Split<In> for Elements {
    type Key = In;
    type Value = ();
    #[inline(always)]
    fn split(input: In) -> (In, ()) {
        (input, ())
    }
}

/// Combines values per key with a `CombineFn`, pre-combining on every worker before
/// the shuffle (combiner lifting). Emits `(key, output)`.
#[doc(hidden)]
pub struct CombinePerKey<In, S, C> {
    combiner: C,
    hasher: KeyHasher,
    _split: PhantomData<fn(In) -> S>,
}

fn keyed_combine<In, S, C>(combiner: C) -> CombinePerKey<In, S, C> {
    CombinePerKey { combiner, hasher: KeyHasher::default(), _split: PhantomData }
}

// `count_per_key`, `sum_per_key` and the like are `combine_per_key` with a built-in
// combiner (see the macro's registry).

/// `combine_per_key(c)`: `(k, c's output over all values of k)` for every key.
pub fn combine_per_key<In, C>(_: Witness<In>, combiner: C) -> impl Leaf<In = In, Output = Collection<(In::Key, C::Out)>>
where
    In: KeyValue,
    In::Key: GroupKey,
    C: CombineFn<In::Value>,
{
    keyed_combine::<In, Pairs, C>(combiner)
}

/// `count_per_element()`: `(x, how many times x occurs)`.
pub fn count_per_element<T>(_: Witness<T>) -> impl Leaf<In = T, Output = Collection<(T, u64)>>
where
    T: GroupKey,
{
    keyed_combine::<T, Elements, Count>(Count)
}

impl<In, S, C> Leaf for CombinePerKey<In, S, C>
where
    S: Split<In>,
    S::Key: Hash + Eq + Send,
    C: CombineFn<S::Value>,
    C::Acc: Send,
{
    type In = In;
    type Local = KeyedTables<S::Key, C::Acc>;
    type Output = Collection<(S::Key, C::Out)>;

    fn local(&self, _: Worker) -> Self::Local {
        KeyedTables::new()
    }

    #[inline(always)]
    fn push(&self, local: &mut Self::Local, input: In) {
        let (key, value) = S::split(input);
        let acc = local.entry(&self.hasher, key, || self.combiner.create_accumulator());
        self.combiner.add_input(acc, value);
    }

    fn finish(self, locals: Vec<Self::Local>, _ctx: &Context) -> crate::Result<Self::Output> {
        let combiner = &self.combiner;
        let parts = merge_keyed(
            &self.hasher,
            locals,
            |acc, other| combiner.merge_accumulators(acc, other),
            |key, acc| (key, combiner.extract_output(acc)),
        );
        Ok(Collection::from_parts(parts))
    }
}

/// `group_by_key()`: `(k, every value of k)`. Values are not pre-combined, so prefer
/// `combine_per_key` when the group is only folded afterwards.
#[doc(hidden)]
pub struct GroupByKey<In> {
    hasher: KeyHasher,
    _in: PhantomData<fn(In)>,
}

/// `group_by_key()`: `(k, Vec of k's values)`.
pub fn group_by_key<In>(_: Witness<In>) -> impl Leaf<In = In, Output = Collection<(In::Key, Vec<In::Value>)>>
where
    In: KeyValue,
    In::Key: GroupKey,
    In::Value: Send,
{
    GroupByKey { hasher: KeyHasher::default(), _in: PhantomData }
}

impl<In> Leaf for GroupByKey<In>
where
    In: KeyValue,
    In::Key: Hash + Eq + Send,
    In::Value: Send,
{
    type In = In;
    type Local = KeyedTables<In::Key, Vec<In::Value>>;
    type Output = Collection<(In::Key, Vec<In::Value>)>;

    fn local(&self, _: Worker) -> Self::Local {
        KeyedTables::new()
    }

    #[inline(always)]
    fn push(&self, local: &mut Self::Local, input: In) {
        let (key, value) = input.into_pair();
        local.entry(&self.hasher, key, Vec::new).push(value);
    }

    fn finish(self, locals: Vec<Self::Local>, _ctx: &Context) -> crate::Result<Self::Output> {
        let parts = merge_keyed(&self.hasher, locals, |values, other| values.extend(other), |k, v| (k, v));
        Ok(Collection::from_parts(parts))
    }
}

/// `distinct()`: every distinct element once.
#[doc(hidden)]
pub struct Distinct<T>(CombinePerKey<T, Elements, Count>);

pub fn distinct<T: GroupKey>(_: Witness<T>) -> impl Leaf<In = T, Output = Collection<T>> {
    Distinct(keyed_combine::<T, Elements, Count>(Count))
}

impl<T: GroupKey> Leaf for Distinct<T> {
    type In = T;
    type Local = <CombinePerKey<T, Elements, Count> as Leaf>::Local;
    type Output = Collection<T>;

    fn local(&self, worker: Worker) -> Self::Local {
        self.0.local(worker)
    }

    #[inline(always)]
    fn push(&self, local: &mut Self::Local, input: T) {
        self.0.push(local, input)
    }

    fn finish(self, locals: Vec<Self::Local>, ctx: &Context) -> crate::Result<Collection<T>> {
        let counted = self.0.finish(locals, ctx)?;
        Ok(Collection::from_parts(
            counted.into_parts().into_iter().map(|part| part.into_iter().map(|(x, _)| x).collect()).collect(),
        ))
    }
}

/// `top_per_key(n, key)`: for every key, its `n` values with the largest `key(&v)`,
/// largest first.
pub fn top_per_key<In, R, F>(
    w: Witness<In>,
    n: usize,
    key: F,
) -> impl Leaf<In = In, Output = Collection<(In::Key, Vec<In::Value>)>>
where
    In: KeyValue,
    In::Key: GroupKey,
    In::Value: Send,
    F: Fn(&In::Value) -> R + Sync,
    R: crate::__private::RankKey,
{
    combine_per_key(w, crate::combine::Top::by(n, key))
}
