//! `co_group_by_key` and `outer_join`: several keyed collections, held, grouped by
//! key together. (An inner or left join streams its left input instead; see `join`.)

use std::hash::Hash;

use crate::__private::Witness;
use crate::collection::Collection;
use crate::context::Scope;
use crate::shuffle::{PARTITIONS, scatter};
use crate::source::CollectionSource;
use crate::transform::join::{InputNames, SameKey};
use crate::transform::side::SideMap;
use crate::transform::timed::{overlap, span};
use crate::window::{AssignWindows, IntervalWindow, Windowed, Windowing};

/// Inputs `co_group_by_key` can group: two to six collections of `(K, V)` pairs
/// with one key type. `Names` names the inputs, for error messages.
#[diagnostic::on_unimplemented(
    message = "`co_group_by_key` needs two to six collections of `(key, value)` pairs",
    label = "these inputs do not fit"
)]
pub trait CoGroupWitness<Names> {
    type Out;
}

/// The same, for the collections themselves.
pub trait CoGroup<Names> {
    type Out;
    /// The groups, one part per key partition, grouped by tasks of `scope`.
    fn group(self, scope: &Scope) -> Vec<Vec<Self::Out>>;
}

/// `CoGroupWitness` and `CoGroup` for one number of inputs, keyed by the first
/// input's key type `K`, which every other input's must be. Each input is split by
/// key hash, and then each partition of all inputs is grouped by one parallel task,
/// into every key of any input, once.
macro_rules! co_group {
    ($first:ident $first_name:ident, $($value:ident . $field:tt $key:ident $name:ident),+) => {
        impl<K, $first, $first_name, $($value, $key, $name),+> CoGroupWitness<($first_name, $($name,)+)>
            for (Witness<(K, $first)>, $(Witness<($key, $value)>,)+)
        where
            $(K: SameKey<$key, $first_name, $name>,)+
        {
            type Out = (K, (Vec<$first>, $(Vec<$value>,)+));
        }

        #[diagnostic::do_not_recommend]
        impl<K, $first, $first_name, $($value, $key, $name),+> CoGroup<($first_name, $($name,)+)>
            for (Collection<(K, $first)>, $(Collection<($key, $value)>,)+)
        where
            K: Hash + Eq + Send,
            $first: Send,
            $($value: Send, K: SameKey<$key, $first_name, $name>,)+
        {
            type Out = (K, (Vec<$first>, $(Vec<$value>,)+));
            fn group(self, scope: &Scope) -> Vec<Vec<Self::Out>> {
                let mut scattered = (
                    scatter(self.0, scope).into_iter(),
                    $(scatter(K::same_pairs(self.$field), scope).into_iter(),)+
                );
                let by_partition: Vec<_> = (0..PARTITIONS)
                    .map(|_| (scattered.0.next().unwrap_or_default(), $(scattered.$field.next().unwrap_or_default(),)+))
                    .collect();
                scope.par_map(by_partition, |parts| {
                        let mut groups: SideMap<K, (Vec<$first>, $(Vec<$value>,)+)> = SideMap::default();
                        for (k, v) in parts.0.into_iter().flatten() {
                            groups.entry(k).or_insert_with(Default::default).0.push(v);
                        }
                        $(
                            for (k, v) in parts.$field.into_iter().flatten() {
                                groups.entry(k).or_insert_with(Default::default).$field.push(v);
                            }
                        )+
                        groups.into_iter().collect()
                    })
            }
        }
    };
}

co_group!(V1 N1, V2.1 K2 N2);
co_group!(V1 N1, V2.1 K2 N2, V3.2 K3 N3);
co_group!(V1 N1, V2.1 K2 N2, V3.2 K3 N3, V4.3 K4 N4);
co_group!(V1 N1, V2.1 K2 N2, V3.2 K3 N3, V4.3 K4 N4, V5.4 K5 N5);
co_group!(V1 N1, V2.1 K2 N2, V3.2 K3 N3, V4.3 K4 N4, V5.4 K5 N5, V6.5 K6 N6);

#[doc(hidden)]
pub fn co_group_by_key_witness<W: CoGroupWitness<Names>, Names>(_: InputNames<Names>, _: W) -> Witness<W::Out> {
    Witness::new()
}

/// `(a, b) -> co_group_by_key()`: `(k, (values of k in a, values of k in b))` for
/// every key of either input.
#[doc(hidden)]
pub fn co_group_by_key<C: CoGroup<Names>, Names>(
    _: InputNames<Names>,
    inputs: C,
    scope: &Scope,
) -> CollectionSource<C::Out>
where
    C::Out: Send,
{
    CollectionSource::new(Collection::from_parts(inputs.group(scope)))
}

/// The element type of `outer_join`.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn outer_join_witness<K, V1, K2, V2, Left, Right>(
    _: InputNames<(Left, Right)>,
    _: (Witness<(K, V1)>, Witness<(K2, V2)>),
) -> Witness<(K, (Option<V1>, Option<V2>))>
where
    K: SameKey<K2, Left, Right>,
{
    Witness::new()
}

/// `(a, b) -> outer_join()`: `(k, (Some(v1), Some(v2)))` for every pair of values of
/// a key in both inputs, and `(k, (Some(v1), None))` / `(k, (None, Some(v2)))` for
/// the values of a key that only one input has.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn outer_join<K, V1, K2, V2, Left, Right>(
    _: InputNames<(Left, Right)>,
    (lefts, rights): (Collection<(K, V1)>, Collection<(K2, V2)>),
    scope: &Scope,
) -> CollectionSource<(K, (Option<V1>, Option<V2>))>
where
    K: SameKey<K2, Left, Right> + Hash + Eq + Clone + Send,
    V1: Clone + Send,
    V2: Clone + Send,
{
    let mut joined = Vec::new();
    let grouped = CoGroup::<(Left, Right)>::group((lefts, K::same_pairs(rights)), scope);
    for (k, (lefts, rights)) in grouped.into_iter().flatten() {
        match (lefts.is_empty(), rights.is_empty()) {
            (false, true) => joined.extend(lefts.into_iter().map(|l| (k.clone(), (Some(l), None)))),
            (true, false) => joined.extend(rights.into_iter().map(|r| (k.clone(), (None, Some(r))))),
            _ => {
                for l in &lefts {
                    joined.extend(rights.iter().map(|r| (k.clone(), (Some(l.clone()), Some(r.clone())))));
                }
            }
        }
    }
    CollectionSource::new(Collection::from_parts(vec![joined]))
}

/// Inputs of a co-group (or outer join) of timestamped collections: each element's
/// key becomes `(window, key)`, so that grouping by key groups per window. Every
/// input is keyed by the first one's key type (which they are, as `SameKey` says
/// in its words when they are not), so that windows that merge can merge across
/// inputs.
#[doc(hidden)]
pub trait WindowedInputs<Names> {
    type Key;
    type Keyed;
    fn keyed_by_window(self, scope: &Scope) -> Self::Keyed;
    /// Each element's key and window, by reference.
    fn key_windows(keyed: &Self::Keyed, each: &mut dyn FnMut(&Self::Key, IntervalWindow));
    /// Each element's window replaced by `window` of it and its key.
    fn rewindow(
        keyed: Self::Keyed,
        scope: &Scope,
        window: &(dyn Fn(&Self::Key, IntervalWindow) -> IntervalWindow + Sync),
    ) -> Self::Keyed;
}

/// `(key, value)` of each element in its window as `((window, key), value)`.
fn keyed_by_window<K: Send, V: Send>(
    collection: Collection<Windowed<(K, V)>>,
    scope: &Scope,
) -> Collection<((IntervalWindow, K), V)> {
    let parts = scope
        .par_map(collection.into_parts(), |part| part.into_iter().map(Windowed::keyed_by_window).collect::<Vec<_>>());
    Collection::from_parts(parts)
}

fn rewindow<K: Send + Sync, V: Send>(
    collection: Collection<((IntervalWindow, K), V)>,
    scope: &Scope,
    window: &(dyn Fn(&K, IntervalWindow) -> IntervalWindow + Sync),
) -> Collection<((IntervalWindow, K), V)> {
    let parts = scope.par_map(collection.into_parts(), |part| {
        part.into_iter().map(|((w, k), v)| ((window(&k, w), k), v)).collect::<Vec<_>>()
    });
    Collection::from_parts(parts)
}

macro_rules! windowed_inputs {
    ($v1:ident $n1:ident, $($k:ident $v:ident $n:ident $i:tt),+) => {
        impl<K, $v1, $n1, $($k, $v, $n),+> WindowedInputs<($n1, $($n,)+)>
            for (Collection<Windowed<(K, $v1)>>, $(Collection<Windowed<($k, $v)>>,)+)
        where
            K: Send + Sync,
            $v1: Send,
            $($v: Send, K: SameKey<$k, $n1, $n>,)+
        {
            type Key = K;
            type Keyed = (Collection<((IntervalWindow, K), $v1)>, $(Collection<((IntervalWindow, K), $v)>,)+);

            fn keyed_by_window(self, scope: &Scope) -> Self::Keyed {
                (keyed_by_window(self.0, scope), $(keyed_by_window(same_windowed_pairs::<K, $k, $v, $n1, $n>(self.$i), scope),)+)
            }

            fn key_windows(keyed: &Self::Keyed, each: &mut dyn FnMut(&K, IntervalWindow)) {
                keyed.0.iter().for_each(|((w, k), _)| each(k, *w));
                $(keyed.$i.iter().for_each(|((w, k), _)| each(k, *w));)+
            }

            fn rewindow(keyed: Self::Keyed, scope: &Scope, window: &(dyn Fn(&K, IntervalWindow) -> IntervalWindow + Sync)) -> Self::Keyed {
                (rewindow(keyed.0, scope, window), $(rewindow(keyed.$i, scope, window),)+)
            }
        }
    };
}

/// Another input's timestamped pairs, keyed by the first input's key type.
fn same_windowed_pairs<K: SameKey<K2, N1, N2>, K2, V, N1, N2>(
    collection: Collection<Windowed<(K2, V)>>,
) -> Collection<Windowed<(K, V)>> {
    K::same_windowed(collection)
}

windowed_inputs!(V1 N1, K2 V2 N2 1);
windowed_inputs!(V1 N1, K2 V2 N2 1, K3 V3 N3 2);
windowed_inputs!(V1 N1, K2 V2 N2 1, K3 V3 N3 2, K4 V4 N4 3);
windowed_inputs!(V1 N1, K2 V2 N2 1, K3 V3 N3 2, K4 V4 N4 3, K5 V5 N5 4);
windowed_inputs!(V1 N1, K2 V2 N2 1, K3 V3 N3 2, K4 V4 N4 3, K5 V5 N5 4, K6 V6 N6 5);

/// A co-group or outer join of timestamped collections, per window: `group` runs on
/// the inputs keyed by `(window, key)`, and each of its results is stamped with its
/// window, as a grouping per window's one on-time pane. On a bounded input.
///
/// Windows that merge (sessions) are merged first, per key across all inputs, as
/// Beam's `CoGroupByKey` (a `GroupByKey` of the inputs' union) merges them: each
/// element is then in the session its own window ended up in.
#[doc(hidden)]
pub fn in_windows<I, Names, K, T, W, M>(
    _: &Windowing<W, M>,
    _: InputNames<Names>,
    inputs: I,
    scope: &Scope,
    group: impl FnOnce(I::Keyed, &Scope) -> CollectionSource<((IntervalWindow, K), T)>,
) -> CollectionSource<Windowed<(K, T)>>
where
    I: WindowedInputs<Names, Key = K>,
    W: AssignWindows,
    K: Hash + Eq + Clone + Send + Sync,
    T: Send,
{
    let mut keyed = inputs.keyed_by_window(scope);
    if W::MERGING {
        let sessions = sessions_of::<I, Names>(&keyed);
        keyed = I::rewindow(keyed, scope, &|key, window| sessions.containing(key, window));
    }
    let grouped = group(keyed, scope).into_collection();
    let parts = scope.par_map(grouped.into_parts(), |part| {
        part.into_iter().map(|((window, key), value)| Windowed::on_time((key, value), window)).collect::<Vec<_>>()
    });
    CollectionSource::new(Collection::from_parts(parts))
}

/// Each key's sessions: its elements' windows, merged where they overlap, in order.
struct Sessions<K>(SideMap<K, Vec<IntervalWindow>>);

fn sessions_of<I: WindowedInputs<Names>, Names>(keyed: &I::Keyed) -> Sessions<I::Key>
where
    I::Key: Hash + Eq + Clone,
{
    let mut windows: SideMap<I::Key, Vec<IntervalWindow>> = SideMap::default();
    I::key_windows(keyed, &mut |key, window| match windows.get_mut(key) {
        Some(list) => list.push(window),
        None => {
            windows.insert(key.clone(), vec![window]);
        }
    });
    for list in windows.values_mut() {
        list.sort_unstable_by_key(|w| w.start);
        let mut merged: Vec<IntervalWindow> = Vec::with_capacity(list.len());
        for &window in list.iter() {
            match merged.last_mut() {
                Some(last) if overlap(last, &window) => *last = span(*last, window),
                _ => merged.push(window),
            }
        }
        *list = merged;
    }
    Sessions(windows)
}

impl<K: Hash + Eq> Sessions<K> {
    /// The session of `key` that `window` merged into.
    fn containing(&self, key: &K, window: IntervalWindow) -> IntervalWindow {
        let sessions = &self.0[key];
        sessions[sessions.partition_point(|s| s.end <= window.start)]
    }
}
