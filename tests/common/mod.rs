//! Data sets shared by the runtime tests: seeded random, empty, one element, one hot
//! key, and many distinct keys.

#![allow(dead_code)]

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `(name, pairs)`: every keyed test runs on each of these.
pub fn keyed_datasets() -> Vec<(&'static str, Vec<(u32, i64)>)> {
    let mut rng = StdRng::seed_from_u64(42);
    let random: Vec<(u32, i64)> =
        (0..20_000).map(|_| (rng.random_range(0..500), rng.random_range(-1000..1000))).collect();
    let skewed: Vec<(u32, i64)> = (0..50_000)
        .map(|_| {
            let key = if rng.random_bool(0.9) { 7 } else { rng.random_range(0..10_000) };
            (key, rng.random_range(-1000..1000))
        })
        .collect();
    vec![("empty", vec![]), ("single", vec![(3, -5)]), ("random", random), ("skewed", skewed)]
}

/// A million distinct keys, each appearing once or twice.
pub fn many_keys() -> Vec<(u32, i64)> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut pairs: Vec<(u32, i64)> =
        (0..1_000_000u32).map(|k| (k.wrapping_mul(2_654_435_761), rng.random_range(0..100))).collect();
    pairs.extend((0..100_000u32).map(|k| (k.wrapping_mul(2_654_435_761), 1)));
    pairs
}

/// Plain values: the element-wise tests run on each of these.
pub fn value_datasets() -> Vec<(&'static str, Vec<i64>)> {
    let mut rng = StdRng::seed_from_u64(1);
    let random: Vec<i64> = (0..30_000).map(|_| rng.random_range(-10_000..10_000)).collect();
    vec![("empty", vec![]), ("single", vec![42]), ("random", random)]
}

pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// The sequential reference of a per-key fold.
pub fn per_key<V, A>(pairs: &[(u32, V)], init: impl Fn() -> A, add: impl Fn(&mut A, &V)) -> BTreeMap<u32, A> {
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        add(out.entry(*k).or_insert_with(&init), v);
    }
    out
}

pub fn as_map<V>(pairs: Vec<(u32, V)>) -> BTreeMap<u32, V> {
    let len = pairs.len();
    let map: BTreeMap<u32, V> = pairs.into_iter().collect();
    assert_eq!(map.len(), len, "a key was emitted twice");
    map
}
