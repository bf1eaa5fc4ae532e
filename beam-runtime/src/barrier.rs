//! Barriers: where a fused loop ends. A barrier is described, not executed: it says
//! what a worker does with each element that reaches it ([`Leaf::local`],
//! [`Leaf::push`]), and which of three shapes its workers' states take, each of
//! which a runner carries out its own way ([`Merge`]):
//!
//! - **keyed** ([`KeyedCombine`]): a state per key, created, added to, merged two at
//!   a time and extracted. The local runner merges the workers' tables partition
//!   by partition; a distributed runner exchanges them by key hash first; a
//!   windowed runner keys them by window too and extracts a window when it fires.
//! - **global** ([`GlobalCombine`]): one state per worker, merged into one.
//! - **per worker** ([`EachWorker`]): each worker's state is finished where it is:
//!   a part file flushed, the elements kept for a later loop or for `collect()`.
//!
//! A barrier that only reshapes another's output (`distinct` is a count per element
//! that keeps the elements; `top` a combine whose one output is a list) is that
//! barrier with a [`Reshape`].

use std::hash::Hash;

use crate::collection::Collection;
use crate::context::{Scope, Worker};
use crate::error::Result;
use crate::exchange::Exchangeable;
use crate::shuffle::{Batched, KeyedTables};
use crate::transform::timed::{SessionBarrier, SessionList, WindowAcc, WindowedBarrier};
use crate::window::{Accumulate, IntervalWindow, Windowed};

/// The end of a fused loop, as the loop and the runner see it.
#[doc(hidden)]
pub trait Leaf: Sync {
    /// The elements that reach it.
    type In;
    /// What one worker keeps while its loop runs.
    type Local: Send;
    /// The elements of its result.
    type Out: Send;

    /// Checks the stage's output before anything runs (an output directory that
    /// already exists, say).
    fn prepare(&self, _scope: &Scope) -> Result<()> {
        Ok(())
    }
    fn local(&self, worker: Worker) -> Self::Local;
    fn push(&self, local: &mut Self::Local, input: Self::In);
    /// The loop has run every element of a chunk: what the barrier still holds
    /// borrowed from it (keys lent by the source, waiting in a batch) is taken in
    /// now, before the source reuses its buffer.
    #[inline(always)]
    fn end_chunk(&self, _local: &mut Self::Local) {}
    /// Hands the states of the workers to `merge`, as the kind of barrier this is.
    fn finish<M: Merge>(&self, merge: &M, locals: Vec<Self::Local>) -> Result<Collection<Self::Out>>;
}

/// What a runner does with the workers' states of each shape of barrier.
#[doc(hidden)]
pub trait Merge {
    /// Merges per-key states: each key's states from every worker into one, which
    /// `combine` extracts into output elements.
    /// A distributed runner first sends each key's states to the process that
    /// owns the key's partition, so they must be [`Exchangeable`].
    fn keyed<C: KeyedCombine<Key: Exchangeable, Acc: Exchangeable>>(
        &self,
        combine: &C,
        workers: Vec<KeyedTables<C::Key, C::Acc>>,
    ) -> Result<Collection<C::Out>>;
    /// Merges the workers' states into one, which `combine` extracts (on one
    /// process, when several run the pipeline).
    fn global<C: GlobalCombine<Acc: Exchangeable>>(
        &self,
        combine: &C,
        workers: Vec<C::Acc>,
    ) -> Result<Collection<C::Out>>;
    /// Finishes each worker's state where it is.
    fn each_worker<E: EachWorker>(&self, each: &E, workers: Vec<E::Local>) -> Result<Collection<E::Out>>;
    /// Finishes each worker's state where it is, then gathers the results to
    /// one process (`collect()`'s, which `run()` returns on process 0).
    fn gathered<E: EachWorker<Out: Exchangeable>>(
        &self,
        each: &E,
        workers: Vec<E::Local>,
    ) -> Result<Collection<E::Out>>;
    /// Merges the per-window states of a grouping per window and fires its panes:
    /// at the end of a bounded input, every window once, on time; in a windowed
    /// runner, as the windowing's trigger says.
    #[allow(clippy::type_complexity)]
    fn windowed<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable>, M: Accumulate<C::Acc>>(
        &self,
        barrier: &WindowedBarrier<C, M>,
        workers: Vec<KeyedTables<(IntervalWindow, C::Key), WindowAcc<C::Acc>>>,
    ) -> Result<Collection<Windowed<C::Out>>>;
    /// Merges the per-key sessions of a grouping per session and fires them.
    fn sessions<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable>, M: Accumulate<C::Acc>>(
        &self,
        barrier: &SessionBarrier<C, M>,
        workers: Vec<KeyedTables<C::Key, SessionList<C::Acc>>>,
    ) -> Result<Collection<Windowed<C::Out>>>;
}

/// A keyed barrier: Beam's `CombineFn` per key, plus how an element splits into key
/// and value and how a key and its merged state become output elements.
#[doc(hidden)]
pub trait KeyedCombine: Sync {
    type In;
    type Key: Hash + Eq + Send;
    /// What one element adds to its key's state (held by the worker until added,
    /// see `Batched`).
    type Value: Send;
    /// The state of one key.
    type Acc: Send;
    type Out: Send;
    /// How an element borrowed from its loop's chunk splits into a key looked up as
    /// it is and a value (see [`SplitsAs`](crate::lent::SplitsAs)): `Elements`,
    /// `Pairs`, or `()` where the barrier takes only owned elements. A borrowed
    /// element is split by `SplitsAs`, not by [`split`](Self::split): say
    /// `Elements` or `Pairs` only where `split` is that plain split.
    type Splits;
    fn split(&self, input: Self::In) -> (Self::Key, Self::Value);
    fn create(&self) -> Self::Acc;
    fn add(&self, acc: &mut Self::Acc, value: Self::Value);
    fn merge(&self, acc: &mut Self::Acc, other: Self::Acc);
    fn extract(&self, key: Self::Key, acc: Self::Acc, emit: &mut impl FnMut(Self::Out));
}

/// A global barrier: one state for the whole input.
#[doc(hidden)]
pub trait GlobalCombine: Sync {
    type In;
    type Acc: Send;
    type Out: Send;
    /// A worker's empty state (`sample` seeds its random numbers by worker).
    fn create(&self, worker: Worker) -> Self::Acc;
    fn add(&self, acc: &mut Self::Acc, input: Self::In);
    fn merge(&self, acc: &mut Self::Acc, other: Self::Acc);
    fn extract(&self, acc: Self::Acc, emit: &mut impl FnMut(Self::Out));
}

/// A barrier whose workers' states are finished each where it is, never merged.
#[doc(hidden)]
pub trait EachWorker: Sync {
    type In;
    type Local: Send;
    type Out: Send;
    fn prepare(&self, _scope: &Scope) -> Result<()> {
        Ok(())
    }
    fn local(&self, worker: Worker) -> Self::Local;
    fn push(&self, local: &mut Self::Local, input: Self::In);
    /// One worker's part of the result. Bytes written are charged through `scope`.
    fn finish(&self, local: Self::Local, scope: &Scope) -> Result<Vec<Self::Out>>;
}

/// The leaf of a [`KeyedCombine`]: per worker, a table of states by key, split into
/// the shuffle's partitions.
#[doc(hidden)]
pub struct Keyed<C>(pub C);

impl<C: KeyedCombine<Key: Exchangeable, Acc: Exchangeable>> Leaf for Keyed<C> {
    type In = C::In;
    type Local = Batched<C::Key, C::Value, C::Acc>;
    type Out = C::Out;

    fn local(&self, _: Worker) -> Self::Local {
        Batched::new()
    }

    #[inline(always)]
    fn push(&self, local: &mut Self::Local, input: C::In) {
        let (key, value) = self.0.split(input);
        local.add(key, value, || self.0.create(), |acc, value| self.0.add(acc, value));
    }

    #[inline(always)]
    fn end_chunk(&self, local: &mut Self::Local) {
        local.flush_parked(|| self.0.create(), |acc, value| self.0.add(acc, value));
    }

    fn finish<M: Merge>(&self, merge: &M, locals: Vec<Self::Local>) -> Result<Collection<C::Out>> {
        let create = || self.0.create();
        let tables = locals.into_iter().map(|local| local.into_tables(create, |acc, value| self.0.add(acc, value)));
        merge.keyed(&self.0, tables.collect())
    }
}

/// The leaf of a [`GlobalCombine`]: one state per worker.
#[doc(hidden)]
pub struct Global<C>(pub C);

impl<C: GlobalCombine<Acc: Exchangeable>> Leaf for Global<C> {
    type In = C::In;
    type Local = C::Acc;
    type Out = C::Out;

    fn local(&self, worker: Worker) -> C::Acc {
        self.0.create(worker)
    }

    #[inline(always)]
    fn push(&self, local: &mut C::Acc, input: C::In) {
        self.0.add(local, input);
    }

    fn finish<M: Merge>(&self, merge: &M, locals: Vec<C::Acc>) -> Result<Collection<C::Out>> {
        merge.global(&self.0, locals)
    }
}

/// The leaf of an [`EachWorker`] barrier.
#[doc(hidden)]
pub struct PerWorker<E>(pub E);

impl<E: EachWorker> Leaf for PerWorker<E> {
    type In = E::In;
    type Local = E::Local;
    type Out = E::Out;

    fn prepare(&self, scope: &Scope) -> Result<()> {
        self.0.prepare(scope)
    }

    fn local(&self, worker: Worker) -> E::Local {
        self.0.local(worker)
    }

    #[inline(always)]
    fn push(&self, local: &mut E::Local, input: E::In) {
        self.0.push(local, input);
    }

    fn finish<M: Merge>(&self, merge: &M, locals: Vec<E::Local>) -> Result<Collection<E::Out>> {
        merge.each_worker(&self.0, locals)
    }
}

/// A barrier whose workers' results are gathered to one process: `collect()`.
#[doc(hidden)]
pub struct Gathered<E>(pub E);

impl<E: EachWorker<Out: Exchangeable>> Leaf for Gathered<E> {
    type In = E::In;
    type Local = E::Local;
    type Out = E::Out;

    fn local(&self, worker: Worker) -> E::Local {
        self.0.local(worker)
    }

    #[inline(always)]
    fn push(&self, local: &mut E::Local, input: E::In) {
        self.0.push(local, input);
    }

    fn finish<M: Merge>(&self, merge: &M, locals: Vec<E::Local>) -> Result<Collection<E::Out>> {
        merge.gathered(&self.0, locals)
    }
}

/// Another barrier whose every output element becomes the items `reshape` makes of
/// it: `distinct` keeps the element of each `(element, count)`, `top` spreads its
/// one list into its elements.
#[doc(hidden)]
pub struct Reshape<C, F> {
    pub inner: C,
    pub reshape: F,
}

impl<C, F, I> KeyedCombine for Reshape<C, F>
where
    C: KeyedCombine,
    F: Fn(C::Out) -> I + Sync,
    I: IntoIterator,
    I::Item: Send,
{
    type In = C::In;
    type Key = C::Key;
    type Value = C::Value;
    type Acc = C::Acc;
    type Out = I::Item;
    type Splits = C::Splits;

    #[inline(always)]
    fn split(&self, input: C::In) -> (C::Key, C::Value) {
        self.inner.split(input)
    }

    #[inline(always)]
    fn create(&self) -> C::Acc {
        self.inner.create()
    }

    #[inline(always)]
    fn add(&self, acc: &mut C::Acc, value: C::Value) {
        self.inner.add(acc, value);
    }

    fn merge(&self, acc: &mut C::Acc, other: C::Acc) {
        self.inner.merge(acc, other);
    }

    fn extract(&self, key: C::Key, acc: C::Acc, emit: &mut impl FnMut(I::Item)) {
        self.inner.extract(key, acc, &mut |out| (self.reshape)(out).into_iter().for_each(&mut *emit));
    }
}

impl<C, F, I> GlobalCombine for Reshape<C, F>
where
    C: GlobalCombine,
    F: Fn(C::Out) -> I + Sync,
    I: IntoIterator,
    I::Item: Send,
{
    type In = C::In;
    type Acc = C::Acc;
    type Out = I::Item;

    fn create(&self, worker: Worker) -> C::Acc {
        self.inner.create(worker)
    }

    #[inline(always)]
    fn add(&self, acc: &mut C::Acc, input: C::In) {
        self.inner.add(acc, input);
    }

    fn merge(&self, acc: &mut C::Acc, other: C::Acc) {
        self.inner.merge(acc, other);
    }

    fn extract(&self, acc: C::Acc, emit: &mut impl FnMut(I::Item)) {
        self.inner.extract(acc, &mut |out| (self.reshape)(out).into_iter().for_each(&mut *emit));
    }
}
