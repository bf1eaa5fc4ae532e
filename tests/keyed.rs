//! Keyed and global transforms against sequential folds on the same data, including
//! empty input, one element, one key holding 90% of the data, and a million keys.

mod common;

use beam::assert_that;
use beam::prelude::*;
use common::{as_map, keyed_datasets, many_keys, per_key, sorted};

#[test]
fn group_by_key_matches_sequential_grouping() {
    let mut datasets = keyed_datasets();
    datasets.push(("a million keys", many_keys()));
    for (name, data) in datasets {
        let out = pipeline! {
            pairs = from_iter(data.clone());
            groups = pairs -> group_by_key() -> collect();
        }
        .run()
        .unwrap();
        let got = as_map(out.groups.into_iter().map(|(k, vs)| (k, sorted(vs))).collect());
        let expect = per_key(&data, Vec::new, |acc, v| acc.push(*v));
        let expect = expect.into_iter().map(|(k, vs)| (k, sorted(vs))).collect();
        assert_eq!(got, expect, "{name}");
    }
}

#[test]
fn built_in_per_key_combiners() {
    let mut datasets = keyed_datasets();
    datasets.push(("a million keys", many_keys()));
    for (name, data) in datasets {
        let out = pipeline! {
            pairs = from_iter(data.iter().copied());
            sums = pairs -> sum_per_key() -> collect();
            counts = pairs -> count_per_key() -> collect();
            mins = pairs -> min_per_key() -> collect();
            maxs = pairs -> max_per_key() -> collect();
            means = pairs -> mean_per_key() -> collect();
        }
        .run()
        .unwrap();
        assert_eq!(as_map(out.sums), per_key(&data, || 0, |a, v| *a += v), "{name}: sum");
        assert_eq!(as_map(out.counts), per_key(&data, || 0, |a, _| *a += 1), "{name}: count");
        assert_eq!(as_map(out.mins), per_key(&data, || i64::MAX, |a, v| *a = (*a).min(*v)), "{name}: min");
        assert_eq!(as_map(out.maxs), per_key(&data, || i64::MIN, |a, v| *a = (*a).max(*v)), "{name}: max");
        let expect = per_key(&data, || (0i64, 0u32), |a, v| *a = (a.0 + v, a.1 + 1));
        let got = as_map(out.means);
        assert_eq!(got.len(), expect.len(), "{name}: mean keys");
        for (k, (sum, n)) in expect {
            assert!((got[&k] - sum as f64 / f64::from(n)).abs() < 1e-9, "{name}: mean of {k}");
        }
    }
}

/// A top-3 per key, as a user would write one: keeps the three largest values.
struct Top3;

impl CombineFn<i64> for Top3 {
    type Acc = Vec<i64>;
    type Out = Vec<i64>;
    fn create_accumulator(&self) -> Vec<i64> {
        Vec::new()
    }
    fn add_input(&self, acc: &mut Vec<i64>, x: i64) {
        acc.push(x);
        acc.sort_unstable_by(|a, b| b.cmp(a));
        acc.truncate(3);
    }
    fn merge_accumulators(&self, acc: &mut Vec<i64>, other: Vec<i64>) {
        for x in other {
            self.add_input(acc, x);
        }
    }
    fn extract_output(&self, acc: Vec<i64>) -> Vec<i64> {
        acc
    }
}

#[test]
fn user_combine_fn_per_key_and_globally() {
    for (name, data) in keyed_datasets() {
        let out = pipeline! {
            pairs = from_iter(data.clone());
            per_key = pairs -> combine_per_key(Top3) -> collect();
            overall = pairs -> values() -> combine_globally(Top3) -> collect();
        }
        .run()
        .unwrap();
        let expect = per_key(&data, Vec::new, |acc, v| acc.push(*v));
        let expect =
            expect.into_iter().map(|(k, vs)| (k, sorted(vs).into_iter().rev().take(3).collect::<Vec<_>>())).collect();
        assert_eq!(as_map(out.per_key), expect, "{name}: per key");
        // A user combiner has no default: no element for an empty input.
        let all: Vec<i64> = sorted(data.iter().map(|p| p.1).collect()).into_iter().rev().take(3).collect();
        let expect_overall = if data.is_empty() { vec![] } else { vec![all] };
        assert_eq!(out.overall, expect_overall, "{name}: globally");
    }
}

/// `sum()`, `min()`, `max()` and `mean()` over a whole collection, under the names
/// Beam users type, against a sequential fold; and a plain function of two values
/// as a combiner, per key and globally.
#[test]
fn global_aggregates_and_function_combiners() {
    let mut datasets = keyed_datasets();
    datasets.push(("a million keys", many_keys()));
    for (name, data) in datasets {
        let out = pipeline! {
            values = from_iter(data.iter().map(|p| p.1));
            sum = values -> sum() -> collect();
            min = values -> min() -> collect();
            max = values -> max() -> collect();
            mean = values -> mean() -> collect();
            pairs = from_iter(data.clone());
            spread = pairs
                -> map(|(k, v): (u32, i64)| (k, (v, v)))
                -> reduce_per_key(|a, b| (a.0.min(b.0), a.1.max(b.1)))
                -> collect();
            product_of_signs = values -> map(|v: i64| v.signum()) -> reduce(|a, b| a * b) -> collect();
            named = values -> combine_globally(Reduce(|a: i64, b: i64| a.max(b))) -> collect();
        }
        .run()
        .unwrap();
        let values: Vec<i64> = data.iter().map(|p| p.1).collect();
        assert_eq!(out.sum, vec![values.iter().sum::<i64>()], "{name}: sum");
        assert_eq!(out.min, values.iter().min().into_iter().copied().collect::<Vec<_>>(), "{name}: min");
        assert_eq!(out.max, values.iter().max().into_iter().copied().collect::<Vec<_>>(), "{name}: max");
        match out.mean.as_slice() {
            [] => assert!(values.is_empty(), "{name}: mean"),
            [mean] => {
                let expect = values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64;
                assert!((mean - expect).abs() <= 1e-9 * expect.abs().max(1.0), "{name}: mean {mean} vs {expect}");
            }
            more => panic!("{name}: {} means", more.len()),
        }
        let expect = per_key(&data, || (i64::MAX, i64::MIN), |a, &v| *a = (a.0.min(v), a.1.max(v)));
        assert_eq!(as_map(out.spread), expect, "{name}: a function per key");
        let signs: Vec<i64> = values.iter().map(|v| v.signum()).collect();
        let expect = signs.iter().copied().reduce(|a, b| a * b).into_iter().collect::<Vec<_>>();
        assert_eq!(out.product_of_signs, expect, "{name}: a function globally, nothing for no input");
        assert_eq!(out.named, out.max, "{name}: Reduce as a CombineFn");
    }
}

#[test]
fn count_per_element_and_count() {
    let mut datasets = keyed_datasets();
    datasets.push(("a million keys", many_keys()));
    for (name, data) in datasets {
        let out = pipeline! {
            keys = from_iter(data.iter().map(|p| p.0));
            counts = keys -> count_per_element() -> collect();
            n = keys -> count() -> collect();
            total = keys -> map(|k: u32| u64::from(k)) -> combine_globally(Sum) -> collect();
        }
        .run()
        .unwrap();
        assert_eq!(as_map(out.counts), per_key(&data, || 0u64, |a, _| *a += 1), "{name}: count_per_element");
        assert_eq!(out.n, vec![data.len() as u64], "{name}: count");
        assert_eq!(out.total, vec![data.iter().map(|p| u64::from(p.0)).sum::<u64>()], "{name}: sum");
    }
}

#[test]
fn top_returns_the_largest_first() {
    for (name, data) in keyed_datasets() {
        let out = pipeline! {
            pairs = from_iter(data.clone());
            best = pairs -> top(5, |(_, v): &(u32, i64)| *v) -> collect();
        }
        .run()
        .unwrap();
        let got: Vec<i64> = out.best.iter().map(|p| p.1).collect();
        let expect: Vec<i64> = sorted(data.iter().map(|p| p.1).collect()).into_iter().rev().take(5).collect();
        assert_eq!(got, expect, "{name}");
    }
}

#[test]
fn min_and_max_globally_skip_empty_input() {
    let empty: Vec<f64> = Vec::new();
    let out = pipeline! {
        xs = from_iter(empty);
        lo = xs -> combine_globally(Min) -> collect();
        hi = xs -> combine_globally(Max) -> collect();
        n = xs -> count() -> collect();
    }
    .run()
    .unwrap();
    assert_that!(out.lo).is_empty();
    assert_that!(out.hi).is_empty();
    assert_that!(out.n).is_singleton(0);
}

#[test]
fn shuffled_output_feeds_further_stages() {
    for (name, data) in keyed_datasets() {
        let out = pipeline! {
            pairs = from_iter(data.clone());
            sums = pairs -> sum_per_key();
            positive = sums -> filter(|(_, s): &(u32, i64)| *s > 0) -> keys() -> collect();
            buckets = sums -> map(|(_, s): (u32, i64)| (s.signum(), 1u64)) -> sum_per_key() -> collect();
        }
        .run()
        .unwrap();
        let sums = per_key(&data, || 0i64, |a, v| *a += v);
        let expect: Vec<u32> = sums.iter().filter(|(_, s)| **s > 0).map(|(k, _)| *k).collect();
        assert_eq!(sorted(out.positive), expect, "{name}: positive");
        let mut expect_buckets = std::collections::BTreeMap::new();
        for s in sums.values() {
            *expect_buckets.entry(s.signum()).or_insert(0u64) += 1;
        }
        let got: std::collections::BTreeMap<i64, u64> = out.buckets.into_iter().collect();
        assert_eq!(got, expect_buckets, "{name}: buckets");
    }
}

/// A key hashes alike, and so lands in the same partition, in every process: this
/// test runs its own binary again and compares the hashes the child computed.
#[test]
fn key_hashes_are_the_same_in_every_process() {
    use std::hash::BuildHasher;
    let hasher = beam::KeyHasher::default();
    let mut hashes: Vec<u64> = ["", "a", "auction 17", "ünïcödé"].iter().map(|k| hasher.hash_one(k)).collect();
    hashes.extend([0u64, 1, u64::MAX].iter().map(|k| hasher.hash_one(k)));
    hashes.push(hasher.hash_one((7u32, "seven".to_owned())));
    let line = format!("key hashes: {hashes:?}");
    if std::env::var_os("BEAM_PRINT_KEY_HASHES").is_some() {
        println!("{line}");
        return;
    }
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["key_hashes_are_the_same_in_every_process", "--exact", "--nocapture", "--test-threads=1"])
        .env("BEAM_PRINT_KEY_HASHES", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(stdout.contains(&line), "this process: {line}\nthe child:\n{stdout}");
}
