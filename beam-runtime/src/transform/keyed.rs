//! Keyed transforms: pre-combined (or scattered) by key inside the fused loop, then
//! shuffled by key hash. See [`crate::shuffle`].

use std::marker::PhantomData;

use crate::__private::{GroupKey, KeyValue, Leaf, Witness, Worker};
use crate::collection::Collection;
use crate::combine::{CombineFn, Count, Max, Mean, Min, Sum};
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

/// `combine_per_key(c)`: `(k, c's output over all values of k)` for every key.
pub fn combine_per_key<In, C>(_: &Witness<In>, combiner: C) -> CombinePerKey<In, Pairs, C>
where
    In: KeyValue,
    In::Key: GroupKey,
    C: CombineFn<In::Value>,
{
    keyed_combine(combiner)
}

/// `count_per_element()`: `(x, how many times x occurs)`.
pub fn count_per_element<In: GroupKey>(_: &Witness<In>) -> CombinePerKey<In, Elements, Count> {
    keyed_combine(Count)
}

/// `count_per_key()`: `(k, how many values k has)`.
pub fn count_per_key<In>(w: &Witness<In>) -> CombinePerKey<In, Pairs, Count>
where
    In: KeyValue,
    In::Key: GroupKey,
{
    combine_per_key(w, Count)
}

/// `sum_per_key()`: `(k, sum of k's values)`.
pub fn sum_per_key<In>(w: &Witness<In>) -> CombinePerKey<In, Pairs, Sum>
where
    In: KeyValue,
    In::Key: GroupKey,
    Sum: CombineFn<In::Value>,
{
    combine_per_key(w, Sum)
}

/// `min_per_key()`: `(k, smallest value of k)`.
pub fn min_per_key<In>(w: &Witness<In>) -> CombinePerKey<In, Pairs, Min>
where
    In: KeyValue,
    In::Key: GroupKey,
    Min: CombineFn<In::Value>,
{
    combine_per_key(w, Min)
}

/// `max_per_key()`: `(k, largest value of k)`.
pub fn max_per_key<In>(w: &Witness<In>) -> CombinePerKey<In, Pairs, Max>
where
    In: KeyValue,
    In::Key: GroupKey,
    Max: CombineFn<In::Value>,
{
    combine_per_key(w, Max)
}

/// `mean_per_key()`: `(k, mean of k's values as f64)`.
pub fn mean_per_key<In>(w: &Witness<In>) -> CombinePerKey<In, Pairs, Mean>
where
    In: KeyValue,
    In::Key: GroupKey,
    Mean: CombineFn<In::Value>,
{
    combine_per_key(w, Mean)
}

impl<In, S, C> Leaf for CombinePerKey<In, S, C>
where
    S: Split<In>,
    S::Key: GroupKey,
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

    fn finish(self, locals: Vec<Self::Local>) -> crate::Result<Self::Output> {
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
pub fn group_by_key<In>(_: &Witness<In>) -> GroupByKey<In>
where
    In: KeyValue,
    In::Key: GroupKey,
{
    GroupByKey { hasher: KeyHasher::default(), _in: PhantomData }
}

impl<In> Leaf for GroupByKey<In>
where
    In: KeyValue,
    In::Key: GroupKey,
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

    fn finish(self, locals: Vec<Self::Local>) -> crate::Result<Self::Output> {
        let parts = merge_keyed(&self.hasher, locals, |values, other| values.extend(other), |k, v| (k, v));
        Ok(Collection::from_parts(parts))
    }
}
