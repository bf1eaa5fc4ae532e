//! Element-wise transforms against std iterators on the same data.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use beam::prelude::*;
use common::{keyed_datasets, sorted, value_datasets};

#[test]
fn map_filter_flat_map_filter_map_fused() {
    for (name, data) in value_datasets() {
        let out = pipeline! {
            xs = from_iter(data.iter().copied());
            _doubled = xs -> map(|x: i64| x * 2) -> collect();
            _evens = xs -> filter(|x: &i64| x % 2 == 0) -> collect();
            _spread = xs -> flat_map(|x: i64| vec![x; (x.unsigned_abs() % 3) as usize]) -> collect();
            _halves = xs -> filter_map(|x: i64| (x % 2 == 0).then_some(x / 2)) -> collect();
            _chain = xs -> map(|x: i64| x + 1) -> filter(|x: &i64| *x > 0) -> map(|x: i64| x.to_string()) -> collect();
        }
        .run()
        .unwrap();
        let expect_doubled: Vec<i64> = data.iter().map(|x| x * 2).collect();
        assert_eq!(sorted(out._doubled), sorted(expect_doubled), "{name}: map");
        let expect_evens: Vec<i64> = data.iter().copied().filter(|x| x % 2 == 0).collect();
        assert_eq!(sorted(out._evens), sorted(expect_evens), "{name}: filter");
        let expect_spread: Vec<i64> = data.iter().flat_map(|&x| vec![x; (x.unsigned_abs() % 3) as usize]).collect();
        assert_eq!(sorted(out._spread), sorted(expect_spread), "{name}: flat_map");
        let expect_halves: Vec<i64> = data.iter().filter_map(|&x| (x % 2 == 0).then_some(x / 2)).collect();
        assert_eq!(sorted(out._halves), sorted(expect_halves), "{name}: filter_map");
        let expect_chain: Vec<String> = data.iter().map(|x| x + 1).filter(|x| *x > 0).map(|x| x.to_string()).collect();
        assert_eq!(sorted(out._chain), sorted(expect_chain), "{name}: chain");
    }
}

#[test]
fn from_slice_reads_every_element_once() {
    let mut datasets = value_datasets();
    // Many chunks, and a length that is not a multiple of the chunk size.
    datasets.push(("large", (0..1_000_003).map(|i| i * 7 % 1_000_033).collect()));
    for (name, data) in datasets {
        let words: Vec<String> = data.iter().take(5000).map(|x| x.to_string()).collect();
        let out = pipeline! {
            xs = from_slice(&data) -> map(|x: i64| x * 2);
            doubled = xs -> collect();
            total = xs -> count() -> collect();
            strings = from_slice(&words) -> collect();
        }
        .threads(3)
        .run()
        .unwrap();
        assert_eq!(sorted(out.doubled), sorted(data.iter().map(|x| x * 2).collect()), "{name}");
        assert_eq!(out.total, [data.len() as u64], "{name}");
        assert_eq!(sorted(out.strings), sorted(words), "{name}");
    }
}

#[test]
fn key_by_keys_values_map_values() {
    for (name, data) in keyed_datasets() {
        let out = pipeline! {
            pairs = from_iter(data.clone());
            _keys = pairs -> keys() -> collect();
            _values = pairs -> values() -> collect();
            _scaled = pairs -> map_values(|v: i64| v * 10) -> collect();
            _by_sign = pairs -> values() -> key_by(|v: &i64| v.signum()) -> collect();
        }
        .run()
        .unwrap();
        assert_eq!(sorted(out._keys), sorted(data.iter().map(|p| p.0).collect()), "{name}: keys");
        assert_eq!(sorted(out._values), sorted(data.iter().map(|p| p.1).collect()), "{name}: values");
        assert_eq!(sorted(out._scaled), sorted(data.iter().map(|&(k, v)| (k, v * 10)).collect()), "{name}: map_values");
        assert_eq!(
            sorted(out._by_sign),
            sorted(data.iter().map(|&(_, v)| (v.signum(), v)).collect()),
            "{name}: key_by"
        );
    }
}

#[test]
fn inspect_and_for_each_see_every_element_once() {
    for (name, data) in value_datasets() {
        let inspected = AtomicU64::new(0);
        let summed = AtomicU64::new(0);
        pipeline! {
            xs = from_iter(data.iter().copied());
            xs -> inspect(|_x: &i64| { inspected.fetch_add(1, Ordering::Relaxed); })
               -> for_each(|x: i64| { summed.fetch_add(x.unsigned_abs(), Ordering::Relaxed); });
        }
        .run()
        .unwrap();
        assert_eq!(inspected.into_inner(), data.len() as u64, "{name}: inspect");
        assert_eq!(summed.into_inner(), data.iter().map(|x| x.unsigned_abs()).sum::<u64>(), "{name}: for_each");
    }
}

#[test]
fn fan_out_computes_a_collection_once() {
    let (_, data) = value_datasets().pop().unwrap();
    let calls = AtomicU64::new(0);
    let out = pipeline! {
        squares = from_iter(data.iter().copied()) -> map(|x: i64| { calls.fetch_add(1, Ordering::Relaxed); x * x });
        small = squares -> filter(|x: &i64| *x < 100) -> collect();
        n = squares -> count() -> collect();
        all = squares -> collect();
    }
    .run()
    .unwrap();
    assert_eq!(calls.into_inner(), data.len() as u64, "the shared stage ran once per element");
    assert_eq!(out.n, vec![data.len() as u64]);
    assert_eq!(out.all.len(), data.len());
    assert_eq!(sorted(out.small), sorted(data.iter().map(|x| x * x).filter(|x| *x < 100).collect()));
}

#[test]
fn flatten_concatenates_inputs() {
    for (name, data) in value_datasets() {
        let out = pipeline! {
            xs = from_iter(data.iter().copied());
            negated = xs -> map(|x: i64| -x);
            counts = xs -> map(|x: i64| (x % 5, 1u64)) -> count_per_key() -> keys();
            both = (xs, negated, counts) -> flatten() -> collect();
        }
        .run()
        .unwrap();
        let mut expect: Vec<i64> = data.iter().copied().chain(data.iter().map(|x| -x)).collect();
        let mut rems: Vec<i64> = data.iter().map(|x| x % 5).collect();
        rems.sort();
        rems.dedup();
        expect.extend(rems);
        assert_eq!(sorted(out.both), sorted(expect), "{name}: flatten");
    }
}

#[test]
fn owned_strings_and_borrowed_captures() {
    let text = "the cat\nthe hat\n\nand the bat";
    let stop = ["and"];
    let out = pipeline! {
        words = from_iter(text.lines().map(str::to_owned))
            -> flat_map(|l: String| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            -> filter(|w: &String| !stop.contains(&w.as_str()));
        counts = words -> count_per_element() -> collect();
    }
    .run()
    .unwrap();
    assert_eq!(sorted(out.counts), vec![("bat".into(), 1), ("cat".into(), 1), ("hat".into(), 1), ("the".into(), 3)]);
}

#[test]
fn thread_count_does_not_change_results() {
    let (_, data) = value_datasets().pop().unwrap();
    let run = |threads: usize| {
        pipeline! {
            xs = from_iter(data.iter().copied());
            sums = xs -> map(|x: i64| (x.rem_euclid(97), x)) -> sum_per_key() -> collect();
        }
        .threads(threads)
        .run()
        .unwrap()
        .sums
    };
    let one = sorted(run(1));
    assert_eq!(one, sorted(run(3)));
    assert_eq!(one, sorted(run(8)));
}

/// `pipeline!` used through a user's own `macro_rules!` wrapper.
macro_rules! doubled_sum {
    ($data:expr) => {
        pipeline! {
            xs = from_iter($data);
            total = xs -> map(|x: u64| x * 2) -> combine_globally(Sum) -> collect();
        }
        .run()
        .unwrap()
        .total
    };
}

#[test]
fn works_inside_a_macro_rules_wrapper() {
    assert_eq!(doubled_sum!(vec![1u64, 2, 3]), vec![12]);
}

#[test]
fn collections_read_by_several_flattens_and_stages() {
    let xs: Vec<u32> = (0..1000).collect();
    let out = pipeline! {
        a = from_iter(xs.clone());
        b = from_iter(xs.clone());
        sums = a -> map(|x: u32| (x % 10, x)) -> sum_per_key();
        tens = sums -> map_values(|v: u32| v * 10);
        both = (sums, tens) -> flatten() -> collect();
        twice = (a, a) -> flatten() -> count() -> collect();
        ab = (a, b) -> flatten() -> count() -> collect();
        ba = (b, a) -> flatten() -> collect();
    }
    .run()
    .unwrap();
    assert_eq!(out.both.len(), 20);
    assert_eq!(out.twice, vec![2000]);
    assert_eq!(out.ab, vec![2000]);
    assert_eq!(out.ba.len(), 2000);
}

#[test]
fn a_nested_pipeline_inside_a_source_iterator_does_not_deadlock() {
    let out = pipeline! {
        sums = from_iter((0..8u64).map(|i| {
            pipeline! {
                xs = from_iter(0..1000u64);
                s = xs -> map(|x: u64| x + i) -> combine_globally(Sum) -> collect();
            }
            .run()
            .unwrap()
            .s[0]
        }));
        total = sums -> combine_globally(Sum) -> collect();
    }
    .threads(2)
    .run()
    .unwrap();
    assert_eq!(out.total, vec![(0..8u64).map(|i| (0..1000).sum::<u64>() + 1000 * i).sum::<u64>()]);
}

/// `multi_output`: each output of its own type gets exactly what the closure sent
/// it, in any number (none, one, several) per element, and feeds barriers, sinks
/// and further stages; checked against a sequential loop on every dataset.
#[test]
fn multi_output_sends_each_output_its_own_elements() {
    for (name, data) in keyed_datasets() {
        let out = pipeline! {
            pairs = from_iter(data.clone());
            (keys, negatives, digits) = pairs -> multi_output(|(k, v): (u32, i64), out| {
                out.0.emit(k);
                if v < 0 {
                    out.1.emit((k, v));
                }
                for d in v.unsigned_abs().to_string().chars() {
                    out.2.emit(d);
                }
            });
            distinct_keys = keys -> distinct() -> collect();
            negative_sums = negatives -> sum_per_key() -> collect();
            digit_counts = digits -> count_per_element() -> collect();
            all_keys = keys -> count() -> collect();
        }
        .run()
        .unwrap();
        let mut keys: Vec<u32> = data.iter().map(|p| p.0).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(sorted(out.distinct_keys), keys, "{name}: keys");
        assert_eq!(out.all_keys, vec![data.len() as u64], "{name}: one key per element");
        let mut sums = std::collections::BTreeMap::new();
        let mut digits = std::collections::BTreeMap::new();
        for &(k, v) in &data {
            if v < 0 {
                *sums.entry(k).or_insert(0i64) += v;
            }
            for d in v.unsigned_abs().to_string().chars() {
                *digits.entry(d).or_insert(0u64) += 1;
            }
        }
        assert_eq!(sorted(out.negative_sums), sums.into_iter().collect::<Vec<_>>(), "{name}: negatives");
        assert_eq!(sorted(out.digit_counts), digits.into_iter().collect::<Vec<_>>(), "{name}: digits");
    }
}

/// In a timestamped collection every output keeps its input's time and windows,
/// and a panic in the closure is the stage's error.
#[test]
fn multi_output_keeps_time_and_reports_panics() {
    use std::time::Duration;
    let events: Vec<(u64, i64)> = (0..10_000u64).map(|t| (t, (t % 7) as i64 - 3)).collect();
    let out = pipeline! {
        timed = from_iter(events.clone())
            -> with_timestamps(|e: &(u64, i64)| e.0)
            -> window(FixedWindows::of(Duration::from_millis(1_000)));
        (ups, downs) = timed -> multi_output(|(_, v): (u64, i64), out| {
            if v >= 0 { out.0.emit(v) } else { out.1.emit(-v) }
        });
        up_sums = ups -> sum() -> reify() -> collect();
        down_counts = downs -> count() -> reify() -> collect();
    }
    .run()
    .unwrap();
    for (w, expect) in [(0i64, 0usize), (5, 5), (9, 9)] {
        let start = w * 1000;
        let in_window = || events.iter().filter(move |e| e.0 as i64 / 1000 == w);
        let up: i64 = in_window().map(|e| e.1).filter(|v| *v >= 0).sum();
        let down = in_window().filter(|e| e.1 < 0).count() as u64;
        let got_up = out.up_sums.iter().find(|p| p.window.start.millis() == start).map(|p| p.value);
        let got_down = out.down_counts.iter().find(|p| p.window.start.millis() == start).map(|p| p.value);
        assert_eq!((got_up, got_down), (Some(up), Some(down)), "window {expect}");
    }
    assert_eq!(out.up_sums.len(), 10);

    let err = pipeline! {
        xs = from_iter(0..100u32);
        (a, b) = xs -> multi_output(|x: u32, out| {
            assert!(x != 42, "no 42 here");
            out.0.emit(x);
            out.1.emit(x.to_string());
        });
        _a = a -> collect();
        _b = b -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.stage().unwrap().op, "multi_output");
    assert!(err.to_string().contains("no 42 here"), "{err}");
}
