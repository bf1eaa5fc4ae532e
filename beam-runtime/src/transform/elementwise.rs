//! Element-wise transforms: fused into the loop of their segment.

use std::marker::PhantomData;

use crate::__private::{KeyValue, Stage, Witness};

macro_rules! stage_struct {
    ($name:ident) => {
        #[doc(hidden)]
        pub struct $name<F, In> {
            f: F,
            _in: PhantomData<fn(In)>,
        }
        impl<F, In> $name<F, In> {
            fn new(f: F) -> Self {
                $name { f, _in: PhantomData }
            }
        }
    };
}

stage_struct!(Map);
stage_struct!(FlatMap);
stage_struct!(Filter);
stage_struct!(FilterMap);
stage_struct!(Inspect);
stage_struct!(KeyBy);
stage_struct!(MapValues);

/// `map(f)`: one output per input.
pub fn map<In, Out, F>(_: Witness<In>, f: F) -> (impl Stage<In = In, Out = Out>, Witness<Out>)
where
    F: Fn(In) -> Out + Sync,
{
    (Map::new(f), Witness::new())
}

impl<In, Out, F: Fn(In) -> Out + Sync> Stage for Map<F, In> {
    type In = In;
    type Out = Out;
    #[inline(always)]
    fn process<E: FnMut(Out)>(&self, input: In, emit: &mut E) {
        emit((self.f)(input))
    }
}

/// `flat_map(f)`: every item of the `IntoIterator` that `f` returns.
pub fn flat_map<In, I, F>(_: Witness<In>, f: F) -> (impl Stage<In = In, Out = I::Item>, Witness<I::Item>)
where
    F: Fn(In) -> I + Sync,
    I: IntoIterator,
{
    (FlatMap::new(f), Witness::new())
}

impl<In, I: IntoIterator, F: Fn(In) -> I + Sync> Stage for FlatMap<F, In> {
    type In = In;
    type Out = I::Item;
    #[inline(always)]
    fn process<E: FnMut(I::Item)>(&self, input: In, emit: &mut E) {
        for item in (self.f)(input) {
            emit(item)
        }
    }
}

/// `filter(f)`: the inputs for which `f(&x)` is true.
pub fn filter<In, F>(_: Witness<In>, f: F) -> (impl Stage<In = In, Out = In>, Witness<In>)
where
    F: Fn(&In) -> bool + Sync,
{
    (Filter::new(f), Witness::new())
}

impl<In, F: Fn(&In) -> bool + Sync> Stage for Filter<F, In> {
    type In = In;
    type Out = In;
    #[inline(always)]
    fn process<E: FnMut(In)>(&self, input: In, emit: &mut E) {
        if (self.f)(&input) {
            emit(input)
        }
    }
}

/// `filter_map(f)`: the `Some` results of `f`.
pub fn filter_map<In, Out, F>(_: Witness<In>, f: F) -> (impl Stage<In = In, Out = Out>, Witness<Out>)
where
    F: Fn(In) -> Option<Out> + Sync,
{
    (FilterMap::new(f), Witness::new())
}

impl<In, Out, F: Fn(In) -> Option<Out> + Sync> Stage for FilterMap<F, In> {
    type In = In;
    type Out = Out;
    #[inline(always)]
    fn process<E: FnMut(Out)>(&self, input: In, emit: &mut E) {
        if let Some(out) = (self.f)(input) {
            emit(out)
        }
    }
}

/// `inspect(f)`: calls `f(&x)` and passes `x` on unchanged.
pub fn inspect<In, F>(_: Witness<In>, f: F) -> (impl Stage<In = In, Out = In>, Witness<In>)
where
    F: Fn(&In) + Sync,
{
    (Inspect::new(f), Witness::new())
}

impl<In, F: Fn(&In) + Sync> Stage for Inspect<F, In> {
    type In = In;
    type Out = In;
    #[inline(always)]
    fn process<E: FnMut(In)>(&self, input: In, emit: &mut E) {
        (self.f)(&input);
        emit(input)
    }
}

/// `key_by(f)`: `(f(&x), x)`.
pub fn key_by<In, K, F>(_: Witness<In>, f: F) -> (impl Stage<In = In, Out = (K, In)>, Witness<(K, In)>)
where
    F: Fn(&In) -> K + Sync,
{
    (KeyBy::new(f), Witness::new())
}

impl<In, K, F: Fn(&In) -> K + Sync> Stage for KeyBy<F, In> {
    type In = In;
    type Out = (K, In);
    #[inline(always)]
    fn process<E: FnMut((K, In))>(&self, input: In, emit: &mut E) {
        emit(((self.f)(&input), input))
    }
}

/// `map_values(f)`: `(k, f(v))` for every `(k, v)`.
#[allow(clippy::type_complexity)]
pub fn map_values<In, W, F>(_: Witness<In>, f: F) -> (impl Stage<In = In, Out = (In::Key, W)>, Witness<(In::Key, W)>)
where
    In: KeyValue,
    F: Fn(In::Value) -> W + Sync,
{
    (MapValues::new(f), Witness::new())
}

impl<In: KeyValue, W, F: Fn(In::Value) -> W + Sync> Stage for MapValues<F, In> {
    type In = In;
    type Out = (In::Key, W);
    #[inline(always)]
    fn process<E: FnMut(Self::Out)>(&self, input: In, emit: &mut E) {
        let (key, value) = input.into_pair();
        emit((key, (self.f)(value)))
    }
}

/// `keys()` and `values()`: one half of every `(k, v)`.
#[doc(hidden)]
pub struct Half<In, const KEY: bool>(PhantomData<fn(In)>);

/// `keys()`: the `k` of every `(k, v)`.
pub fn keys<In: KeyValue>(_: Witness<In>) -> (impl Stage<In = In, Out = In::Key>, Witness<In::Key>) {
    (Half::<In, true>(PhantomData), Witness::new())
}

/// `values()`: the `v` of every `(k, v)`.
pub fn values<In: KeyValue>(_: Witness<In>) -> (impl Stage<In = In, Out = In::Value>, Witness<In::Value>) {
    (Half::<In, false>(PhantomData), Witness::new())
}

impl<In: KeyValue> Stage for Half<In, true> {
    type In = In;
    type Out = In::Key;
    #[inline(always)]
    fn process<E: FnMut(In::Key)>(&self, input: In, emit: &mut E) {
        emit(input.into_pair().0)
    }
}

impl<In: KeyValue> Stage for Half<In, false> {
    type In = In;
    type Out = In::Value;
    #[inline(always)]
    fn process<E: FnMut(In::Value)>(&self, input: In, emit: &mut E) {
        emit(input.into_pair().1)
    }
}

/// `kv_swap()`: `(v, k)` for every `(k, v)`.
#[doc(hidden)]
pub struct KvSwap<In>(PhantomData<fn(In)>);

#[allow(clippy::type_complexity)]
pub fn kv_swap<In: KeyValue>(
    _: Witness<In>,
) -> (impl Stage<In = In, Out = (In::Value, In::Key)>, Witness<(In::Value, In::Key)>) {
    (KvSwap::<In>(PhantomData), Witness::new())
}

impl<In: KeyValue> Stage for KvSwap<In> {
    type In = In;
    type Out = (In::Value, In::Key);
    #[inline(always)]
    fn process<E: FnMut(Self::Out)>(&self, input: In, emit: &mut E) {
        let (k, v) = input.into_pair();
        emit((v, k))
    }
}

/// `partition(n, f)`: each element, with the index `f(&x)` of the output it goes to.
#[doc(hidden)]
pub struct Partition<F, In> {
    n: usize,
    f: F,
    _in: PhantomData<fn(In)>,
}

pub fn partition<In, F>(_: Witness<In>, n: usize, f: F) -> (Partition<F, In>, Witness<In>)
where
    F: Fn(&In) -> usize + Sync,
{
    (Partition { n, f, _in: PhantomData }, Witness::new())
}

impl<In, F: Fn(&In) -> usize + Sync> Stage for Partition<F, In> {
    type In = In;
    type Out = (usize, In);
    #[inline(always)]
    fn process<E: FnMut((usize, In))>(&self, input: In, emit: &mut E) {
        let index = (self.f)(&input);
        // A panic here is reported as the stage's error, like any in user code.
        assert!(index < self.n, "the partition function returned {index}, but there are only {} outputs", self.n);
        emit((index, input))
    }
}
