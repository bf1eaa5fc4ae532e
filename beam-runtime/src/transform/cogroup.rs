//! `co_group_by_key` and `outer_join`: several keyed collections, held, grouped by
//! key together. (An inner or left join streams its left input instead; see `join`.)

use crate::exchange::Exchangeable;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::OnceLock;

use crate::__private::Witness;
use crate::barrier::{KeyedCombine, Leaf};
use crate::collection::Collection;
use crate::context::{Scope, Worker};
use crate::error::Result;
use crate::runner::{finish_in_process, finish_on_tick};
use crate::shuffle::{PARTITIONS, scatter};
use crate::source::CollectionSource;
use crate::transform::join::{InputNames, SameKey};
use crate::transform::multi::{Tagged2, Tagged3, Tagged4, Tagged5, Tagged6};
use crate::transform::side::SideMap;
use crate::window::{Accumulate, AssignWindows, Windowed, Windowing};

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
    for (k, groups) in grouped.into_iter().flatten() {
        outer_join_per_pane(groups, &mut |pair| joined.push((k.clone(), pair)));
    }
    CollectionSource::new(Collection::from_parts(vec![joined]))
}

/// The element type of `partitioned_join`: `join`'s.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn partitioned_join_witness<K, V1, K2, V2, Left, Right>(
    names: InputNames<(Left, Right)>,
    inputs: (Witness<(K, V1)>, Witness<(K2, V2)>),
) -> Witness<(K, (V1, V2))>
where
    K: SameKey<K2, Left, Right>,
{
    join_per_window_witness(names, inputs)
}

/// `(a, b) -> partitioned_join()`: `join()`'s pairs, `(k, (v1, v2))` for every pair
/// of values of a key in both inputs, made by grouping both inputs by key, as
/// `co_group_by_key` does. `join()` builds a table of the right input and looks
/// the left one's elements up in it as they stream by, so on several processes
/// every process holds the whole right input; here each process groups only the
/// keys it owns, of both inputs, which suits a right input too large to copy.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn partitioned_join<K, V1, K2, V2, Left, Right>(
    _: InputNames<(Left, Right)>,
    (lefts, rights): (Collection<(K, V1)>, Collection<(K2, V2)>),
    scope: &Scope,
) -> CollectionSource<(K, (V1, V2))>
where
    K: SameKey<K2, Left, Right> + Hash + Eq + Clone + Send,
    V1: Clone + Send,
    V2: Clone + Send,
{
    let grouped = CoGroup::<(Left, Right)>::group((lefts, K::same_pairs(rights)), scope);
    let parts = scope.par_map(grouped, |part| {
        let mut joined = Vec::new();
        for (k, groups) in part {
            partitioned_join_per_pane(groups, &mut |pair| joined.push((k.clone(), pair)));
        }
        joined
    });
    CollectionSource::new(Collection::from_parts(parts))
}

#[doc(hidden)]
pub fn partitioned_join_per_pane<V1: Clone, V2: Clone>(groups: (Vec<V1>, Vec<V2>), emit: &mut dyn FnMut((V1, V2))) {
    join_per_window_per_pane(groups, emit)
}

// What each grouping of the inputs per window gives, for a key's pane: its values
// of each input (`co_group_by_key` as they are; the joins, paired as Beam's joins,
// built on `CoGroupByKey`, pair them).

#[doc(hidden)]
pub fn co_group_by_key_per_pane<G>(groups: G, emit: &mut dyn FnMut(G)) {
    emit(groups)
}

#[doc(hidden)]
pub fn outer_join_per_pane<V1: Clone, V2: Clone>(
    (lefts, rights): (Vec<V1>, Vec<V2>),
    emit: &mut dyn FnMut((Option<V1>, Option<V2>)),
) {
    match (lefts.is_empty(), rights.is_empty()) {
        (false, true) => lefts.into_iter().for_each(|l| emit((Some(l), None))),
        (true, false) => rights.into_iter().for_each(|r| emit((None, Some(r)))),
        _ => {
            for l in &lefts {
                rights.iter().for_each(|r| emit((Some(l.clone()), Some(r.clone()))));
            }
        }
    }
}

#[doc(hidden)]
pub fn join_per_window_per_pane<V1: Clone, V2: Clone>(
    (lefts, rights): (Vec<V1>, Vec<V2>),
    emit: &mut dyn FnMut((V1, V2)),
) {
    for l in &lefts {
        rights.iter().for_each(|r| emit((l.clone(), r.clone())));
    }
}

#[doc(hidden)]
pub fn left_join_per_window_per_pane<V1: Clone, V2: Clone>(
    (lefts, rights): (Vec<V1>, Vec<V2>),
    emit: &mut dyn FnMut((V1, Option<V2>)),
) {
    for l in lefts {
        match rights.as_slice() {
            [] => emit((l, None)),
            rights => rights.iter().for_each(|r| emit((l.clone(), Some(r.clone())))),
        }
    }
}

/// The element type of `join` of two timestamped inputs, grouped per window.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn join_per_window_witness<K, V1, K2, V2, Left, Right>(
    _: InputNames<(Left, Right)>,
    _: (Witness<(K, V1)>, Witness<(K2, V2)>),
) -> Witness<(K, (V1, V2))>
where
    K: SameKey<K2, Left, Right>,
{
    Witness::new()
}

/// The element type of `left_join` of two timestamped inputs, grouped per window.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn left_join_per_window_witness<K, V1, K2, V2, Left, Right>(
    _: InputNames<(Left, Right)>,
    _: (Witness<(K, V1)>, Witness<(K2, V2)>),
) -> Witness<(K, (V1, Option<V2>))>
where
    K: SameKey<K2, Left, Right>,
{
    Witness::new()
}

/// Inputs of a co-group (or join) of timestamped collections. Every input is keyed
/// by the first one's key type (which they are, as `SameKey` says in its words
/// when they are not), so that they group together: each element's value is
/// tagged with its input (`Union`) and grouped per window into the inputs' lists
/// of values (`Groups`).
#[doc(hidden)]
pub trait WindowedInputs<Names> {
    type Key;
    type Union: Send;
    type Groups;
    /// Every input's elements, their values tagged with their input.
    fn tagged(self) -> Collection<Windowed<(Self::Key, Self::Union)>>;
    fn add(groups: &mut Self::Groups, value: Self::Union);
    fn merge(groups: &mut Self::Groups, other: Self::Groups);
}

/// Each element's value as `tag(value)`.
fn tagged<K, V, U>(collection: Collection<Windowed<(K, V)>>, tag: fn(V) -> U) -> Collection<Windowed<(K, U)>> {
    let parts = collection.into_parts().into_iter().map(|part| {
        part.into_iter()
            .map(|Windowed { value: (k, v), timestamp, window, pane }| Windowed {
                value: (k, tag(v)),
                timestamp,
                window,
                pane,
            })
            .collect()
    });
    Collection::from_parts(parts.collect())
}

macro_rules! windowed_inputs {
    ($tagged:ident: $v1:ident $n1:ident $o1:ident, $($k:ident $v:ident $n:ident $o:ident $i:tt),+) => {
        impl<K, $v1, $n1, $($k, $v, $n),+> WindowedInputs<($n1, $($n,)+)>
            for (Collection<Windowed<(K, $v1)>>, $(Collection<Windowed<($k, $v)>>,)+)
        where
            K: Clone + Send + Sync,
            $v1: Send,
            $($v: Send, K: SameKey<$k, $n1, $n>,)+
        {
            type Key = K;
            type Union = $tagged<$v1, $($v),+>;
            type Groups = (Vec<$v1>, $(Vec<$v>,)+);

            fn tagged(self) -> Collection<Windowed<(K, Self::Union)>> {
                Collection::concat(vec![
                    tagged(self.0, $tagged::$o1),
                    $(tagged(same_windowed_pairs::<K, $k, $v, $n1, $n>(self.$i), $tagged::$o),)+
                ])
            }

            fn add(groups: &mut Self::Groups, value: Self::Union) {
                match value {
                    $tagged::$o1(v) => groups.0.push(v),
                    $($tagged::$o(v) => groups.$i.push(v),)+
                }
            }

            fn merge(groups: &mut Self::Groups, other: Self::Groups) {
                groups.0.extend(other.0);
                $(groups.$i.extend(other.$i);)+
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

windowed_inputs!(Tagged2: V1 N1 O0, K2 V2 N2 O1 1);
windowed_inputs!(Tagged3: V1 N1 O0, K2 V2 N2 O1 1, K3 V3 N3 O2 2);
windowed_inputs!(Tagged4: V1 N1 O0, K2 V2 N2 O1 1, K3 V3 N3 O2 2, K4 V4 N4 O3 3);
windowed_inputs!(Tagged5: V1 N1 O0, K2 V2 N2 O1 1, K3 V3 N3 O2 2, K4 V4 N4 O3 3, K5 V5 N5 O4 4);
windowed_inputs!(Tagged6: V1 N1 O0, K2 V2 N2 O1 1, K3 V3 N3 O2 2, K4 V4 N4 O3 3, K5 V5 N5 O4 4, K6 V6 N6 O5 5);

/// The grouping per window of a co-group of unbounded input: each key's values,
/// tagged with their input, into the inputs' lists.
#[doc(hidden)]
pub struct InputLists<I, Names>(PhantomData<fn() -> (I, Names)>);

impl<I, Names> KeyedCombine for InputLists<I, Names>
where
    I: WindowedInputs<Names, Key: Hash + Eq + Send, Groups: Default + Send>,
{
    type In = (I::Key, I::Union);
    type Key = I::Key;
    type Value = I::Union;
    type Acc = I::Groups;
    type Out = (I::Key, I::Groups);
    type Splits = ();

    fn split(&self, input: Self::In) -> (I::Key, I::Union) {
        input
    }

    fn create(&self) -> I::Groups {
        I::Groups::default()
    }

    fn add(&self, groups: &mut I::Groups, value: I::Union) {
        I::add(groups, value)
    }

    fn merge(&self, groups: &mut I::Groups, other: I::Groups) {
        I::merge(groups, other)
    }

    fn extract(&self, key: I::Key, groups: I::Groups, emit: &mut impl FnMut(Self::Out)) {
        emit((key, groups))
    }
}

/// A co-group's grouping per window, made when it first runs: once on bounded
/// input; on unbounded input, kept with its panes between ticks.
#[doc(hidden)]
pub struct WindowGrouping<L>(OnceLock<L>);

#[doc(hidden)]
pub fn window_grouping<L>() -> WindowGrouping<L> {
    WindowGrouping(OnceLock::new())
}

/// A co-group or join of timestamped collections, per window, as Beam's
/// `CoGroupByKey` is a `GroupByKey` of the inputs' union: the inputs' values go,
/// tagged, into a grouping per window (`groups`, made once), which fires each pane
/// of a key's lists of values, and `per_pane` makes its results (a co-group's
/// lists as they are; a join's pairs). The grouping merges sessions across all
/// inputs and stamps panes as the windowing's timestamp combiner says. On bounded
/// input each window fires once, on time; on unbounded input (a run in ticks) the
/// grouping keeps its panes between ticks and fires them as the trigger says,
/// empty on-time panes included.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn in_windows<I, Names, K, T, W, M>(
    windowing: &Windowing<W, M>,
    _: InputNames<Names>,
    groups: &WindowGrouping<W::Leaf<InputLists<I, Names>, M>>,
    inputs: I,
    scope: &Scope,
    per_pane: impl Fn(I::Groups, &mut dyn FnMut(T)) + Sync,
) -> Result<CollectionSource<Windowed<(K, T)>>>
where
    I: WindowedInputs<Names, Key = K, Union: Send, Groups: Default + Send + Exchangeable>,
    W: AssignWindows,
    M: Accumulate<I::Groups>,
    K: Hash + Eq + Clone + Send + Sync + Exchangeable,
    T: Send,
{
    // Every input's values, tagged, through one grouping per window: made on the
    // first tick and kept between ticks on unbounded input (fired as the trigger
    // says); on bounded input, fired once per window when the input is read.
    let grouping = groups.0.get_or_init(|| W::leaf(InputLists(PhantomData), windowing.strategy()));
    let parts = inputs.tagged().into_parts();
    let count = parts.len();
    let locals = scope.par_map(parts.into_iter().enumerate().collect(), |(index, part)| {
        let mut local = grouping.local(Worker { index, count });
        part.into_iter().for_each(|element| grouping.push(&mut local, element));
        local
    });
    let fired = match scope.context().tick() {
        Some(tick) => finish_on_tick(scope, &tick, grouping, locals),
        None => finish_in_process(scope, grouping, locals),
    };
    let panes = fired?.into_parts();
    let parts = scope.par_map(panes, |part| {
        let mut out = Vec::new();
        for Windowed { value: (key, groups), timestamp, window, pane } in part {
            per_pane(groups, &mut |value| out.push(Windowed { value: (key.clone(), value), timestamp, window, pane }));
        }
        out
    });
    Ok(CollectionSource::new(Collection::from_parts(parts)))
}
