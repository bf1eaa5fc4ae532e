//! A segment as a value: what the generated code hands the runner for each fused
//! loop. Inputs, side inputs and barriers are lists of runtime types that each
//! keep their own element types, so the runner reaches them with static dispatch.

use crate::__private::DeadLetterSource;
use crate::barrier::Leaf;
use crate::collection::Collection;
use crate::context::{Context, Scope, StageCell, Worker};
use crate::error::Result;
use crate::exchange::Exchangeable;
use crate::io::records::BadRecord;
use crate::runner::held::KeyedElement;
use crate::runner::held::{Discard, Held, ReadHeld};
use crate::runner::{Item, Segment};
use crate::source::{CollectionSource, Source};
use crate::transform::timed::LateOutput;

/// Where a segment's elements come from.
#[doc(hidden)]
pub trait Input: Sync {
    type Source: Source;
    /// Checks the input before anything runs (files exist, headers match).
    fn prepare(&self, _ctx: &Context) -> Result<()> {
        Ok(())
    }
    /// The source the loop pulls chunks from; what it reads of earlier segments'
    /// results, it reads through `held`. Runs as a task of the input stage.
    fn open<R: ReadHeld>(&self, held: &R, scope: &Scope) -> Result<Self::Source>;
    /// After the loop: what the input made besides its elements (a source's bad
    /// records).
    fn after_loop(&self, _ctx: &Context) -> Result<()> {
        Ok(())
    }
}

/// A source stage, run by the loop.
#[doc(hidden)]
pub struct SourceInput<'a, S> {
    stage: usize,
    source: &'a S,
}

impl<'a, S> SourceInput<'a, S> {
    pub fn new(stage: usize, source: &'a S) -> Self {
        SourceInput { stage, source }
    }
}

impl<'a, S: Source> Input for SourceInput<'a, S> {
    type Source = &'a S;

    fn prepare(&self, ctx: &Context) -> Result<()> {
        ctx.task(self.stage, |_| self.source.prepare(ctx))?;
        ctx.source_prepared(self.source);
        Ok(())
    }

    fn open<R: ReadHeld>(&self, _: &R, _: &Scope) -> Result<&'a S> {
        Ok(self.source)
    }
}

/// A source stage whose bad records go to a dead-letter output:
/// `(rows, bad) = read_csv(..)`.
#[doc(hidden)]
pub struct SourceWithBadRecords<'a, S> {
    input: SourceInput<'a, S>,
    bad: &'a Held<BadRecord>,
}

impl<'a, S> SourceWithBadRecords<'a, S> {
    pub fn new(stage: usize, source: &'a S, bad: &'a Held<BadRecord>) -> Self {
        SourceWithBadRecords { input: SourceInput::new(stage, source), bad }
    }
}

impl<'a, S: Source + DeadLetterSource> Input for SourceWithBadRecords<'a, S> {
    type Source = &'a S;

    fn prepare(&self, ctx: &Context) -> Result<()> {
        self.input.prepare(ctx)
    }

    fn open<R: ReadHeld>(&self, held: &R, scope: &Scope) -> Result<&'a S> {
        self.input.open(held, scope)
    }

    fn after_loop(&self, ctx: &Context) -> Result<()> {
        let bad = self.input.source.bad_records();
        ctx.output_size(self.bad.stage(), bad.len() as u64);
        self.bad.put(bad);
        Ok(())
    }
}

/// The held result of an earlier segment: a barrier's output, or a collection read
/// again by a second pass.
#[doc(hidden)]
pub struct HeldInput<'a, T> {
    held: &'a Held<T>,
}

impl<'a, T> HeldInput<'a, T> {
    pub fn new(held: &'a Held<T>) -> Self {
        HeldInput { held }
    }
}

impl<T: Send> Input for HeldInput<'_, T> {
    type Source = CollectionSource<T>;

    fn open<R: ReadHeld>(&self, held: &R, _: &Scope) -> Result<CollectionSource<T>> {
        Ok(CollectionSource::new(held.read(self.held)?))
    }
}

/// `(a, b) -> flatten()`: the held collections of its inputs, one after another.
#[doc(hidden)]
pub struct FlattenInput<'a, T> {
    inputs: Vec<&'a Held<T>>,
}

impl<'a, T> FlattenInput<'a, T> {
    pub fn new(inputs: Vec<&'a Held<T>>) -> Self {
        FlattenInput { inputs }
    }
}

impl<T: Send> Input for FlattenInput<'_, T> {
    type Source = CollectionSource<T>;

    fn open<R: ReadHeld>(&self, held: &R, _: &Scope) -> Result<CollectionSource<T>> {
        let collections = self.inputs.iter().map(|input| held.read(input)).collect::<Result<Vec<_>>>()?;
        Ok(CollectionSource::new(Collection::concat(collections)))
    }
}

/// `(a, b) -> co_group_by_key()` and `outer_join()`: the held collections of its
/// inputs, grouped by key by `group`, which spreads its work with the scope (and
/// may fail: a grouping per window runs the user's combining and triggers).
#[doc(hidden)]
pub struct GroupInput<H, F> {
    inputs: H,
    group: F,
}

impl<H, F> GroupInput<H, F> {
    pub fn new<S>(inputs: H, group: F) -> Self
    where
        H: HeldTuple,
        F: Fn(H::Collections, &Scope) -> Result<S> + Sync,
    {
        GroupInput { inputs, group }
    }
}

impl<H, F, S> Input for GroupInput<H, F>
where
    H: HeldTuple,
    F: Fn(H::Collections, &Scope) -> Result<S> + Sync,
    S: Source,
{
    type Source = S;

    fn open<R: ReadHeld>(&self, held: &R, scope: &Scope) -> Result<S> {
        (self.group)(self.inputs.read_all(held)?, scope)
    }
}

/// A tuple of held collections of several types, read together.
#[doc(hidden)]
pub trait HeldTuple: Sync {
    type Collections;
    fn read_all<R: ReadHeld>(&self, held: &R) -> Result<Self::Collections>;
}

macro_rules! held_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Send + Exchangeable + KeyedElement),+> HeldTuple for ($(&Held<$t>,)+) {
            type Collections = ($(Collection<$t>,)+);
            fn read_all<R: ReadHeld>(&self, held: &R) -> Result<Self::Collections> {
                Ok(($(held.read_by_key(self.$i)?,)+))
            }
        }
    };
}

held_tuple!(A 0, B 1);
held_tuple!(A 0, B 1, C 2);
held_tuple!(A 0, B 1, C 2, D 3);
held_tuple!(A 0, B 1, C 2, D 3, E 4);
held_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);

/// A side input of stage `stage`: a held collection, built into a map, list or
/// single value by `fill` before the loop.
#[doc(hidden)]
pub struct SideFill<'a, T, F> {
    stage: usize,
    from: &'a Held<T>,
    fill: F,
}

impl<'a, T, F> SideFill<'a, T, F> {
    pub fn new(stage: usize, from: &'a Held<T>, fill: F) -> Self {
        SideFill { stage, from, fill }
    }
}

/// The side inputs of a segment's stages: a list `(first, (second, (.., ())))`.
#[doc(hidden)]
pub trait Sides: Sync {
    /// Builds every side input from the held collection it reads.
    fn fill<R: ReadHeld>(&self, ctx: &Context, held: &R) -> Result<()>;
}

impl Sides for () {
    fn fill<R: ReadHeld>(&self, _: &Context, _: &R) -> Result<()> {
        Ok(())
    }
}

impl<T, F, Rest> Sides for (SideFill<'_, T, F>, Rest)
where
    T: Send + Exchangeable,
    F: Fn(Collection<T>) -> Result<()> + Sync,
    Rest: Sides,
{
    fn fill<R: ReadHeld>(&self, ctx: &Context, held: &R) -> Result<()> {
        let side = &self.0;
        // Reading may copy the collection (user `Clone`s): the reading stage's work.
        ctx.task(side.stage, |_| (side.fill)(held.read_everywhere(side.from)?))?;
        self.1.fill(ctx, held)
    }
}

/// Where a barrier's result goes: a [`Held`] collection for later segments (or for
/// `run()`'s output), or nowhere ([`Discard`]).
#[doc(hidden)]
pub trait Destination<T>: Sync {
    fn put(&self, collection: Collection<T>);
    /// Adds to what is there (a tick's result to the earlier ticks').
    fn append(&self, collection: Collection<T>);
}

impl<T: Send> Destination<T> for Held<T> {
    fn put(&self, collection: Collection<T>) {
        Held::put(self, collection);
    }

    fn append(&self, collection: Collection<T>) {
        Held::append(self, collection);
    }
}

impl<T> Destination<T> for Discard {
    fn put(&self, _: Collection<T>) {}

    fn append(&self, _: Collection<T>) {}
}

/// A barrier of stage `stage`, where its result goes, and where what it receives
/// too late goes (a grouping per window's late output, or nowhere).
#[doc(hidden)]
pub struct LeafTo<'a, L, D, T = NoLate> {
    stage: usize,
    leaf: &'a L,
    to: &'a D,
    late: T,
}

impl<'a, L, D> LeafTo<'a, L, D> {
    pub fn new(stage: usize, leaf: &'a L, to: &'a D) -> Self {
        LeafTo { stage, leaf, to, late: NoLate }
    }

    /// The same barrier, sending what it receives too late to `late`.
    pub fn with_late<T>(self, late: &'a Held<T>) -> LeafTo<'a, L, D, &'a Held<T>> {
        LeafTo { stage: self.stage, leaf: self.leaf, to: self.to, late }
    }
}

/// A barrier without a late output.
#[doc(hidden)]
pub struct NoLate;

/// Where a barrier's late data goes after each run of its segment.
#[doc(hidden)]
pub trait LateDestination<L>: Sync {
    fn deliver(&self, leaf: &L);
}

impl<L> LateDestination<L> for NoLate {
    fn deliver(&self, _: &L) {}
}

impl<L: LateOutput> LateDestination<L> for &Held<L::Late> {
    fn deliver(&self, leaf: &L) {
        self.append(Collection::from_parts(vec![leaf.take_late()]));
    }
}

/// What a runner does with one barrier once every worker's loop is done.
#[doc(hidden)]
pub trait FinishLeaf {
    fn finish<L: Leaf, D: Destination<L::Out>>(
        &self,
        stage: usize,
        leaf: &L,
        to: &D,
        locals: Vec<L::Local>,
    ) -> Result<()>;
}

/// The barriers a segment ends in: a list `(first, (second, (.., ())))`.
#[doc(hidden)]
pub trait Leaves: Sync {
    /// One worker's states of every barrier, as a list of the same shape.
    type Locals: Send;
    fn prepare(&self, ctx: &Context) -> Result<()>;
    /// Each barrier's state for `worker`. Making one may run user code (a
    /// combiner's `create_accumulator`): `stage` is set to the barrier's first.
    fn locals(&self, worker: Worker, stage: &StageCell) -> Self::Locals;
    /// See [`Leaf::end_chunk`].
    fn end_chunk(&self, locals: &mut Self::Locals);
    fn finish<F: FinishLeaf>(&self, finish: &F, locals: Vec<Self::Locals>) -> Result<()>;
}

impl Leaves for () {
    type Locals = ();

    fn prepare(&self, _: &Context) -> Result<()> {
        Ok(())
    }

    fn locals(&self, _: Worker, _: &StageCell) {}

    #[inline(always)]
    fn end_chunk(&self, _: &mut ()) {}

    fn finish<F: FinishLeaf>(&self, _: &F, _: Vec<()>) -> Result<()> {
        Ok(())
    }
}

impl<L, D, T, Rest> Leaves for (LeafTo<'_, L, D, T>, Rest)
where
    L: Leaf,
    D: Destination<L::Out>,
    T: LateDestination<L>,
    Rest: Leaves,
{
    type Locals = (L::Local, Rest::Locals);

    fn prepare(&self, ctx: &Context) -> Result<()> {
        ctx.task(self.0.stage, |scope| self.0.leaf.prepare(scope))?;
        self.1.prepare(ctx)
    }

    fn locals(&self, worker: Worker, stage: &StageCell) -> Self::Locals {
        stage.set(self.0.stage);
        (self.0.leaf.local(worker), self.1.locals(worker, stage))
    }

    #[inline(always)]
    fn end_chunk(&self, locals: &mut Self::Locals) {
        self.0.leaf.end_chunk(&mut locals.0);
        self.1.end_chunk(&mut locals.1);
    }

    fn finish<F: FinishLeaf>(&self, finish: &F, locals: Vec<Self::Locals>) -> Result<()> {
        let (mine, rest): (Vec<L::Local>, Vec<Rest::Locals>) = locals.into_iter().unzip();
        finish.finish(self.0.stage, self.0.leaf, self.0.to, mine)?;
        self.0.late.deliver(self.0.leaf);
        self.1.finish(finish, rest)
    }
}

/// A segment as the generated code makes it; see [`segment`].
#[doc(hidden)]
pub struct SegmentDef<I, S, L, Init, Ahead, Body, const N: usize> {
    index: usize,
    input: I,
    sides: S,
    leaves: L,
    aheads: Init,
    look_ahead: Ahead,
    body: Body,
}

/// The segment with index `index` in the plan: it reads `input`, fills `sides`
/// before its loop, and ends in `leaves`. Per worker, `aheads` makes what its
/// look-ahead stages keep, `look_ahead` runs once per chunk, and `body`, the fused
/// stages, once per element, counting into one of `N` counts per counted stage.
#[doc(hidden)]
pub fn segment<I, S, L, A, Init, Ahead, Body, const N: usize>(
    index: usize,
    input: I,
    sides: S,
    leaves: L,
    aheads: Init,
    look_ahead: Ahead,
    body: Body,
) -> SegmentDef<I, S, L, Init, Ahead, Body, N>
where
    I: Input,
    S: Sides,
    L: Leaves,
    A: Send,
    Init: Fn() -> A + Sync,
    Ahead: Fn(&mut (L::Locals, A), &[<I::Source as Source>::Item]) + Sync,
    Body: Fn(&mut (L::Locals, A), <I::Source as Source>::Item, &StageCell, &mut [u64; N]) + Sync,
{
    SegmentDef { index, input, sides, leaves, aheads, look_ahead, body }
}

impl<I, S, L, A, Init, Ahead, Body, const N: usize> Segment for SegmentDef<I, S, L, Init, Ahead, Body, N>
where
    I: Input,
    S: Sides,
    L: Leaves,
    A: Send,
    Init: Fn() -> A + Sync,
    Ahead: Fn(&mut (L::Locals, A), &[<I::Source as Source>::Item]) + Sync,
    Body: Fn(&mut (L::Locals, A), <I::Source as Source>::Item, &StageCell, &mut [u64; N]) + Sync,
{
    type Input = I;
    type Sides = S;
    type Leaves = L;
    type State = (L::Locals, A);
    type Counts = [u64; N];

    fn index(&self) -> usize {
        self.index
    }

    fn input(&self) -> &I {
        &self.input
    }

    fn sides(&self) -> &S {
        &self.sides
    }

    fn leaves(&self) -> &L {
        &self.leaves
    }

    fn worker(&self, worker: Worker, stage: &StageCell) -> Self::State {
        (self.leaves.locals(worker, stage), (self.aheads)())
    }

    fn counts(&self) -> [u64; N] {
        [0; N]
    }

    #[inline(always)]
    fn look_ahead(&self, state: &mut Self::State, chunk: &[Item<Self>]) {
        (self.look_ahead)(state, chunk)
    }

    #[inline(always)]
    fn process(&self, state: &mut Self::State, element: Item<Self>, stage: &StageCell, counts: &mut [u64; N]) {
        (self.body)(state, element, stage, counts)
    }

    #[inline(always)]
    fn end_chunk(&self, state: &mut Self::State) {
        self.leaves.end_chunk(&mut state.0);
    }

    fn into_leaf_states(states: Vec<Self::State>) -> Vec<L::Locals> {
        states.into_iter().map(|(leaves, _)| leaves).collect()
    }
}
