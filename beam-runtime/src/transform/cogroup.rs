//! `co_group_by_key` and `outer_join`: several keyed collections, held, grouped by
//! key together. (An inner or left join streams its left input instead; see `join`.)

use std::hash::Hash;

use crate::__private::Witness;
use crate::collection::Collection;
use crate::shuffle::{KeyHasher, PARTITIONS, scatter};
use crate::source::CollectionSource;
use crate::transform::side::SideMap;
use rayon::prelude::*;

/// Inputs `co_group_by_key` can group: two to six collections of `(K, V)` pairs
/// with one key type.
#[diagnostic::on_unimplemented(
    message = "`co_group_by_key` needs two to six collections of `(key, value)` pairs keyed by one type",
    label = "these inputs do not fit"
)]
pub trait CoGroupWitness {
    type Out;
}

/// The same, for the collections themselves.
pub trait CoGroup {
    type Out;
    fn group(self) -> Vec<Self::Out>;
}

/// `CoGroupWitness` and `CoGroup` for one number of inputs: each input is split by
/// key hash, and then each partition of all inputs is grouped by one parallel task,
/// into every key of any input, once.
macro_rules! co_group {
    ($($value:ident . $field:tt),+) => {
        impl<K, $($value),+> CoGroupWitness for ($(Witness<(K, $value)>,)+) {
            type Out = (K, ($(Vec<$value>,)+));
        }

        impl<K: Hash + Eq + Send, $($value: Send),+> CoGroup for ($(Collection<(K, $value)>,)+) {
            type Out = (K, ($(Vec<$value>,)+));
            fn group(self) -> Vec<Self::Out> {
                let hasher = KeyHasher::default();
                let mut scattered = ($(scatter(&hasher, self.$field).into_iter(),)+);
                let by_partition: Vec<_> =
                    (0..PARTITIONS).map(|_| ($(scattered.$field.next().unwrap_or_default(),)+)).collect();
                by_partition
                    .into_par_iter()
                    .flat_map_iter(|parts| {
                        let mut groups: SideMap<K, ($(Vec<$value>,)+)> = SideMap::default();
                        $(
                            for (k, v) in parts.$field.into_iter().flatten() {
                                groups.entry(k).or_insert_with(Default::default).$field.push(v);
                            }
                        )+
                        groups.into_iter()
                    })
                    .collect()
            }
        }
    };
}

co_group!(V1.0, V2.1);
co_group!(V1.0, V2.1, V3.2);
co_group!(V1.0, V2.1, V3.2, V4.3);
co_group!(V1.0, V2.1, V3.2, V4.3, V5.4);
co_group!(V1.0, V2.1, V3.2, V4.3, V5.4, V6.5);

#[doc(hidden)]
pub fn co_group_by_key_witness<W: CoGroupWitness>(_: W) -> Witness<W::Out> {
    Witness::new()
}

/// `(a, b) -> co_group_by_key()`: `(k, (values of k in a, values of k in b))` for
/// every key of either input.
#[doc(hidden)]
pub fn co_group_by_key<C: CoGroup>(inputs: C) -> CollectionSource<C::Out>
where
    C::Out: Send,
{
    CollectionSource::new(Collection::from_parts(vec![inputs.group()]))
}

/// The element type of `outer_join`.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn outer_join_witness<K, V1, V2>(
    _: (Witness<(K, V1)>, Witness<(K, V2)>),
) -> Witness<(K, (Option<V1>, Option<V2>))> {
    Witness::new()
}

/// `(a, b) -> outer_join()`: `(k, (Some(v1), Some(v2)))` for every pair of values of
/// a key in both inputs, and `(k, (Some(v1), None))` / `(k, (None, Some(v2)))` for
/// the values of a key that only one input has.
#[doc(hidden)]
#[allow(clippy::type_complexity)]
pub fn outer_join<K, V1, V2>(
    inputs: (Collection<(K, V1)>, Collection<(K, V2)>),
) -> CollectionSource<(K, (Option<V1>, Option<V2>))>
where
    K: Hash + Eq + Clone + Send,
    V1: Clone + Send,
    V2: Clone + Send,
{
    let mut joined = Vec::new();
    for (k, (lefts, rights)) in inputs.group() {
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
