//! Keyed transforms: pre-combined (or scattered) by key inside the fused loop, then
//! shuffled by key hash. See [`crate::shuffle`].

// The return types spell out the key and state types, which a grouping per
// window needs to see.
#![allow(clippy::type_complexity)]

use crate::exchange::Exchangeable;
use std::marker::PhantomData;

use std::hash::Hash;

use crate::__private::{GroupKey, KeyValue, Witness};
use crate::barrier::{Keyed, KeyedCombine, Reshape};
use crate::combine::{CombineFn, Count};

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
    _split: PhantomData<fn(In) -> S>,
}

fn keyed_combine<In, S, C>(combiner: C) -> CombinePerKey<In, S, C> {
    CombinePerKey { combiner, _split: PhantomData }
}

// `count_per_key`, `sum_per_key` and the like are `combine_per_key` with a built-in
// combiner (see the macro's registry).

/// `combine_per_key(c)`: `(k, c's output over all values of k)` for every key.
pub fn combine_per_key<In, C>(
    _: Witness<In>,
    combiner: C,
) -> Keyed<
    impl KeyedCombine<In = In, Key = In::Key, Acc = C::Acc, Out = (In::Key, C::Out), Splits = Pairs, Value = In::Value>,
>
where
    In: KeyValue,
    In::Value: Send,
    In::Key: GroupKey + Exchangeable,
    C: CombineFn<In::Value, Acc: Exchangeable>,
{
    Keyed(keyed_combine::<In, Pairs, C>(combiner))
}

/// `reduce_per_key(f)`: `(k, f(f(v1, v2), v3)..)`, the values of each key combined
/// by `f` ([`Reduce`](crate::combine::Reduce)). A separate function so that `f`'s
/// argument types come from the values: `reduce_per_key(|a, b| a + b)`.
pub fn reduce_per_key<In, F>(
    input: Witness<In>,
    f: F,
) -> Keyed<
    impl KeyedCombine<
        In = In,
        Key = In::Key,
        Acc: Exchangeable,
        Out = (In::Key, In::Value),
        Splits = Pairs,
        Value = In::Value,
    >,
>
where
    In: KeyValue,
    In::Value: Send + Exchangeable,
    In::Key: GroupKey + Exchangeable,
    F: Fn(In::Value, In::Value) -> In::Value + Sync,
{
    combine_per_key(input, crate::combine::Reduce(f))
}

/// `count_per_element()`: `(x, how many times x occurs)`.
pub fn count_per_element<T>(
    _: Witness<T>,
) -> Keyed<impl KeyedCombine<In = T, Key = T, Acc = u64, Out = (T, u64), Splits = Elements, Value = ()>>
where
    T: GroupKey + Exchangeable,
{
    Keyed(keyed_combine::<T, Elements, Count>(Count))
}

impl<In, S, C> KeyedCombine for CombinePerKey<In, S, C>
where
    S: Split<In, Value: Send>,
    S::Key: Hash + Eq + Send,
    C: CombineFn<S::Value>,
{
    type In = In;
    type Key = S::Key;
    type Value = S::Value;
    type Acc = C::Acc;
    type Out = (S::Key, C::Out);
    type Splits = S;

    #[inline(always)]
    fn split(&self, input: In) -> (S::Key, S::Value) {
        S::split(input)
    }

    #[inline(always)]
    fn create(&self) -> C::Acc {
        self.combiner.create_accumulator()
    }

    #[inline(always)]
    fn add(&self, acc: &mut C::Acc, value: S::Value) {
        self.combiner.add_input(acc, value);
    }

    fn merge(&self, acc: &mut C::Acc, other: C::Acc) {
        self.combiner.merge_accumulators(acc, other);
    }

    fn extract(&self, key: S::Key, acc: C::Acc, emit: &mut impl FnMut(Self::Out)) {
        emit((key, self.combiner.extract_output(acc)));
    }
}

/// `group_by_key()`: `(k, every value of k)`. Values are not pre-combined, so prefer
/// `combine_per_key` when the group is only folded afterwards.
#[doc(hidden)]
pub struct GroupByKey<In>(PhantomData<fn(In)>);

/// `group_by_key()`: `(k, Vec of k's values)`.
pub fn group_by_key<In>(
    _: Witness<In>,
) -> Keyed<
    impl KeyedCombine<
        In = In,
        Key = In::Key,
        Acc = Vec<In::Value>,
        Out = (In::Key, Vec<In::Value>),
        Splits = Pairs,
        Value = In::Value,
    >,
>
where
    In: KeyValue,
    In::Key: GroupKey + Exchangeable,
    In::Value: Send + Exchangeable,
{
    Keyed(GroupByKey(PhantomData))
}

impl<In> KeyedCombine for GroupByKey<In>
where
    In: KeyValue,
    In::Key: Hash + Eq + Send,
    In::Value: Send,
{
    type In = In;
    type Key = In::Key;
    type Value = In::Value;
    type Acc = Vec<In::Value>;
    type Splits = Pairs;
    type Out = (In::Key, Vec<In::Value>);

    #[inline(always)]
    fn split(&self, input: In) -> (In::Key, In::Value) {
        input.into_pair()
    }

    #[inline(always)]
    fn create(&self) -> Vec<In::Value> {
        Vec::new()
    }

    #[inline(always)]
    fn add(&self, values: &mut Vec<In::Value>, value: In::Value) {
        values.push(value);
    }

    fn merge(&self, values: &mut Vec<In::Value>, other: Vec<In::Value>) {
        values.extend(other);
    }

    fn extract(&self, key: In::Key, values: Vec<In::Value>, emit: &mut impl FnMut(Self::Out)) {
        emit((key, values));
    }
}

/// `distinct()`: every distinct element once: a count per element that keeps the
/// elements.
pub fn distinct<T: GroupKey + Exchangeable>(
    _: Witness<T>,
) -> Keyed<impl KeyedCombine<In = T, Key = T, Acc = u64, Out = T, Splits = Elements, Value = ()>> {
    let counted = keyed_combine::<T, Elements, Count>(Count);
    Keyed(Reshape { inner: counted, reshape: |(element, _count): (T, u64)| Some(element) })
}

/// `top_per_key(n, key)`: for every key, its `n` values with the largest `key(&v)`,
/// largest first.
pub fn top_per_key<In, R, F>(
    w: Witness<In>,
    n: usize,
    key: F,
) -> Keyed<
    impl KeyedCombine<
        In = In,
        Key = In::Key,
        Acc = <crate::combine::Top<F> as CombineFn<In::Value>>::Acc,
        Out = (In::Key, Vec<In::Value>),
    >,
>
where
    In: KeyValue,
    In::Key: GroupKey + Exchangeable,
    In::Value: Send + Exchangeable,
    F: Fn(&In::Value) -> R + Sync,
    R: crate::__private::RankKey + Exchangeable,
{
    combine_per_key(w, crate::combine::Top::by(n, key))
}
