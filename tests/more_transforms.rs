//! `kv_swap`, `distinct`, `top_per_key`, `sample` against sequential references.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use beam::assert_that;
use beam::prelude::*;
use common::{keyed_datasets, per_key, sorted};

#[test]
fn kv_swap_and_distinct() {
    for (name, data) in keyed_datasets() {
        let out = pipeline! {
            pairs = from_iter(data.clone());
            swapped = pairs -> kv_swap() -> collect();
            keys = pairs -> keys() -> distinct() -> collect();
        }
        .run()
        .unwrap();
        assert_that!(out.swapped, "{name}: swapped").contains_in_any_order(data.iter().map(|&(k, v)| (v, k)));
        let keys = data.iter().map(|p| p.0).collect::<BTreeSet<_>>();
        assert_that!(out.keys, "{name}: distinct keys").contains_in_any_order(keys);
    }
}

#[test]
fn top_per_key_keeps_the_largest_values_of_each_key() {
    for (name, data) in keyed_datasets() {
        let out = pipeline! {
            pairs = from_iter(data.clone());
            best = pairs -> top_per_key(3, |v: &i64| *v) -> collect();
        }
        .run()
        .unwrap();
        let got: BTreeMap<u32, Vec<i64>> = out.best.into_iter().collect();
        let expect: BTreeMap<u32, Vec<i64>> = per_key(&data, Vec::new, |acc, v| acc.push(*v))
            .into_iter()
            .map(|(k, vs)| (k, sorted(vs).into_iter().rev().take(3).collect()))
            .collect();
        assert_eq!(got, expect, "{name}");
    }
}

fn sample_of(data: &[u32], n: usize, seed: u64, threads: usize) -> Vec<u32> {
    let out = pipeline! {
        xs = from_iter(data.iter().copied());
        picked = xs -> sample(n, seed) -> collect();
    }
    .threads(threads)
    .run()
    .unwrap();
    sorted(out.picked)
}

#[test]
fn sample_has_the_asked_size_and_is_seeded() {
    let data: Vec<u32> = (0..10_000).collect();
    for n in [0, 1, 10, 9_999, 10_000, 20_000] {
        let picked = sample_of(&data, n, 7, 3);
        assert_eq!(picked.len(), n.min(data.len()), "n = {n}");
        assert_eq!(picked.iter().collect::<BTreeSet<_>>().len(), picked.len(), "no element twice");
    }
    assert!(sample_of(&[], 5, 1, 2).is_empty());
    assert_eq!(sample_of(&data, 50, 42, 1), sample_of(&data, 50, 42, 1), "same seed, same sample");
    assert_ne!(sample_of(&data, 50, 42, 1), sample_of(&data, 50, 43, 1), "another seed, another sample");
}

#[test]
fn sample_is_uniform() {
    // 3000 samples of 10 out of 100: each element is picked ~300 times.
    let data: Vec<u32> = (0..100).collect();
    let mut picks = vec![0u32; 100];
    for seed in 0..3000 {
        for x in sample_of(&data, 10, seed, 2) {
            picks[x as usize] += 1;
        }
    }
    // Binomial(3000, 0.1): sd ~16.4; allow 5 sd.
    for (x, &n) in picks.iter().enumerate() {
        assert!((218..=382).contains(&n), "element {x} picked {n} times");
    }
}

#[test]
fn sample_is_uniform_when_workers_merge_their_samples() {
    // 20,000 elements read in many chunks by two workers; 400 samples of 10. Each
    // of 20 ranges of 1000 elements is picked ~200 times.
    let data: Vec<u32> = (0..20_000).collect();
    let mut picks = [0u32; 20];
    for seed in 0..400 {
        for x in sample_of(&data, 10, seed, 2) {
            picks[x as usize / 1000] += 1;
        }
    }
    // Binomial(4000, 0.05): sd ~13.8; allow 5 sd.
    for (range, &n) in picks.iter().enumerate() {
        assert!((131..=269).contains(&n), "range {range} picked {n} times");
    }
}

#[test]
fn partition_routes_each_element_to_one_output() {
    for (name, data) in keyed_datasets() {
        let out = pipeline! {
            pairs = from_iter(data.clone());
            (negative, small, large) = pairs -> partition(3, |(_, v): &(u32, i64)| match v {
                v if *v < 0 => 0,
                v if *v < 500 => 1,
                _ => 2,
            });
            neg = negative -> collect();
            sm = small -> values() -> collect();
            n_large = large -> count() -> collect();
        }
        .run()
        .unwrap();
        assert_that!(out.neg, "{name}: negative").contains_in_any_order(data.iter().copied().filter(|p| p.1 < 0));
        let small = data.iter().map(|p| p.1).filter(|v| (0..500).contains(v));
        assert_that!(out.sm, "{name}: small").contains_in_any_order(small);
        assert_that!(out.n_large, "{name}: large").is_singleton(data.iter().filter(|p| p.1 >= 500).count() as u64);
    }
}

#[test]
fn a_partition_index_out_of_range_is_an_error_naming_the_stage() {
    let err = pipeline! {
        xs = from_iter(0..100u32);
        (a, b) = xs -> split: partition(2, |x: &u32| (*x % 3) as usize);
        _a = a -> collect();
        _b = b -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.stage().unwrap().label, Some("split"));
    assert!(err.message().contains("returned 2, but there are only 2 outputs"), "{err}");
}

beam::transform! {
    /// Splits numbers into `n` classes by remainder.
    by_remainder(n) = partition($n, |x: &u32| (*x % $n) as usize)
}

#[test]
fn a_partition_inside_a_reusable_transform() {
    let out = pipeline! {
        xs = from_iter(0..30u32);
        (zero, one, two) = xs -> by_remainder!(3);
        z = zero -> collect();
        o = one -> count() -> collect();
        t = two -> count() -> collect();
    }
    .run()
    .unwrap();
    assert_that!(out.z).all_satisfy(|x| x % 3 == 0);
    assert_that!(out.o).is_singleton(10);
    assert_that!(out.t).is_singleton(10);
}
