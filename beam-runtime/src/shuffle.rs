//! The hash partitioning behind every keyed transform.
//!
//! Each worker keeps its keyed state split into [`PARTITIONS`] hash tables by key
//! hash. After the loop, a runner merges partition `p` of every worker in one task
//! (the local runner, in parallel on its threads; a distributed one, after sending
//! each partition to the worker that owns it), so no key moves twice.

use std::hash::{BuildHasher, Hash};

use crate::context::Scope;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use crate::collection::Collection;
use crate::lent::{Lent, LookUpParked, Parked};

/// How many partitions a shuffle splits keys into. A power of two, several times the
/// thread count of common machines, so the merge tasks balance.
pub const PARTITIONS: usize = 64;

/// The hasher of every keyed table, shuffle, join, co-group and side map: foldhash
/// with a fixed seed, so that a key hashes alike, and lands in the same partition, in
/// every process that runs the same binary (a distributed runner routes keys by it),
/// and in every run.
///
/// A fixed seed gives up the defence against inputs crafted so that their keys
/// collide (hash flooding); Spark and Flink partition by fixed hashes too. Hash
/// values may change with the version of foldhash, so every process of a run must
/// run the same build.
///
/// ```
/// use std::hash::BuildHasher;
///
/// let (a, b) = (beam::KeyHasher::default(), beam::KeyHasher::default());
/// assert_eq!(a.hash_one("auction 17"), b.hash_one("auction 17"));
/// ```
pub type KeyHasher = foldhash::fast::FixedState;

/// The partition of a key hash. Uses bits that the hash table inside the partition
/// does not: its buckets take the low bits, its control bytes the top seven.
#[inline(always)]
pub fn partition_of(hash: u64) -> usize {
    ((hash >> 40) as usize) & (PARTITIONS - 1)
}

/// Per-worker keyed state: one table of `(key, state)` per partition.
pub struct KeyedTables<K, S> {
    tables: Vec<HashTable<(K, S)>>,
}

impl<K: Hash + Eq, S> KeyedTables<K, S> {
    pub fn new() -> Self {
        KeyedTables { tables: (0..PARTITIONS).map(|_| HashTable::new()).collect() }
    }

    /// The state of `key`, created by `create` the first time the key is seen.
    #[inline(always)]
    pub fn entry(&mut self, key: K, create: impl FnOnce() -> S) -> &mut S {
        let hash = KeyHasher::default().hash_one(&key);
        self.entry_hashed(hash, key, create)
    }

    /// The same, for a key whose hash (by [`KeyHasher`]) is known.
    #[inline(always)]
    pub fn entry_hashed(&mut self, hash: u64, key: K, create: impl FnOnce() -> S) -> &mut S {
        self.entry_where(hash, key, |key, owned| owned == key, |key| key, create)
    }

    /// The state of the key whose borrowed form is `key` and hash `hash`: looked up
    /// as it is, made owned only the first time it is seen.
    #[inline(always)]
    pub fn entry_lent<Q: Lent<Owned = K>>(&mut self, hash: u64, key: Q, create: impl FnOnce() -> S) -> &mut S {
        self.entry_where(hash, key, Q::same_as, Q::own, create)
    }

    /// The state of `key` (of hash `hash`), found among the owned keys by `is`, and
    /// inserted as `own(key)` with state `create()` if it is new.
    #[inline(always)]
    fn entry_where<Q>(
        &mut self,
        hash: u64,
        key: Q,
        is: impl Fn(&Q, &K) -> bool,
        own: impl FnOnce(Q) -> K,
        create: impl FnOnce() -> S,
    ) -> &mut S {
        let hasher = KeyHasher::default();
        let table = &mut self.tables[partition_of(hash)];
        // Most look-ups find their key: a plain search for it is shorter than one
        // that also notes where the key would go, which a new key searches again for.
        match table.find_entry(hash, |e| is(&key, &e.0)) {
            Ok(found) => &mut found.into_mut().1,
            Err(absent) => {
                let new = (own(key), create());
                &mut absent.into_table().insert_unique(hash, new, |e| hasher.hash_one(&e.0)).into_mut().1
            }
        }
    }

    /// The tables, partition by partition.
    pub fn into_partitions(self) -> Vec<HashTable<(K, S)>> {
        self.tables
    }
}

/// The workers' tables, partition by partition: `result[p]` holds every worker's
/// non-empty table of partition `p`, to be merged by one task.
pub fn by_partition<K: Hash + Eq, S>(workers: Vec<KeyedTables<K, S>>) -> Vec<Vec<HashTable<(K, S)>>> {
    let mut by_partition: Vec<Vec<_>> = (0..PARTITIONS).map(|_| Vec::with_capacity(workers.len())).collect();
    for worker in workers {
        for (p, table) in worker.into_partitions().into_iter().enumerate() {
            if !table.is_empty() {
                by_partition[p].push(table);
            }
        }
    }
    by_partition
}

/// Merges the tables of one partition from several workers into one, with `merge`
/// for a key more than one of them has.
pub fn merge_partition<K: Hash + Eq, S>(
    mut tables: Vec<HashTable<(K, S)>>,
    merge: impl Fn(&mut S, S),
) -> HashTable<(K, S)> {
    // Merge into the largest table so the fewest entries move.
    tables.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let mut tables = tables.into_iter();
    let Some(mut merged) = tables.next() else { return HashTable::new() };
    for table in tables {
        merge_entries(&mut merged, table, &merge);
    }
    merged
}

/// Adds `entries` to `table`, with `merge` for a key it has already.
pub fn merge_entries<K: Hash + Eq, S>(
    table: &mut HashTable<(K, S)>,
    entries: impl IntoIterator<Item = (K, S)>,
    merge: impl Fn(&mut S, S),
) {
    let hasher = KeyHasher::default();
    for (key, state) in entries {
        let hash = hasher.hash_one(&key);
        match table.entry(hash, |e| e.0 == key, |e| hasher.hash_one(&e.0)) {
            Entry::Occupied(e) => merge(&mut e.into_mut().1, state),
            Entry::Vacant(e) => {
                e.insert((key, state));
            }
        }
    }
}

/// How many keyed values a worker holds before adding them to its tables.
const BATCH: usize = 256;

/// A worker's keyed tables, with the values not yet added to them. A table larger
/// than the cache makes each lookup wait on memory; values are hashed as they come
/// and added a batch at a time, in a loop of lookups alone, so that several of
/// those waits overlap instead of one at a time between the fused stages' work
/// (the file word count over 200,000 distinct words: 1.6x as fast).
pub struct Batched<K, V, S> {
    tables: KeyedTables<K, S>,
    pending: Vec<(u64, K, V)>,
    /// Borrowed keys lent by the loop's source, waiting in a batch as `pending`
    /// does until the end of their chunk at the latest (see `Leaf::end_chunk`).
    parked: Vec<(Parked, V)>,
    /// How to look the parked keys up, for their borrowed type, which only the
    /// code that parks them knows; kept for the end of the chunk.
    look_up: Option<LookUpParked<K, S>>,
}

impl<K: Hash + Eq, V, S> Batched<K, V, S> {
    pub fn new() -> Self {
        Batched { tables: KeyedTables::new(), pending: Vec::with_capacity(BATCH), parked: Vec::new(), look_up: None }
    }

    /// Adds `value` under `key` with `add`, the state created by `create` the
    /// first time the key is seen: now, or with the rest of its batch.
    #[inline(always)]
    pub fn add(&mut self, key: K, value: V, create: impl Fn() -> S, add: impl Fn(&mut S, V)) {
        let hash = KeyHasher::default().hash_one(&key);
        self.pending.push((hash, key, value));
        if self.pending.len() == BATCH {
            self.flush(create, add);
        }
    }

    /// Adds `value` under a borrowed key, `parked`, with the rest of its batch, and
    /// at the latest at the end of its chunk ([`flush_parked`](Self::flush_parked)).
    /// `look_up` finds the parked key's state; a full batch calls it directly,
    /// where the compiler inlines it.
    #[inline(always)]
    pub fn park(
        &mut self,
        parked: Parked,
        value: V,
        look_up: LookUpParked<K, S>,
        create: impl Fn() -> S,
        add: impl Fn(&mut S, V),
    ) {
        self.parked.push((parked, value));
        self.look_up = Some(look_up);
        if self.parked.len() == BATCH {
            self.add_parked(look_up, create, add);
        }
    }

    /// Adds every parked value, looking each key up as it is and making it owned
    /// only if it is new. Called before the chunk the keys borrow from is reused.
    pub fn flush_parked(&mut self, create: impl Fn() -> S, add: impl Fn(&mut S, V)) {
        if let Some(look_up) = self.look_up {
            self.add_parked(look_up, create, add);
        }
    }

    #[inline(always)]
    fn add_parked(&mut self, look_up: LookUpParked<K, S>, create: impl Fn() -> S, add: impl Fn(&mut S, V)) {
        for (parked, value) in self.parked.drain(..) {
            add(look_up(&mut self.tables, &parked, &create), value);
        }
    }

    fn flush(&mut self, create: impl Fn() -> S, add: impl Fn(&mut S, V)) {
        for (hash, key, value) in self.pending.drain(..) {
            add(self.tables.entry_hashed(hash, key, &create), value);
        }
    }

    /// The tables, every value added.
    pub fn into_tables(mut self, create: impl Fn() -> S, add: impl Fn(&mut S, V)) -> KeyedTables<K, S> {
        debug_assert!(self.parked.is_empty(), "borrowed keys are added at the end of their chunk");
        self.flush(create, add);
        self.tables
    }
}

impl<K: Hash + Eq, V, S> Default for Batched<K, V, S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Hash + Eq, S> Default for KeyedTables<K, S> {
    fn default() -> Self {
        Self::new()
    }
}

/// Splits keyed pairs into [`PARTITIONS`] by key hash, each input part in parallel
/// (tasks of `scope`'s stage). `result[p]` holds partition `p` as one piece per
/// input part: pieces are moved, never copied into one vector.
pub fn scatter<K: Hash + Send, V: Send>(input: Collection<(K, V)>, scope: &Scope) -> Vec<Vec<Vec<(K, V)>>> {
    let split: Vec<Vec<Vec<(K, V)>>> = scope.par_map(input.into_parts(), |part| {
        let hasher = KeyHasher::default();
        let mut split: Vec<Vec<(K, V)>> = (0..PARTITIONS).map(|_| Vec::new()).collect();
        for (k, v) in part {
            split[partition_of(hasher.hash_one(&k))].push((k, v));
        }
        split
    });
    let mut by_partition: Vec<Vec<Vec<(K, V)>>> = (0..PARTITIONS).map(|_| Vec::with_capacity(split.len())).collect();
    for pieces in split {
        for (p, piece) in pieces.into_iter().enumerate() {
            by_partition[p].push(piece);
        }
    }
    by_partition
}
