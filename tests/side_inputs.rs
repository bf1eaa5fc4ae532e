//! Side inputs: a stage reads another collection whole, as a map, multimap, list or
//! single value.

mod common;

use std::collections::BTreeMap;

use beam::assert_that;
use beam::prelude::*;
use common::{keyed_datasets, sorted};

#[test]
fn enrich_with_a_map_from_another_source() {
    let rates = vec![("eur".to_owned(), 1.0), ("usd".to_owned(), 0.5)];
    let orders: Vec<(u32, String, f64)> =
        (0..10_000).map(|i| (i, if i % 3 == 0 { "usd" } else { "eur" }.to_owned(), i as f64)).collect();
    let out = pipeline! {
        rates = from_iter(rates.clone());
        orders = from_iter(orders.clone());
        in_eur = orders
            -> convert: map_with(as_map(rates), |(id, currency, amount): (u32, String, f64), rates: &SideMap<String, f64>| {
                   (id, amount * rates[&currency])
               })
            -> collect();
    }
    .run()
    .unwrap();
    let got: BTreeMap<u32, f64> = out.in_eur.into_iter().collect();
    for (id, currency, amount) in &orders {
        let rate = if currency == "usd" { 0.5 } else { 1.0 };
        assert_eq!(got[id], amount * rate);
    }
}

#[test]
fn normalize_by_a_total_computed_from_the_same_input() {
    for (name, data) in keyed_datasets() {
        let out = pipeline! {
            pairs = from_iter(data.clone());
            total = pairs -> values() -> map(|v: i64| v.abs()) -> combine_globally(Sum);
            count = pairs -> count();
            big = pairs -> filter_with(as_singleton(count), |_p: &(u32, i64), n: &u64| *n > 1) -> collect();
            shares = pairs
                -> map_with(as_singleton(total), |(k, v): (u32, i64), total: &i64| (k, v.abs() as f64 / (*total).max(1) as f64))
                -> collect();
        }
        .run()
        .unwrap();
        let total: i64 = data.iter().map(|p| p.1.abs()).sum();
        assert_eq!(out.shares.len(), data.len(), "{name}");
        let sum: f64 = out.shares.iter().map(|s| s.1).sum();
        if total > 0 {
            assert!((sum - 1.0).abs() < 1e-6, "{name}: shares add up to {sum}");
        }
        assert_eq!(out.big.len(), if data.len() > 1 { data.len() } else { 0 }, "{name}");
    }
}

#[test]
fn multimap_and_list_side_inputs() {
    let tags = vec![(1u32, "a"), (1, "b"), (2, "c")];
    let out = pipeline! {
        tags = from_iter(tags.clone());
        ids = from_iter(vec![1u32, 2, 3]);
        tagged = ids
            -> flat_map_with(as_multimap(tags), |id: u32, tags: &SideMap<u32, Vec<&str>>| {
                   tags.get(&id).cloned().unwrap_or_default().into_iter().map(move |t| (id, t))
               })
            -> collect();
        sizes = ids -> map_with(as_list(tags), |id: u32, all: &Vec<(u32, &str)>| (id, all.len())) -> collect();
    }
    .run()
    .unwrap();
    assert_that!(out.tagged).contains_in_any_order([(1, "a"), (1, "b"), (2, "c")]);
    assert_that!(out.sizes).contains_in_any_order([(1, 3), (2, 3), (3, 3)]);
}

#[test]
fn a_singleton_side_input_must_hold_one_element() {
    let err = pipeline! {
        xs = from_iter(0..10u32);
        many = from_iter(vec![1u32, 2]);
        _ys = xs -> scale: map_with(as_singleton(many), |x: u32, m: &u32| x * m) -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.stage().unwrap().label, Some("scale"));
    assert!(err.message().contains("exactly one element, but holds 2"), "{err}");

    let err = pipeline! {
        xs = from_iter(0..10u32);
        none = from_iter(Vec::<u32>::new());
        _ys = xs -> scale: map_with(as_singleton(none), |x: u32, m: &u32| x * m) -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.stage().unwrap().label, Some("scale"));
    assert!(err.message().contains("exactly one element, but holds 0"), "{err}");

    let err = pipeline! {
        xs = from_iter(0..10u32);
        pairs = from_iter(vec![(1u32, 1u32), (1, 2)]);
        _ys = xs -> lookup: map_with(as_map(pairs), |x: u32, m: &SideMap<u32, u32>| x + m.len() as u32) -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.stage().unwrap().label, Some("lookup"));
    assert!(err.message().contains("has a key twice"), "{err}");
}

#[test]
fn map_multimap_and_list_side_inputs_match_a_sequential_lookup() {
    // Each keyed dataset (empty, one pair, random, one hot key) as the side input of
    // 2000 seeded lookups.
    for (name, side) in keyed_datasets() {
        let probes: Vec<u32> = (0..2000u32).map(|i| i.wrapping_mul(2_654_435_761) % 600).collect();
        let mut last: BTreeMap<u32, i64> = BTreeMap::new();
        let mut all: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
        for &(k, v) in &side {
            last.insert(k, v);
            all.entry(k).or_default().push(v);
        }
        let distinct: Vec<(u32, i64)> = last.clone().into_iter().collect();
        let out = pipeline! {
            probes = from_iter(probes.clone());
            unique = from_iter(distinct.clone());
            pairs = from_iter(side.clone());
            found = probes -> map_with(as_map(unique), |p: u32, m: &SideMap<u32, i64>| (p, m.get(&p).copied())) -> collect();
            sums = probes -> map_with(as_multimap(pairs), |p: u32, m: &SideMap<u32, Vec<i64>>| {
                (p, m.get(&p).map_or(0, |vs| vs.iter().sum::<i64>()))
            }) -> collect();
            sizes = probes -> filter_with(as_list(pairs), |p: &u32, all: &Vec<(u32, i64)>| *p as usize % 7 == all.len() % 7) -> collect();
        }
        .run()
        .unwrap();
        let found = probes.iter().map(|&p| (p, last.get(&p).copied()));
        assert_that!(out.found, "{name}: as_map").contains_in_any_order(found);
        let sums = probes.iter().map(|&p| (p, all.get(&p).map_or(0, |vs| vs.iter().sum::<i64>())));
        assert_that!(out.sums, "{name}: as_multimap").contains_in_any_order(sums);
        let sizes = probes.iter().copied().filter(|&p| p as usize % 7 == side.len() % 7);
        assert_that!(out.sizes, "{name}: as_list").contains_in_any_order(sizes);
    }
}

type Inner = Vec<(u32, (i64, i64))>;
type LeftOuter = Vec<(u32, (i64, Option<i64>))>;

/// Sequential inner and left joins of two keyed lists.
fn reference_joins(left: &[(u32, i64)], right: &[(u32, i64)]) -> (Inner, LeftOuter) {
    let mut inner = Vec::new();
    let mut outer_left = Vec::new();
    for &(k, v1) in left {
        let matches: Vec<i64> = right.iter().filter(|r| r.0 == k).map(|r| r.1).collect();
        if matches.is_empty() {
            outer_left.push((k, (v1, None)));
        }
        for v2 in matches {
            inner.push((k, (v1, v2)));
            outer_left.push((k, (v1, Some(v2))));
        }
    }
    (sorted(inner), sorted(outer_left))
}

#[test]
fn joins_match_a_sequential_join() {
    let datasets = keyed_datasets();
    // Small right sides keep the sequential reference quick; keys on one side
    // only, duplicates on both sides, an empty side and a hot key all occur.
    let rights: Vec<Vec<(u32, i64)>> = vec![
        vec![],
        vec![(3, 1), (3, 2), (7, 9)],
        (0..600).map(|k| (k, i64::from(k) * 10)).collect(),
        (0..50).flat_map(|k| [(k * 2, 1), (k * 2, 2)]).collect(),
        // A hot key on the right: the skewed left's hot key 7 has 200 values.
        (0..200).map(|v| (7, v)).chain([(8, 1), (501, 2)]).collect(),
    ];
    for (name, left) in &datasets {
        let left: Vec<(u32, i64)> = left.iter().copied().take(3000).collect();
        let shifted: Vec<(u32, i64)> = left.iter().map(|&(k, v)| (k + 1, v)).collect();
        for (r, right) in rights.iter().enumerate() {
            // Joins that read their source directly look each chunk up first; one
            // behind a `map` probes element by element.
            let out = pipeline! {
                l = from_iter(left.clone());
                r = from_iter(right.clone());
                inner = (l, r) -> join() -> collect();
                outer = (l, r) -> left_join() -> collect();
                moved = l -> map(|(k, v): (u32, i64)| (k + 1, v));
                inner_moved = (moved, r) -> join() -> collect();
            }
            .run()
            .unwrap();
            let (inner, outer) = reference_joins(&left, right);
            assert_that!(out.inner, "{name} join right {r}").contains_in_any_order(inner);
            assert_that!(out.outer, "{name} left_join right {r}").contains_in_any_order(outer);
            let (inner_moved, _) = reference_joins(&shifted, right);
            assert_that!(out.inner_moved, "{name} join after map, right {r}").contains_in_any_order(inner_moved);
        }
    }
}

#[test]
fn joins_of_owned_strings() {
    // Owned keys and values are moved into a key's last output and cloned for the
    // others; every output must still be whole.
    let left: Vec<(String, String)> = (0..3000).map(|i| (format!("k{}", i % 40), format!("l{i}"))).collect();
    let right: Vec<(String, String)> =
        (0..60).flat_map(|k| (0..k % 3).map(move |j| (format!("k{k}"), format!("r{k}.{j}")))).collect();
    let out = pipeline! {
        l = from_slice(&left);
        r = from_slice(&right);
        inner = (l, r) -> join() -> collect();
        outer = (l, r) -> left_join() -> collect();
    }
    .run()
    .unwrap();
    let mut inner = Vec::new();
    let mut outer = Vec::new();
    for (k, v1) in &left {
        let matches: Vec<&String> = right.iter().filter(|r| &r.0 == k).map(|r| &r.1).collect();
        if matches.is_empty() {
            outer.push((k.clone(), (v1.clone(), None)));
        }
        for v2 in matches {
            inner.push((k.clone(), (v1.clone(), v2.clone())));
            outer.push((k.clone(), (v1.clone(), Some(v2.clone()))));
        }
    }
    assert_that!(out.inner).contains_in_any_order(inner);
    assert_that!(out.outer).contains_in_any_order(outer);
}

#[test]
fn joins_of_collections_with_raw_names() {
    let out = pipeline! {
        r#match = from_iter(vec![(1u32, "a"), (2, "b")]);
        r#type = from_iter(vec![(1u32, 10), (3, 30)]);
        joined = (r#match, r#type) -> join() -> collect();
        grouped = (r#match, r#type) -> co_group_by_key() -> collect();
    }
    .run()
    .unwrap();
    assert_that!(out.joined).contains_in_any_order([(1, ("a", 10))]);
    assert_that!(out.grouped).satisfies(|g| g.len() == 3);
}

#[test]
fn a_self_join_of_a_source() {
    // The right side is the loop's own input: the join runs in a second pass over
    // it, looking each chunk up in the table built from the first.
    let data: Vec<(u32, u32)> = (0..5000).map(|i| (i % 100, i)).collect();
    let out = pipeline! {
        pairs = from_iter(data.clone());
        n = (pairs, pairs) -> join() -> count() -> collect();
    }
    .run()
    .unwrap();
    assert_that!(out.n).is_singleton(100 * 50 * 50);
}

#[test]
fn a_join_of_two_collections_from_one_source() {
    let data: Vec<(u32, i64)> = (0..1000).map(|i| (i % 10, i64::from(i))).collect();
    let out = pipeline! {
        pairs = from_iter(data.clone());
        sums = pairs -> sum_per_key();
        with_sum = (pairs, sums) -> join() -> collect();
    }
    .run()
    .unwrap();
    assert_that!(out.with_sum).satisfies(|all| all.len() == 1000);
    let sums: BTreeMap<u32, i64> = data.iter().fold(BTreeMap::new(), |mut m, &(k, v)| {
        *m.entry(k).or_insert(0) += v;
        m
    });
    assert!(out.with_sum.iter().all(|(k, (_, s))| sums[k] == *s));
}

type Groups<'a> = BTreeMap<u32, (Vec<i64>, Vec<i64>, Vec<&'a str>)>;

#[test]
fn co_group_by_key_outer_join_and_partitioned_join_match_sequential_grouping() {
    let rights: [Vec<(u32, i64)>; 2] = [(0..300u32).flat_map(|k| [(k * 3, 1), (k * 3, 2)]).collect(), Vec::new()];
    for ((name, left), right) in keyed_datasets().into_iter().flat_map(|d| rights.iter().map(move |r| (d.clone(), r))) {
        let left: Vec<(u32, i64)> = left.into_iter().take(2000).collect();
        let right = right.clone();
        let third: Vec<(u32, &str)> = vec![(3, "x"), (9999, "y")];
        let out = pipeline! {
            l = from_iter(left.clone());
            r = from_iter(right.clone());
            t = from_iter(third.clone());
            grouped = (l, r, t) -> co_group_by_key() -> collect();
            outer = (l, r) -> outer_join() -> collect();
            partitioned = (l, r) -> partitioned_join() -> collect();
        }
        .run()
        .unwrap();
        // Reference grouping.
        let mut expect: Groups = BTreeMap::new();
        for &(k, v) in &left {
            expect.entry(k).or_default().0.push(v);
        }
        for &(k, v) in &right {
            expect.entry(k).or_default().1.push(v);
        }
        for &(k, v) in &third {
            expect.entry(k).or_default().2.push(v);
        }
        let got: Groups =
            out.grouped.into_iter().map(|(k, (a, b, c))| (k, (sorted(a), sorted(b), sorted(c)))).collect();
        let expect: Groups = expect.into_iter().map(|(k, (a, b, c))| (k, (sorted(a), sorted(b), sorted(c)))).collect();
        assert_eq!(got, expect, "{name}, {} right: co_group_by_key", right.len());

        let mut outer = Vec::new();
        for (k, (ls, rs, _)) in &got {
            match (ls.is_empty(), rs.is_empty()) {
                (false, true) => outer.extend(ls.iter().map(|l| (*k, (Some(*l), None)))),
                (true, false) => outer.extend(rs.iter().map(|r| (*k, (None, Some(*r))))),
                (false, false) => {
                    for l in ls {
                        outer.extend(rs.iter().map(|r| (*k, (Some(*l), Some(*r)))));
                    }
                }
                (true, true) => {}
            }
        }
        let inner: Vec<(u32, (i64, i64))> = outer.iter().filter_map(|&(k, (l, r))| Some((k, (l?, r?)))).collect();
        assert_that!(out.outer, "{name}, {} right: outer_join", right.len()).contains_in_any_order(outer);
        assert_that!(out.partitioned, "{name}, {} right: partitioned_join", right.len()).contains_in_any_order(inner);
    }
}

#[test]
fn co_group_by_key_of_six_inputs() {
    // Six inputs of different value types over overlapping key ranges: each key is in
    // some inputs only, and the skewed dataset puts most values on one key.
    for (name, data) in keyed_datasets() {
        let twice: Vec<(u32, String)> = data.iter().step_by(2).map(|&(k, v)| (k + 1, v.to_string())).collect();
        let small: Vec<(u32, u8)> = (0..50u32).map(|k| (k * 7, k as u8)).collect();
        let none: Vec<(u32, bool)> = Vec::new();
        let one: Vec<(u32, char)> = vec![(3, 'x')];
        let flags: Vec<(u32, bool)> = data.iter().map(|&(k, v)| (k, v > 0)).collect();
        let out = pipeline! {
            a = from_iter(data.clone());
            b = from_iter(twice.clone());
            c = from_iter(small.clone());
            d = from_iter(none.clone());
            e = from_iter(one.clone());
            f = from_iter(flags.clone());
            grouped = (a, b, c, d, e, f) -> co_group_by_key() -> collect();
        }
        .run()
        .unwrap();
        type Six = (Vec<i64>, Vec<String>, Vec<u8>, Vec<bool>, Vec<char>, Vec<bool>);
        let mut expect: BTreeMap<u32, Six> = BTreeMap::new();
        data.iter().for_each(|&(k, v)| expect.entry(k).or_default().0.push(v));
        twice.iter().for_each(|(k, v)| expect.entry(*k).or_default().1.push(v.clone()));
        small.iter().for_each(|&(k, v)| expect.entry(k).or_default().2.push(v));
        none.iter().for_each(|&(k, v)| expect.entry(k).or_default().3.push(v));
        one.iter().for_each(|&(k, v)| expect.entry(k).or_default().4.push(v));
        flags.iter().for_each(|&(k, v)| expect.entry(k).or_default().5.push(v));
        let normal = |(a, b, c, d, e, f): Six| (sorted(a), sorted(b), sorted(c), sorted(d), sorted(e), sorted(f));
        let expect: BTreeMap<u32, Six> = expect.into_iter().map(|(k, g)| (k, normal(g))).collect();
        let got: BTreeMap<u32, Six> = out.grouped.into_iter().map(|(k, g)| (k, normal(g))).collect();
        assert_eq!(got, expect, "{name}");
    }
}

#[test]
fn side_inputs_computed_from_the_stage_own_input() {
    let words: Vec<&str> = "a b a c a b".split(' ').collect();
    let out = pipeline! {
        ws = from_iter(words.clone());
        counts = ws -> count_per_element();
        total = counts -> values() -> combine_globally(Sum);
        shares = counts -> map_with(as_singleton(total), |(w, n): (&str, u64), total: &u64| (w, n * 100 / total)) -> collect();
        pairs = ws -> map(|w: &str| (w, 1u32));
        self_join = (pairs, pairs) -> join() -> count() -> collect();
        with_all = ws -> map_with(as_list(ws), |w: &str, all: &Vec<&str>| (w, all.len())) -> collect();
    }
    .run()
    .unwrap();
    assert_that!(out.shares).contains_in_any_order([("a", 50), ("b", 33), ("c", 16)]);
    // Each `a` pairs with the three `a`s, each `b` with two, `c` with itself.
    assert_that!(out.self_join).is_singleton(9 + 4 + 1);
    assert_that!(out.with_all).all_satisfy(|(_, n)| *n == 6);
}

#[test]
fn two_loops_reading_each_others_totals() {
    // Each loop reads, as a side input, the total the other computes; one of the
    // two stages runs in a second pass. Sequential reference: sums shifted by totals.
    for (name, pairs) in keyed_datasets() {
        let xs: Vec<i64> = pairs.iter().map(|&(_, v)| v).collect();
        let ys: Vec<i64> = pairs.iter().map(|&(k, _)| i64::from(k)).rev().collect();
        let out = pipeline! {
            xs = from_slice(&xs);
            ys = from_slice(&ys);
            tx = xs -> combine_globally(Sum);
            ty = ys -> count();
            mx = xs -> map_with(as_singleton(ty), |x: i64, n: &u64| x + *n as i64) -> collect();
            my = ys -> map_with(as_singleton(tx), |y: i64, t: &i64| y * 2 + *t) -> collect();
        }
        .run()
        .unwrap();
        let (tx, ty) = (xs.iter().sum::<i64>(), ys.len() as i64);
        assert_that!(out.mx, "{name}: mx").contains_in_any_order(xs.iter().map(|x| x + ty));
        assert_that!(out.my, "{name}: my").contains_in_any_order(ys.iter().map(|y| y * 2 + tx));
    }
}

#[test]
fn dead_letters_as_a_side_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("points.jsonl");
    std::fs::write(&path, "[1, 2]\nbroken\n[3, 4]\n").unwrap();
    let out = pipeline! {
        ids = from_iter(vec![1u32, 2]);
        noted = ids -> map_with(as_list(bad), |id: u32, bad: &Vec<BadRecord>| (id, bad.len())) -> collect();
        (points, bad) = read_jsonl::<(i32, i32)>(&path);
        n = points -> count() -> collect();
    }
    .run()
    .unwrap();
    assert_that!(out.noted).contains_in_any_order([(1, 1), (2, 1)]);
    assert_that!(out.n).is_singleton(2);
}

#[test]
fn co_group_by_key_over_a_million_keys() {
    let left = common::many_keys();
    let right: Vec<(u32, i64)> = left.iter().step_by(3).map(|&(k, _)| (k, 1)).collect();
    let out = pipeline! {
        l = from_iter(left.clone());
        r = from_iter(right.clone());
        grouped = (l, r) -> co_group_by_key() -> map(|(_, (a, b)): (u32, (Vec<i64>, Vec<i64>))| (a.len(), b.len())) -> collect();
    }
    .run()
    .unwrap();
    let keys: std::collections::HashSet<u32> = left.iter().map(|p| p.0).collect();
    assert_eq!(out.grouped.len(), keys.len());
    assert_eq!(out.grouped.iter().map(|g| g.0).sum::<usize>(), left.len());
    assert_eq!(out.grouped.iter().map(|g| g.1).sum::<usize>(), right.len());
}
