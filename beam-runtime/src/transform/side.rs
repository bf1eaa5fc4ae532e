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
///
/// ```
/// use beam::prelude::*;
///
/// let out = pipeline! {
///     rates = from_iter(vec![("EUR", 1u32), ("USD", 2)]);
///     orders = from_iter(vec![("USD", 10u32), ("EUR", 3)]);
///     in_eur = orders
///         -> map_with(as_map(rates), |(cur, amount): (&str, u32), rates: &SideMap<&str, u32>| amount * rates[cur])
///         -> collect();
/// }
/// .run()?;
/// let mut in_eur = out.in_eur;
/// in_eur.sort();
/// assert_eq!(in_eur, vec![3, 20]);
/// # Ok::<(), beam::Error>(())
/// ```
pub type SideMap<K, V> = std::collections::HashMap<K, V, crate::KeyHasher>;

/// Holds a side input's value from when its producer has run.
#[doc(hidden)]
pub struct SideSlot<S>(OnceLock<S>);

impl<S> SideSlot<S> {
    pub(crate) fn new() -> Self {
        SideSlot(OnceLock::new())
    }

    #[inline]
    pub(crate) fn get(&self) -> &S {
        self.0.get().expect("a side input is filled before the loop that reads it")
    }

    pub(crate) fn fill(&self, value: S) {
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
