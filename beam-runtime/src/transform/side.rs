//! Side inputs: a stage that reads another collection whole (`map_with(as_map(rates),
//! |order, rates| ...)`). The side collection is built into a map, list or single
//! value once, before the loop of the stage that reads it, and lent read-only to
//! every worker.

use std::cell::Cell;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::OnceLock;

use crate::__private::{KeyValue, Stage, Witness};
use crate::collection::Collection;
use crate::error::{Error, ErrorKind, Result};
use crate::transform::timed::{InWindows, in_windows};
use crate::window::{AssignWindows, IntervalWindow, Windowed, Windowing};

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

/// Holds a side input's value from when its producer has run: one value, or,
/// for a side input windowed like the stage's input, one per window.
#[doc(hidden)]
pub struct SideSlot<S> {
    whole: OnceLock<S>,
    per_window: OnceLock<PerWindow<S>>,
}

/// A side input's value in each window that has elements, and its value in a
/// window that has none (an empty map or list; no value for `as_singleton`).
struct PerWindow<S> {
    views: std::collections::HashMap<IntervalWindow, S, crate::KeyHasher>,
    empty: Option<S>,
}

thread_local! {
    /// The window of the element a stage reading a side input per window is on
    /// (set by `ReadsPerWindow`).
    static CURRENT_WINDOW: Cell<Option<IntervalWindow>> = const { Cell::new(None) };
}

impl<S> SideSlot<S> {
    pub(crate) fn new() -> Self {
        SideSlot { whole: OnceLock::new(), per_window: OnceLock::new() }
    }

    /// The value, or, per window, its value in the window of the current element.
    #[inline]
    pub(crate) fn get(&self) -> &S {
        match self.whole.get() {
            Some(whole) => whole,
            None => self.in_current_window(),
        }
    }

    fn in_current_window(&self) -> &S {
        let per_window = self.per_window.get().expect("a side input is filled before the loop that reads it");
        let window = CURRENT_WINDOW.with(Cell::get).expect("a side input per window is read in a window");
        match per_window.views.get(&window).or(per_window.empty.as_ref()) {
            Some(view) => view,
            // Reported as the stage's error.
            None => panic!(
                "a side input read with `as_singleton` must hold exactly one element in each window, but holds none in \
                 the window {}..{} (ms)",
                window.start.millis(),
                window.end.millis()
            ),
        }
    }

    pub(crate) fn fill(&self, value: S) {
        let _ = self.whole.set(value);
    }

    /// Fills the slot per window: the values of `collection` grouped by window,
    /// each group made into a value by `fill` (the side input's kind).
    fn fill_in_windows<T>(
        &self,
        collection: Collection<Windowed<T>>,
        fill: impl Fn(&SideSlot<S>, Collection<T>) -> Result<()>,
        empty: Option<S>,
    ) -> Result<()> {
        let mut by_window: std::collections::HashMap<IntervalWindow, Vec<T>, crate::KeyHasher> = Default::default();
        for element in collection.into_vec() {
            by_window.entry(element.window).or_default().push(element.value);
        }
        let mut views = std::collections::HashMap::with_capacity_and_hasher(by_window.len(), Default::default());
        for (window, values) in by_window {
            let slot = SideSlot::new();
            fill(&slot, Collection::from_parts(vec![values])).map_err(|e| {
                let message =
                    format!("{} (in the window {}..{} ms)", e.message(), window.start.millis(), window.end.millis());
                Error::new(e.kind(), message)
            })?;
            views.insert(window, slot.whole.into_inner().expect("filled"));
        }
        let _ = self.per_window.set(PerWindow { views, empty });
        Ok(())
    }
}

/// The values of a timestamped side input in the global window: read whole.
#[doc(hidden)]
pub fn side_values<T>(collection: Collection<Windowed<T>>) -> Collection<T> {
    let parts = collection.into_parts().into_iter().map(|part| part.into_iter().map(|w| w.value).collect());
    Collection::from_parts(parts.collect())
}

/// `as_map` of a side input windowed like the stage's input: a map per window.
#[doc(hidden)]
pub fn fill_map_in_windows<K: Hash + Eq, V>(
    slot: &SideSlot<SideMap<K, V>>,
    collection: Collection<Windowed<(K, V)>>,
) -> Result<()> {
    slot.fill_in_windows(collection, fill_map, Some(SideMap::default()))
}

/// `as_multimap`, per window.
#[doc(hidden)]
pub fn fill_multimap_in_windows<K: Hash + Eq, V>(
    slot: &SideSlot<SideMap<K, Vec<V>>>,
    collection: Collection<Windowed<(K, V)>>,
) -> Result<()> {
    slot.fill_in_windows(collection, fill_multimap, Some(SideMap::default()))
}

/// `as_list`, per window.
#[doc(hidden)]
pub fn fill_list_in_windows<T>(slot: &SideSlot<Vec<T>>, collection: Collection<Windowed<T>>) -> Result<()> {
    slot.fill_in_windows(collection, fill_list, Some(Vec::new()))
}

/// `as_singleton`, per window: one element in each window an element of the
/// stage's input is in.
#[doc(hidden)]
pub fn fill_singleton_in_windows<T>(slot: &SideSlot<T>, collection: Collection<Windowed<T>>) -> Result<()> {
    slot.fill_in_windows(collection, fill_singleton, None)
}

/// A stage of values in a timestamped collection that reads a side input per
/// window: the side value it sees is the one of its element's window, as a Beam
/// side input of the same windowing is.
#[doc(hidden)]
pub struct ReadsPerWindow<S>(InWindows<S>);

/// `(stage, out)` of a stage of values reading a side input per window of
/// `windowing`, which must not merge: an element's own window (`[t, t + gap)`
/// for sessions) is not the merged session the side input's values are in, as
/// Beam, too, refuses merging windows for side inputs.
#[doc(hidden)]
pub fn reads_per_window<S: Stage, Out, W: AssignWindows, M>(
    _: &Windowing<W, M>,
    stage: (S, Out),
) -> (ReadsPerWindow<S>, Out) {
    if W::MERGING {
        // Built in the stage's scope: reported as the stage's error.
        panic!(
            "a side input cannot be read per session window: an element's window is not yet the session it will \
             merge into; read a side input windowed by `FixedWindows` or `SlidingWindows`, or one never windowed"
        );
    }
    let (stage, out) = in_windows(stage);
    (ReadsPerWindow(stage), out)
}

impl<S: Stage> Stage for ReadsPerWindow<S> {
    type In = Windowed<S::In>;
    type Out = Windowed<S::Out>;
    #[inline(always)]
    fn process<E: FnMut(Self::Out)>(&self, input: Self::In, emit: &mut E) {
        CURRENT_WINDOW.with(|current| current.set(Some(input.window)));
        self.0.process(input, emit)
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
