//! `co_group_by_key` and `outer_join`: several keyed collections, held, grouped by
//! key together. (An inner or left join streams its left input instead; see `join`.)

use std::hash::Hash;

use crate::__private::Witness;
use crate::collection::Collection;
use crate::shuffle::{KeyHasher, PARTITIONS, scatter};
use crate::source::CollectionSource;
use crate::transform::side::SideMap;
use rayon::prelude::*;

/// The values of one key in three inputs.
type Groups3<V1, V2, V3> = (Vec<V1>, Vec<V2>, Vec<V3>);

/// Inputs `co_group_by_key` can group: two or three collections of `(K, V)` pairs
/// with one key type.
#[diagnostic::on_unimplemented(
    message = "`co_group_by_key` needs two or three collections of `(key, value)` pairs keyed by one type",
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

impl<K, V1, V2> CoGroupWitness for (Witness<(K, V1)>, Witness<(K, V2)>) {
    type Out = (K, (Vec<V1>, Vec<V2>));
}

impl<K, V1, V2, V3> CoGroupWitness for (Witness<(K, V1)>, Witness<(K, V2)>, Witness<(K, V3)>) {
    type Out = (K, (Vec<V1>, Vec<V2>, Vec<V3>));
}

/// Groups one partition of each input by key: every key of either, once.
macro_rules! group_partitions {
    ($hasher:expr, $empty:expr, $($input:ident . $field:tt),+) => {{
        let hasher = $hasher;
        let scattered = ($(scatter(&hasher, $input),)+);
        let mut by_partition = Vec::with_capacity(PARTITIONS);
        let mut iters = ($(scattered.$field.into_iter(),)+);
        for _ in 0..PARTITIONS {
            by_partition.push(($(iters.$field.next().unwrap_or_default(),)+));
        }
        by_partition
            .into_par_iter()
            .flat_map_iter(|parts| {
                let mut groups = SideMap::default();
                $(
                    for (k, v) in parts.$field.into_iter().flatten() {
                        groups.entry(k).or_insert_with($empty).$field.push(v);
                    }
                )+
                groups.into_iter()
            })
            .collect()
    }};
}

impl<K, V1, V2> CoGroup for (Collection<(K, V1)>, Collection<(K, V2)>)
where
    K: Hash + Eq + Send,
    V1: Send,
    V2: Send,
{
    type Out = (K, (Vec<V1>, Vec<V2>));
    fn group(self) -> Vec<Self::Out> {
        let (a, b) = self;
        group_partitions!(KeyHasher::default(), || (Vec::new(), Vec::new()), a.0, b.1)
    }
}

impl<K, V1, V2, V3> CoGroup for (Collection<(K, V1)>, Collection<(K, V2)>, Collection<(K, V3)>)
where
    K: Hash + Eq + Send,
    V1: Send,
    V2: Send,
    V3: Send,
{
    type Out = (K, Groups3<V1, V2, V3>);
    fn group(self) -> Vec<Self::Out> {
        let (a, b, c) = self;
        group_partitions!(KeyHasher::default(), || (Vec::new(), Vec::new(), Vec::new()), a.0, b.1, c.2)
    }
}

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
