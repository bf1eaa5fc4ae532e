//! `(left, right) -> join()` and `left_join()`: a hash join. The right input is read
//! whole into a table; the left input streams past it, fused with the stages around
//! it, and never waits in memory.

use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::__private::{KeyValue, LookAhead, Stage, Witness};
use crate::collection::Collection;
use crate::error::Result;
use crate::shuffle::KeyHasher;
use crate::transform::side::SideSlot;
use crate::window::Windowed;

/// The inputs of a join or co-group are keyed by one type: `Self` is one input's key
/// type, `K` another's. `Left` and `Right` are types named after the two inputs (by
/// `pipeline!`), so that the message names them.
#[diagnostic::on_unimplemented(
    message = "the inputs of a join or co-group must be keyed by one type, but `{Left}` is keyed by `{Self}` and `{Right}` by `{K}`",
    label = "keys of different types"
)]
pub trait SameKey<K, Left, Right>: Sized {
    /// A join's right table, keyed by the left input's key type (which it is).
    fn same_table<V>(table: &SideSlot<JoinTable<K, V>>) -> &SideSlot<JoinTable<Self, V>>;
    /// Another input's pairs, keyed by this input's key type (which they are).
    fn same_pairs<V>(pairs: Collection<(K, V)>) -> Collection<(Self, V)>;
    /// The same, for timestamped pairs.
    fn same_windowed<V>(pairs: Collection<Windowed<(K, V)>>) -> Collection<Windowed<(Self, V)>>;
}

impl<K, Left, Right> SameKey<K, Left, Right> for K {
    #[inline(always)]
    fn same_table<V>(table: &SideSlot<JoinTable<K, V>>) -> &SideSlot<JoinTable<K, V>> {
        table
    }

    fn same_pairs<V>(pairs: Collection<(K, V)>) -> Collection<(K, V)> {
        pairs
    }

    fn same_windowed<V>(pairs: Collection<Windowed<(K, V)>>) -> Collection<Windowed<(K, V)>> {
        pairs
    }
}

// A second impl for every key type keeps rustc from inferring one input's key type
// from another's, so that a mismatch is reported by `SameKey`, in its words.
#[doc(hidden)]
pub struct NotAKey<K>(PhantomData<K>);

impl<K, Left, Right> SameKey<NotAKey<K>, Left, Right> for K {
    fn same_table<V>(_: &SideSlot<JoinTable<NotAKey<K>, V>>) -> &SideSlot<JoinTable<K, V>> {
        unreachable!("no input is keyed by `NotAKey`")
    }

    fn same_pairs<V>(_: Collection<(NotAKey<K>, V)>) -> Collection<(K, V)> {
        unreachable!("no input is keyed by `NotAKey`")
    }

    fn same_windowed<V>(_: Collection<Windowed<(NotAKey<K>, V)>>) -> Collection<Windowed<(K, V)>> {
        unreachable!("no input is keyed by `NotAKey`")
    }
}

/// The names of the inputs of a join or co-group, as a tuple of types named after
/// them, for error messages.
#[doc(hidden)]
pub struct InputNames<Names>(PhantomData<Names>);

impl<Names> Clone for InputNames<Names> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Names> Copy for InputNames<Names> {}

#[doc(hidden)]
pub fn input_names<Names>() -> InputNames<Names> {
    InputNames(PhantomData)
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
        for part in collection.into_parts() {
            for (key, value) in part {
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
        }
        JoinTable { hasher, first, more }
    }

    /// The first value of `key`, if it has one.
    #[inline(always)]
    fn first(&self, key: &K) -> Option<&(K, V)> {
        self.first.find(self.hasher.hash_one(key), |e| e.0 == *key)
    }

    /// The values of `key` after its first, if any. Most joins look up a unique key
    /// and never get here.
    fn more_values(&self, key: &K) -> &[V] {
        self.more.find(self.hasher.hash_one(key), |e| e.0 == *key).map_or(&[], |(_, values)| values)
    }

    /// Emits one output for each value of the key whose first value is `first`,
    /// made by `output` from the key, the left value and the
    /// right value. The last output takes the key and the left value by move: a key
    /// with one value, the common case, clones neither.
    #[inline(always)]
    fn emit_each<V1: Clone, O>(
        &self,
        first: &V,
        key: K,
        left: V1,
        output: impl Fn(K, V1, V) -> O,
        emit: &mut impl FnMut(O),
    ) where
        K: Clone,
        V: Clone,
    {
        if !self.more.is_empty() {
            for value in self.more_values(&key) {
                emit(output(key.clone(), left.clone(), value.clone()));
            }
        }
        emit(output(key, left, first.clone()));
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
pub struct Join<'s, K, V1, V2, const LEFT: bool> {
    right: &'s SideSlot<JoinTable<K, V2>>,
    _in: PhantomData<fn(V1)>,
}

/// `join()`: `(k, (v1, v2))` for every `v1` of `k` on the left and `v2` on the right.
#[allow(clippy::type_complexity)]
pub fn join<K, V1, K2, V2, Left, Right>(
    _: Witness<(K, V1)>,
    _: InputNames<(Left, Right)>,
    right: &SideSlot<JoinTable<K2, V2>>,
) -> (Join<'_, K, V1, V2, false>, Witness<(K, (V1, V2))>)
where
    K: SameKey<K2, Left, Right>,
{
    (Join { right: K::same_table(right), _in: PhantomData }, Witness::new())
}

/// `left_join()`: `(k, (v1, Some(v2)))` for every match, `(k, (v1, None))` for a
/// left value whose key the right input does not have.
#[allow(clippy::type_complexity)]
pub fn left_join<K, V1, K2, V2, Left, Right>(
    _: Witness<(K, V1)>,
    _: InputNames<(Left, Right)>,
    right: &SideSlot<JoinTable<K2, V2>>,
) -> (Join<'_, K, V1, V2, true>, Witness<(K, (V1, Option<V2>))>)
where
    K: SameKey<K2, Left, Right>,
{
    (Join { right: K::same_table(right), _in: PhantomData }, Witness::new())
}

/// What an inner join emits for one left element: a pair per matching right value.
#[inline(always)]
fn emit_inner<K: Hash + Eq + Clone, V1: Clone, V2: Clone>(
    table: &JoinTable<K, V2>,
    first: Option<&(K, V2)>,
    key: K,
    left: V1,
    emit: &mut impl FnMut((K, (V1, V2))),
) {
    if let Some((_, first)) = first {
        table.emit_each(first, key, left, |k, l, r| (k, (l, r)), emit);
    }
}

/// What a left join emits for one left element: a pair per matching right value, or
/// the element with `None`.
#[inline(always)]
fn emit_left<K: Hash + Eq + Clone, V1: Clone, V2: Clone>(
    table: &JoinTable<K, V2>,
    first: Option<&(K, V2)>,
    key: K,
    left: V1,
    emit: &mut impl FnMut((K, (V1, Option<V2>))),
) {
    match first {
        Some((_, first)) => table.emit_each(first, key, left, |k, l, r| (k, (l, Some(r))), emit),
        None => emit((key, (left, None))),
    }
}

/// What the look-up of a chunk found, per element: the first value of its key.
#[doc(hidden)]
pub struct Found<'s, K, V> {
    firsts: Vec<Option<&'s (K, V)>>,
    next: usize,
}

impl<'s, K, V> Found<'s, K, V> {
    /// The next element's look-up.
    #[inline(always)]
    fn take(&mut self) -> Option<&'s (K, V)> {
        let first = self.firsts[self.next];
        self.next += 1;
        first
    }
}

/// The `Stage` and `LookAhead` impls of one kind of join: `join()` (`false`) or
/// `left_join()` (`true`), with its output value and what it emits per element.
macro_rules! join_stage {
    ($left:literal, $right_out:ty, $emit:ident) => {
        impl<K, V1, V2> Stage for Join<'_, K, V1, V2, $left>
        where
            K: Hash + Eq + Clone + Send + Sync,
            V1: Clone,
            V2: Clone + Send + Sync,
        {
            type In = (K, V1);
            type Out = (K, (V1, $right_out));
            #[inline(always)]
            fn process<E: FnMut(Self::Out)>(&self, (key, left): (K, V1), emit: &mut E) {
                let table = self.right.get();
                $emit(table, table.first(&key), key, left, emit);
            }
        }

        impl<'s, K, V1, V2> LookAhead for Join<'s, K, V1, V2, $left>
        where
            K: Hash + Eq + Clone + Send + Sync,
            V1: Clone,
            V2: Clone + Send + Sync,
        {
            type Found = Found<'s, K, V2>;

            fn found(&self) -> Self::Found {
                Found { firsts: Vec::with_capacity(crate::runner::CHUNK), next: 0 }
            }

            fn look_ahead(&self, found: &mut Self::Found, chunk: &[(K, V1)]) {
                let table = self.right.get();
                found.firsts.clear();
                found.firsts.extend(chunk.iter().map(|(key, _)| table.first(key)));
                found.next = 0;
            }

            #[inline(always)]
            fn process_found<E: FnMut(Self::Out)>(&self, found: &mut Self::Found, (key, left): (K, V1), emit: &mut E) {
                let table = self.right.get();
                $emit(table, found.take(), key, left, emit);
            }
        }
    };
}

join_stage!(false, V2, emit_inner);
join_stage!(true, Option<V2>, emit_left);
