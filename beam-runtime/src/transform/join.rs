//! `(left, right) -> join()` and `left_join()`: a hash join. The right input is read
//! whole into a table; the left input streams past it, fused with the stages around
//! it, and never waits in memory.

use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::__private::{KeyValue, Stage, Witness};
use crate::collection::Collection;
use crate::error::Result;
use crate::shuffle::KeyHasher;
use crate::transform::side::SideSlot;

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

/// The right input of a join: each key's first value in a table as compact as a
/// hand-written join's map; the further values of a key, if any, in a second one.
///
/// One table, not one per shuffle partition: a probe's cost is its cache and TLB
/// misses, and tables per partition measured a third slower to probe than one,
/// which outweighs building them in parallel.
#[doc(hidden)]
pub struct JoinTable<K, V> {
    hasher: KeyHasher,
    first: HashTable<(K, V)>,
    /// Most joins look up a unique key (a customer by id) and never look here.
    more: HashTable<(K, Vec<V>)>,
}

impl<K: Hash + Eq, V> JoinTable<K, V> {
    fn build(collection: Collection<(K, V)>) -> Self {
        let hasher = KeyHasher::default();
        let mut first: HashTable<(K, V)> = HashTable::with_capacity(collection.len());
        let mut more: HashTable<(K, Vec<V>)> = HashTable::new();
        for (key, value) in collection.into_parts().into_iter().flatten() {
            let hash = hasher.hash_one(&key);
            // `find` and `insert_unique` measured a third faster than `entry`.
            if first.find(hash, |e| e.0 == key).is_none() {
                first.insert_unique(hash, (key, value), |e| hasher.hash_one(&e.0));
                continue;
            }
            match more.entry(hash, |e| e.0 == key, |e| hasher.hash_one(&e.0)) {
                Entry::Occupied(e) => e.into_mut().1.push(value),
                Entry::Vacant(e) => {
                    e.insert((key, vec![value]));
                }
            }
        }
        JoinTable { hasher, first, more }
    }

    /// The values of `key`.
    #[inline(always)]
    fn get<'a>(&'a self, key: &K) -> Option<impl Iterator<Item = &'a V> + use<'a, K, V>> {
        let hash = self.hasher.hash_one(key);
        let (_, first) = self.first.find(hash, |e| e.0 == *key)?;
        let more = if self.more.is_empty() { None } else { self.more.find(hash, |e| e.0 == *key) };
        Some(std::iter::once(first).chain(more.into_iter().flat_map(|(_, values)| values)))
    }

    /// Whether `key` has a value; the look-ahead's cheaper probe.
    #[inline(always)]
    fn contains(&self, key: &K) -> bool {
        self.first.find(self.hasher.hash_one(key), |e| e.0 == *key).is_some()
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
    slot.fill(JoinTable::build(collection));
    Ok(())
}

/// The stage of `join()` (`LEFT = false`) and `left_join()` (`LEFT = true`).
#[doc(hidden)]
pub struct Join<'s, K, V1, K2, V2, const LEFT: bool> {
    right: &'s SideSlot<JoinTable<K2, V2>>,
    _in: PhantomData<fn(K, V1)>,
}

fn hash_join<K, V1, K2, V2, const LEFT: bool>(right: &SideSlot<JoinTable<K2, V2>>) -> Join<'_, K, V1, K2, V2, LEFT> {
    Join { right, _in: PhantomData }
}

/// Looks up every key of a chunk once, results unused. The lookups of a tight loop
/// overlap their cache misses, so the table's memory for the chunk is in cache when
/// the join probes it element by element, between the stages around it.
fn look_ahead<K: SameKey<K2>, V1, K2: Hash + Eq, V2>(right: &SideSlot<JoinTable<K2, V2>>, chunk: &[(K, V1)]) {
    if let Some(table) = right.try_get() {
        let found = chunk.iter().filter(|(key, _)| table.contains(key.same())).count();
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
