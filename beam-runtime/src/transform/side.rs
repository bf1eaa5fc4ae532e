//! Side inputs: a stage that reads another collection whole (`map_with(as_map(rates),
//! |order, rates| ...)`). The side collection is built into a map, list or single
//! value once, before the loop of the stage that reads it, and lent read-only to
//! every worker.

use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::OnceLock;

use crate::__private::{KeyValue, Stage, Witness};
use crate::collection::Collection;
use crate::error::{Error, ErrorKind, Result};

/// The map a side input read with `as_map` or `as_multimap` is handed as.
pub type SideMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Holds a side input's value from when its producer has run.
#[doc(hidden)]
pub struct SideSlot<S>(OnceLock<S>);

impl<S> SideSlot<S> {
    fn new() -> Self {
        SideSlot(OnceLock::new())
    }

    #[inline]
    fn get(&self) -> &S {
        self.0.get().expect("a side input is filled before the loop that reads it")
    }

    fn fill(&self, value: S) {
        let _ = self.0.set(value);
    }
}

#[doc(hidden)]
pub fn side_map<In: KeyValue>(_: Witness<In>) -> SideSlot<SideMap<In::Key, In::Value>> {
    SideSlot::new()
}

#[doc(hidden)]
pub fn side_multimap<In: KeyValue>(_: Witness<In>) -> SideSlot<SideMap<In::Key, Vec<In::Value>>> {
    SideSlot::new()
}

#[doc(hidden)]
pub fn side_list<T>(_: Witness<T>) -> SideSlot<Vec<T>> {
    SideSlot::new()
}

#[doc(hidden)]
pub fn side_singleton<T>(_: Witness<T>) -> SideSlot<T> {
    SideSlot::new()
}

/// `as_map`: every key once.
#[doc(hidden)]
pub fn fill_map<K: Hash + Eq, V>(slot: &SideSlot<SideMap<K, V>>, collection: Collection<(K, V)>) -> Result<()> {
    let mut map = SideMap::with_capacity_and_hasher(collection.len(), Default::default());
    for (key, value) in collection.into_vec() {
        if map.insert(key, value).is_some() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a side input read with `as_map` has a key twice; read it with `as_multimap` to keep every value",
            ));
        }
    }
    slot.fill(map);
    Ok(())
}

/// `as_multimap`: every value of every key.
#[doc(hidden)]
pub fn fill_multimap<K: Hash + Eq, V>(
    slot: &SideSlot<SideMap<K, Vec<V>>>,
    collection: Collection<(K, V)>,
) -> Result<()> {
    let mut map: SideMap<K, Vec<V>> = SideMap::default();
    for (key, value) in collection.into_vec() {
        map.entry(key).or_default().push(value);
    }
    slot.fill(map);
    Ok(())
}

/// `as_list`: every element, in no particular order.
#[doc(hidden)]
pub fn fill_list<T>(slot: &SideSlot<Vec<T>>, collection: Collection<T>) -> Result<()> {
    slot.fill(collection.into_vec());
    Ok(())
}

/// `as_singleton`: exactly one element.
#[doc(hidden)]
pub fn fill_singleton<T>(slot: &SideSlot<T>, collection: Collection<T>) -> Result<()> {
    let mut all = collection.into_vec();
    if all.len() != 1 {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("a side input read with `as_singleton` must hold exactly one element, but holds {}", all.len()),
        ));
    }
    slot.fill(all.pop().expect("one element"));
    Ok(())
}

macro_rules! side_stage {
    ($name:ident) => {
        #[doc(hidden)]
        pub struct $name<'s, F, In, S> {
            side: &'s SideSlot<S>,
            f: F,
            _in: PhantomData<fn(In)>,
        }
    };
}

side_stage!(MapWith);
side_stage!(FilterWith);
side_stage!(FlatMapWith);

/// `map_with(side, f)`: `f(x, &side)`.
pub fn map_with<'s, In, S, Out, F>(_: Witness<In>, side: &'s SideSlot<S>, f: F) -> (MapWith<'s, F, In, S>, Witness<Out>)
where
    F: Fn(In, &S) -> Out + Sync,
    S: Send + Sync,
{
    (MapWith { side, f, _in: PhantomData }, Witness::new())
}

impl<In, S: Send + Sync, Out, F: Fn(In, &S) -> Out + Sync> Stage for MapWith<'_, F, In, S> {
    type In = In;
    type Out = Out;
    #[inline(always)]
    fn process<E: FnMut(Out)>(&self, input: In, emit: &mut E) {
        emit((self.f)(input, self.side.get()))
    }
}

/// `filter_with(side, predicate)`: the elements for which `predicate(&x, &side)`.
pub fn filter_with<'s, In, S, F>(_: Witness<In>, side: &'s SideSlot<S>, f: F) -> (FilterWith<'s, F, In, S>, Witness<In>)
where
    F: Fn(&In, &S) -> bool + Sync,
    S: Send + Sync,
{
    (FilterWith { side, f, _in: PhantomData }, Witness::new())
}

impl<In, S: Send + Sync, F: Fn(&In, &S) -> bool + Sync> Stage for FilterWith<'_, F, In, S> {
    type In = In;
    type Out = In;
    #[inline(always)]
    fn process<E: FnMut(In)>(&self, input: In, emit: &mut E) {
        if (self.f)(&input, self.side.get()) {
            emit(input)
        }
    }
}

/// `flat_map_with(side, f)`: every item of `f(x, &side)`.
pub fn flat_map_with<'s, In, S, I, F>(
    _: Witness<In>,
    side: &'s SideSlot<S>,
    f: F,
) -> (FlatMapWith<'s, F, In, S>, Witness<I::Item>)
where
    F: Fn(In, &S) -> I + Sync,
    I: IntoIterator,
    S: Send + Sync,
{
    (FlatMapWith { side, f, _in: PhantomData }, Witness::new())
}

impl<In, S: Send + Sync, I: IntoIterator, F: Fn(In, &S) -> I + Sync> Stage for FlatMapWith<'_, F, In, S> {
    type In = In;
    type Out = I::Item;
    #[inline(always)]
    fn process<E: FnMut(I::Item)>(&self, input: In, emit: &mut E) {
        for item in (self.f)(input, self.side.get()) {
            emit(item)
        }
    }
}

/// The keys of the two inputs of a join are one type.
#[diagnostic::on_unimplemented(
    message = "the inputs of a join must be keyed by one type, but the left is keyed by `{Self}` and the right by `{K}`",
    label = "keys of different types"
)]
pub trait SameKey<K> {
    fn same(&self) -> &K;
}

impl<K> SameKey<K> for K {
    #[inline(always)]
    fn same(&self) -> &K {
        self
    }
}

// A second impl for every left key type keeps rustc from inferring the right key
// type from the left one, so a mismatch is reported by `SameKey`, in its words.
#[doc(hidden)]
pub struct NotAKey<K>(PhantomData<K>);

impl<K> SameKey<NotAKey<K>> for K {
    fn same(&self) -> &NotAKey<K> {
        unreachable!("no side input is keyed by `NotAKey`")
    }
}

/// The right input of a join: each key's first value in a plain map, as compact as
/// the map a hand-written join would build; the rare further values of a key in a
/// second map, looked at only when it is not empty.
#[doc(hidden)]
pub struct JoinTable<K, V> {
    first: SideMap<K, V>,
    more: SideMap<K, Vec<V>>,
}

impl<K: Hash + Eq, V> JoinTable<K, V> {
    /// The values of `key`.
    #[inline(always)]
    fn get<'a>(&'a self, key: &K) -> Option<impl Iterator<Item = &'a V> + use<'a, K, V>> {
        let first = self.first.get(key)?;
        let more = if self.more.is_empty() { None } else { self.more.get(key) };
        Some(std::iter::once(first).chain(more.into_iter().flatten()))
    }
}

#[doc(hidden)]
pub fn side_join_table<In: KeyValue>(_: Witness<In>) -> SideSlot<JoinTable<In::Key, In::Value>> {
    SideSlot::new()
}

#[doc(hidden)]
pub fn fill_join_table<K: Hash + Eq, V>(
    slot: &SideSlot<JoinTable<K, V>>,
    collection: Collection<(K, V)>,
) -> Result<()> {
    let mut table = JoinTable {
        first: SideMap::with_capacity_and_hasher(collection.len(), Default::default()),
        more: SideMap::default(),
    };
    for part in collection.into_parts() {
        for (key, value) in part {
            // Two lookups for a repeated key, but the key is moved, never cloned.
            #[allow(clippy::map_entry)]
            if table.first.contains_key(&key) {
                table.more.entry(key).or_default().push(value);
            } else {
                table.first.insert(key, value);
            }
        }
    }
    slot.fill(table);
    Ok(())
}

/// `(left, right) -> join()` and `left_join()`: a hash join; the right input is read
/// whole into a table, the left streams past it, fused with the stages around it.
#[doc(hidden)]
pub struct Join<'s, K, V1, K2, V2, const LEFT: bool> {
    right: &'s SideSlot<JoinTable<K2, V2>>,
    _in: PhantomData<fn(K, V1)>,
}

fn hash_join<K, V1, K2, V2, const LEFT: bool>(right: &SideSlot<JoinTable<K2, V2>>) -> Join<'_, K, V1, K2, V2, LEFT> {
    Join { right, _in: PhantomData }
}

/// Looks up every key of a chunk once, results unused, so the table's memory for
/// the chunk is in cache when the join probes it element by element.
fn look_ahead<K: SameKey<K2>, V1, K2: Hash + Eq, V2>(right: &SideSlot<JoinTable<K2, V2>>, chunk: &[(K, V1)]) {
    if let Some(table) = right.0.get() {
        let mut found = 0usize;
        for (key, _) in chunk {
            found += usize::from(table.first.contains_key(key.same()));
        }
        std::hint::black_box(found);
    }
}

/// `join()`: `(k, (v1, v2))` for every `v1` of `k` on the left and `v2` on the right.
#[allow(clippy::type_complexity)]
pub fn join<K, V1, K2, V2>(
    _: Witness<(K, V1)>,
    right: &SideSlot<JoinTable<K2, V2>>,
) -> (Join<'_, K, V1, K2, V2, false>, Witness<(K, (V1, V2))>)
where
    K: SameKey<K2>,
{
    (hash_join(right), Witness::new())
}

/// `left_join()`: `(k, (v1, Some(v2)))` for every match, `(k, (v1, None))` for a
/// left value whose key the right input does not have.
#[allow(clippy::type_complexity)]
pub fn left_join<K, V1, K2, V2>(
    _: Witness<(K, V1)>,
    right: &SideSlot<JoinTable<K2, V2>>,
) -> (Join<'_, K, V1, K2, V2, true>, Witness<(K, (V1, Option<V2>))>)
where
    K: SameKey<K2>,
{
    (hash_join(right), Witness::new())
}

impl<K, V1, K2, V2> Stage for Join<'_, K, V1, K2, V2, false>
where
    K: SameKey<K2> + Clone,
    V1: Clone,
    K2: Hash + Eq + Send + Sync,
    V2: Clone + Send + Sync,
{
    type In = (K, V1);
    type Out = (K, (V1, V2));
    fn look_ahead(&self, chunk: &[(K, V1)]) {
        look_ahead(self.right, chunk);
    }
    #[inline(always)]
    fn process<E: FnMut(Self::Out)>(&self, (key, left): (K, V1), emit: &mut E) {
        if let Some(rights) = self.right.get().get(key.same()) {
            for right in rights {
                emit((key.clone(), (left.clone(), right.clone())));
            }
        }
    }
}

impl<K, V1, K2, V2> Stage for Join<'_, K, V1, K2, V2, true>
where
    K: SameKey<K2> + Clone,
    V1: Clone,
    K2: Hash + Eq + Send + Sync,
    V2: Clone + Send + Sync,
{
    type In = (K, V1);
    type Out = (K, (V1, Option<V2>));
    fn look_ahead(&self, chunk: &[(K, V1)]) {
        look_ahead(self.right, chunk);
    }
    #[inline(always)]
    fn process<E: FnMut(Self::Out)>(&self, (key, left): (K, V1), emit: &mut E) {
        match self.right.get().get(key.same()) {
            Some(rights) => {
                for right in rights {
                    emit((key.clone(), (left.clone(), Some(right.clone()))));
                }
            }
            None => emit((key, (left, None))),
        }
    }
}
