//! `co_group_by_key` and `outer_join`: several keyed collections, held, grouped by
//! key together. (An inner or left join streams its left input instead; see `side`.)

use std::hash::Hash;

use crate::__private::Witness;
use crate::collection::Collection;
use crate::source::CollectionSource;
use crate::transform::side::SideMap;

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

impl<K: Hash + Eq, V1, V2> CoGroup for (Collection<(K, V1)>, Collection<(K, V2)>) {
    type Out = (K, (Vec<V1>, Vec<V2>));
    fn group(self) -> Vec<Self::Out> {
        let mut groups: SideMap<K, (Vec<V1>, Vec<V2>)> = SideMap::default();
        for (k, v) in self.0.into_vec() {
            groups.entry(k).or_insert_with(|| (Vec::new(), Vec::new())).0.push(v);
        }
        for (k, v) in self.1.into_vec() {
            groups.entry(k).or_insert_with(|| (Vec::new(), Vec::new())).1.push(v);
        }
        groups.into_iter().collect()
    }
}

impl<K: Hash + Eq, V1, V2, V3> CoGroup for (Collection<(K, V1)>, Collection<(K, V2)>, Collection<(K, V3)>) {
    type Out = (K, (Vec<V1>, Vec<V2>, Vec<V3>));
    fn group(self) -> Vec<Self::Out> {
        let mut groups: SideMap<K, Groups3<V1, V2, V3>> = SideMap::default();
        let empty = || (Vec::new(), Vec::new(), Vec::new());
        for (k, v) in self.0.into_vec() {
            groups.entry(k).or_insert_with(empty).0.push(v);
        }
        for (k, v) in self.1.into_vec() {
            groups.entry(k).or_insert_with(empty).1.push(v);
        }
        for (k, v) in self.2.into_vec() {
            groups.entry(k).or_insert_with(empty).2.push(v);
        }
        groups.into_iter().collect()
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
