//! Event time on bounded input: timestamps, windows, and every grouping per window,
//! against sequential references on seeded, out-of-order data (with elements
//! exactly on window boundaries, one hot key, empty and single inputs).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use beam::prelude::*;
use beam::window::{IntervalWindow, PaneInfo, TimestampCombiner};
use common::sorted;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `(key, value, event time in ms)`.
type Event = (u32, i64, u64);

const SIZE: u64 = 1_000;

fn event_datasets() -> Vec<(&'static str, Vec<Event>)> {
    let mut rng = StdRng::seed_from_u64(11);
    // Out of order, over 60 windows, a fifth of them exactly on a boundary.
    let random: Vec<Event> = (0..40_000)
        .map(|_| {
            let t = if rng.random_bool(0.2) { rng.random_range(0..60) * SIZE } else { rng.random_range(0..60 * SIZE) };
            (rng.random_range(0..50), rng.random_range(-100..100), t)
        })
        .collect();
    let hot: Vec<Event> = (0..30_000)
        .map(|_| {
            let key = if rng.random_bool(0.9) { 7 } else { rng.random_range(0..5_000) };
            (key, rng.random_range(-100..100), rng.random_range(0..5 * SIZE))
        })
        .collect();
    // Data in a few windows far apart: the windows between hold nothing.
    let gaps: Vec<Event> = (0..2_000)
        .map(|i| {
            let window = [0, 3, 7, 20][i % 4];
            (rng.random_range(0..20), rng.random_range(-100..100), window * SIZE + rng.random_range(0..SIZE))
        })
        .collect();
    vec![
        ("empty", vec![]),
        ("single", vec![(3, 5, 1_999)]),
        ("random", random),
        ("one hot key", hot),
        ("windows with gaps between", gaps),
    ]
}

fn window_of(t: u64) -> i64 {
    (t / SIZE * SIZE) as i64
}

#[test]
fn fixed_windows_sum_and_count_per_key_and_window() {
    for (name, events) in event_datasets() {
        let out = pipeline! {
            timed = from_iter(events.clone())
                -> with_timestamps(|e: &Event| e.2)
                -> window(FixedWindows::of(Duration::from_millis(SIZE)));
            pairs = timed -> map(|(k, v, _): Event| (k, v));
            sums = pairs -> sum_per_key() -> reify() -> collect();
            counts = pairs -> count_per_key() -> collect();
        }
        .run()
        .unwrap();
        let mut expect: BTreeMap<(i64, u32), i64> = BTreeMap::new();
        for &(k, v, t) in &events {
            *expect.entry((window_of(t), k)).or_default() += v;
        }
        let mut got: BTreeMap<(i64, u32), i64> = BTreeMap::new();
        for w in &out.sums {
            assert_eq!(w.window.end.millis() - w.window.start.millis(), SIZE as i64, "{name}");
            assert_eq!(w.timestamp, w.window.max_timestamp(), "{name}: a result is at its window's end");
            assert_eq!(w.pane, PaneInfo::ONLY_ON_TIME, "{name}");
            assert!(got.insert((w.window.start.millis(), w.value.0), w.value.1).is_none(), "{name}: twice");
        }
        assert_eq!(got, expect, "{name}");
        // Without `reify`, the values: one count per window and key.
        let mut per_window_and_key: BTreeMap<(i64, u32), u64> = BTreeMap::new();
        for &(k, _, t) in &events {
            *per_window_and_key.entry((window_of(t), k)).or_default() += 1;
        }
        let expect_counts = sorted(per_window_and_key.iter().map(|(&(_, k), &n)| (k, n)).collect());
        assert_eq!(sorted(out.counts), expect_counts, "{name}");
    }
}

/// Windows of a user's `WindowFn` whose lengths differ (as calendar months do):
/// a grouping keeps windows of the first length it sees by their start alone and
/// the others whole, and every result carries its own window.
#[test]
fn windows_of_several_lengths_keep_their_own_ends() {
    /// Windows of 1 s and 3 s, in turn: [0, 1000), [1000, 4000), [4000, 5000), ...
    struct Uneven;
    impl beam::window::WindowFn for Uneven {
        fn assign_windows(&self, t: beam::window::Timestamp, window: &mut impl FnMut(IntervalWindow)) {
            let (period, t) = (t.millis().div_euclid(4_000) * 4_000, t.millis().rem_euclid(4_000));
            let (start, end) = if t < 1_000 { (period, period + 1_000) } else { (period + 1_000, period + 4_000) };
            window(IntervalWindow::new(start.into(), end.into()))
        }
    }
    fn uneven(t: u64) -> (i64, i64) {
        let (period, t) = ((t / 4_000 * 4_000) as i64, t % 4_000);
        if t < 1_000 { (period, period + 1_000) } else { (period + 1_000, period + 4_000) }
    }
    for (name, events) in event_datasets() {
        let out = pipeline! {
            sums = from_iter(events.clone())
                -> with_timestamps(|e: &Event| e.2)
                -> window(Uneven)
                -> map(|(k, v, _): Event| (k, v))
                -> sum_per_key()
                -> reify()
                -> collect();
        }
        .run()
        .unwrap();
        let mut expect: BTreeMap<((i64, i64), u32), i64> = BTreeMap::new();
        for &(k, v, t) in &events {
            *expect.entry((uneven(t), k)).or_default() += v;
        }
        let mut got: BTreeMap<((i64, i64), u32), i64> = BTreeMap::new();
        for w in &out.sums {
            let window = (w.window.start.millis(), w.window.end.millis());
            assert_eq!(w.timestamp, w.window.max_timestamp(), "{name}");
            assert!(got.insert((window, w.value.0), w.value.1).is_none(), "{name}: twice");
        }
        assert_eq!(got, expect, "{name}");
    }
}

/// On bounded input each pane's timestamp is its window's end by default, or the
/// earliest or latest of its elements' times when the windowing says so.
#[test]
fn timestamp_combiners_stamp_each_pane_of_bounded_input() {
    for (name, events) in event_datasets() {
        let fixed = || FixedWindows::of(Duration::from_millis(SIZE));
        let out = pipeline! {
            timed = from_iter(events.clone()) -> with_timestamps(|e: &Event| e.2);
            pairs = timed -> map(|(k, v, _): Event| (k, v));
            at_end = pairs -> window(fixed()) -> sum_per_key() -> reify() -> collect();
            earliest = pairs
                -> window(fixed().with_timestamp_combiner(TimestampCombiner::Earliest))
                -> sum_per_key()
                -> reify()
                -> collect();
            latest = pairs
                -> window(fixed().with_timestamp_combiner(TimestampCombiner::Latest))
                -> count()
                -> reify()
                -> collect();
        }
        .run()
        .unwrap();
        // Per (window, key): the sum, the earliest and the latest time.
        let mut expect: BTreeMap<(i64, u32), (i64, u64, u64)> = BTreeMap::new();
        for &(k, v, t) in &events {
            let e = expect.entry((window_of(t), k)).or_insert((0, u64::MAX, 0));
            (e.0, e.1, e.2) = (e.0 + v, e.1.min(t), e.2.max(t));
        }
        let pane = |w: &beam::window::Windowed<(u32, i64)>| ((w.window.start.millis(), w.value.0), w.value.1);
        let at_end: BTreeMap<_, _> = out.at_end.iter().map(pane).collect();
        let earliest: BTreeMap<_, _> = out.earliest.iter().map(pane).collect();
        let sums: BTreeMap<_, _> = expect.iter().map(|(&k, &(sum, _, _))| (k, sum)).collect();
        assert_eq!((&at_end, &earliest), (&sums, &sums), "{name}");
        for w in &out.at_end {
            assert_eq!(w.timestamp, w.window.max_timestamp(), "{name}");
        }
        for w in &out.earliest {
            let first = expect[&(w.window.start.millis(), w.value.0)].1;
            assert_eq!(w.timestamp.millis(), first as i64, "{name}: the earliest element's time");
        }
        // A global combine per window: the latest time over all keys.
        let mut latest: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
        for &(_, _, t) in &events {
            let e = latest.entry(window_of(t)).or_default();
            (e.0, e.1) = (e.0 + 1, e.1.max(t));
        }
        let got: BTreeMap<i64, (u64, u64)> =
            out.latest.iter().map(|w| (w.window.start.millis(), (w.value, w.timestamp.millis() as u64))).collect();
        assert_eq!(got, latest, "{name}");
    }
}

#[test]
fn sliding_windows_count_every_window_an_element_is_in() {
    for (name, events) in event_datasets() {
        let out = pipeline! {
            counts = from_iter(events.clone())
                -> with_timestamps(|e: &Event| e.2)
                -> window(SlidingWindows::of(Duration::from_millis(3 * SIZE)).every(Duration::from_millis(SIZE)))
                -> map(|e: Event| e.0)
                -> count_per_element()
                -> reify()
                -> collect();
        }
        .run()
        .unwrap();
        let mut expect: BTreeMap<(i64, u32), u64> = BTreeMap::new();
        for &(k, _, t) in &events {
            // The three windows [s, s + 3 s) with s a whole second in (t - 3 s, t].
            for back in 0..3 {
                *expect.entry((window_of(t) - (back * SIZE) as i64, k)).or_default() += 1;
            }
        }
        let got: BTreeMap<(i64, u32), u64> =
            out.counts.iter().map(|w| ((w.window.start.millis(), w.value.0), w.value.1)).collect();
        assert_eq!(got.len(), out.counts.len(), "{name}: a window and key twice");
        assert_eq!(got, expect, "{name}");
    }
}

#[test]
fn global_combines_give_one_result_per_window() {
    for (name, events) in event_datasets() {
        let out = pipeline! {
            values = from_iter(events.clone())
                -> with_timestamps(|e: &Event| e.2)
                -> window(FixedWindows::of(Duration::from_millis(SIZE)))
                -> map(|e: Event| e.1);
            counts = values -> count() -> reify() -> collect();
            largest = values -> top(2, |v: &i64| *v) -> reify() -> collect();
            distinct = values -> distinct() -> reify() -> collect();
        }
        .run()
        .unwrap();
        let mut by_window: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for &(_, v, t) in &events {
            by_window.entry(window_of(t)).or_default().push(v);
        }
        let counts: BTreeMap<i64, u64> = out.counts.iter().map(|w| (w.window.start.millis(), w.value)).collect();
        let expect: BTreeMap<i64, u64> = by_window.iter().map(|(&w, vs)| (w, vs.len() as u64)).collect();
        assert_eq!(counts, expect, "{name}: count");
        let mut largest: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for w in &out.largest {
            largest.entry(w.window.start.millis()).or_default().push(w.value);
        }
        for (window, mut values) in by_window.clone() {
            values.sort_by(|a, b| b.cmp(a));
            values.truncate(2);
            assert_eq!(sorted(largest.remove(&window).unwrap()), sorted(values), "{name}: top of {window}");
        }
        assert!(largest.is_empty(), "{name}");
        let mut distinct: Vec<(i64, i64)> = out.distinct.iter().map(|w| (w.window.start.millis(), w.value)).collect();
        distinct.sort();
        let mut expect: Vec<(i64, i64)> =
            by_window.iter().flat_map(|(&w, vs)| vs.iter().map(move |&v| (w, v))).collect();
        expect.sort();
        expect.dedup();
        assert_eq!(distinct, expect, "{name}: distinct");
    }
}

/// Every keyed and global combine, per window, against a sequential reference:
/// one result per window (and key) that holds data, none for the windows between.
#[test]
fn every_keyed_and_global_combine_works_per_window() {
    type PerWindow<T> = BTreeMap<(i64, u32), T>;
    fn per_window<T: std::fmt::Debug>(panes: &[Windowed<(u32, T)>]) -> PerWindow<&T> {
        let mut got = BTreeMap::new();
        for w in panes {
            assert_eq!(w.pane, PaneInfo::ONLY_ON_TIME);
            assert!(got.insert((w.window.start.millis(), w.value.0), &w.value.1).is_none(), "twice: {w:?}");
        }
        got
    }
    for (name, events) in event_datasets() {
        let out = pipeline! {
            pairs = from_iter(events.clone())
                -> with_timestamps(|e: &Event| e.2)
                -> window(FixedWindows::of(Duration::from_millis(SIZE)))
                -> map(|(k, v, _): Event| (k, v));
            groups = pairs -> group_by_key() -> reify() -> collect();
            tops = pairs -> top_per_key(3, |v: &i64| *v) -> reify() -> collect();
            maxes = pairs -> max_per_key() -> reify() -> collect();
            mins = pairs -> min_per_key() -> reify() -> collect();
            means = pairs -> mean_per_key() -> reify() -> collect();
            products = pairs -> map_values(|v: i64| v.rem_euclid(7) + 1) -> reduce_per_key(|a, b| a * b % 1_000_003)
                -> reify() -> collect();
            elements = pairs -> count_per_element() -> reify() -> collect();
            values = pairs -> values();
            totals = values -> sum() -> reify() -> collect();
            smallest = values -> min() -> reify() -> collect();
            largest = values -> max() -> reify() -> collect();
            averages = values -> mean() -> reify() -> collect();
            combined = values -> combine_globally(Sum) -> reify() -> collect();
        }
        .run()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut by_key: PerWindow<Vec<i64>> = BTreeMap::new();
        for &(k, v, t) in &events {
            by_key.entry((window_of(t), k)).or_default().push(v);
        }
        let mut by_window: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for &(_, v, t) in &events {
            by_window.entry(window_of(t)).or_default().push(v);
        }
        let expect =
            |f: &dyn Fn(&[i64]) -> i64| -> PerWindow<i64> { by_key.iter().map(|(&at, vs)| (at, f(vs))).collect() };
        let own = |m: PerWindow<&i64>| -> PerWindow<i64> { m.into_iter().map(|(at, v)| (at, *v)).collect() };
        let groups: PerWindow<Vec<i64>> =
            per_window(&out.groups).into_iter().map(|(at, vs)| (at, sorted(vs.clone()))).collect();
        let expect_groups: PerWindow<Vec<i64>> = by_key.iter().map(|(&at, vs)| (at, sorted(vs.clone()))).collect();
        assert_eq!(groups, expect_groups, "{name}: group_by_key");
        let tops: PerWindow<Vec<i64>> = per_window(&out.tops).into_iter().map(|(at, vs)| (at, vs.clone())).collect();
        let expect_tops: PerWindow<Vec<i64>> = by_key
            .iter()
            .map(|(&at, vs)| {
                let mut vs = vs.clone();
                vs.sort_by(|a, b| b.cmp(a));
                vs.truncate(3);
                (at, vs)
            })
            .collect();
        assert_eq!(tops, expect_tops, "{name}: top_per_key");
        assert_eq!(own(per_window(&out.maxes)), expect(&|vs| *vs.iter().max().unwrap()), "{name}: max_per_key");
        assert_eq!(own(per_window(&out.mins)), expect(&|vs| *vs.iter().min().unwrap()), "{name}: min_per_key");
        let means: PerWindow<f64> = per_window(&out.means).into_iter().map(|(at, m)| (at, *m)).collect();
        for (at, vs) in &by_key {
            let mean = vs.iter().sum::<i64>() as f64 / vs.len() as f64;
            assert!((means[at] - mean).abs() < 1e-9, "{name}: mean_per_key at {at:?}");
        }
        assert_eq!(means.len(), by_key.len(), "{name}: mean_per_key");
        let product = |vs: &[i64]| vs.iter().fold(1, |a, v| a * (v.rem_euclid(7) + 1) % 1_000_003);
        assert_eq!(own(per_window(&out.products)), expect(&product), "{name}: reduce_per_key");
        let mut elements: BTreeMap<(i64, (u32, i64)), u64> = BTreeMap::new();
        for w in &out.elements {
            assert!(elements.insert((w.window.start.millis(), w.value.0), w.value.1).is_none(), "{name}");
        }
        let mut expect_elements: BTreeMap<(i64, (u32, i64)), u64> = BTreeMap::new();
        for &(k, v, t) in &events {
            *expect_elements.entry((window_of(t), (k, v))).or_default() += 1;
        }
        assert_eq!(elements, expect_elements, "{name}: count_per_element");
        let global = |panes: &[Windowed<i64>]| -> BTreeMap<i64, i64> {
            let mut got = BTreeMap::new();
            for w in panes {
                assert!(got.insert(w.window.start.millis(), w.value).is_none(), "{name}: twice");
            }
            got
        };
        let expect_global =
            |f: &dyn Fn(&[i64]) -> i64| -> BTreeMap<i64, i64> { by_window.iter().map(|(&w, vs)| (w, f(vs))).collect() };
        let sum = |vs: &[i64]| vs.iter().sum();
        assert_eq!(global(&out.totals), expect_global(&sum), "{name}: sum");
        assert_eq!(global(&out.combined), expect_global(&sum), "{name}: combine_globally");
        assert_eq!(global(&out.smallest), expect_global(&|vs| *vs.iter().min().unwrap()), "{name}: min");
        assert_eq!(global(&out.largest), expect_global(&|vs| *vs.iter().max().unwrap()), "{name}: max");
        assert_eq!(out.averages.len(), by_window.len(), "{name}: mean");
        for w in &out.averages {
            let vs = &by_window[&w.window.start.millis()];
            assert!((w.value - vs.iter().sum::<i64>() as f64 / vs.len() as f64).abs() < 1e-9, "{name}: mean");
        }
    }
}

#[test]
fn stages_of_values_keep_each_elements_time() {
    let events: Vec<Event> = (0..1_000u64).map(|i| ((i % 7) as u32, i as i64, i * 37 % 5_000)).collect();
    let out = pipeline! {
        timed = from_iter(events.clone()) -> with_timestamps(|e: &Event| e.2);
        (small, large) = timed -> map(|e: Event| e.1) -> filter(|v: &i64| v % 2 == 0) -> partition(2, |v: &i64| usize::from(*v >= 500));
        both = (small, large) -> flatten() -> flat_map(|v: i64| [v, -v]);
        seen = both -> reify() -> collect();
        values = both -> collect();
    }
    .run()
    .unwrap();
    let time_of: BTreeMap<i64, u64> = events.iter().map(|e| (e.1, e.2)).collect();
    assert_eq!(out.seen.len(), 1_000);
    for w in &out.seen {
        let value = w.value;
        assert_eq!(w.timestamp.millis() as u64, time_of[&value.abs()], "time of {value}");
        assert_eq!(w.window, IntervalWindow::GLOBAL);
        assert_eq!(w.pane, PaneInfo::NO_FIRING, "not grouped");
    }
    let expect: Vec<i64> = (0..1_000).filter(|v| v % 2 == 0).flat_map(|v| [v, -v]).collect();
    assert_eq!(sorted(out.values), sorted(expect));
}

#[test]
fn without_window_everything_is_in_the_global_window() {
    let out = pipeline! {
        sums = from_iter((0..1_000u64).map(|i| (i % 3, i)))
            -> with_timestamps(|p: &(u64, u64)| p.1)
            -> sum_per_key()
            -> reify()
            -> collect();
    }
    .run()
    .unwrap();
    let mut got: Vec<(u64, u64)> = out.sums.iter().map(|w| w.value).collect();
    got.sort();
    let expect: Vec<(u64, u64)> = (0..3).map(|k| (k, (0..1_000).filter(|i| i % 3 == k).sum())).collect();
    assert_eq!(got, expect);
    assert!(out.sums.iter().all(|w| w.window.is_global() && w.timestamp == Timestamp::END_OF_GLOBAL_WINDOW));
}

#[test]
fn a_grouping_after_a_grouping_works_in_the_same_windows() {
    let events: Vec<Event> = (0..5_000u64).map(|i| ((i % 11) as u32, (i % 5) as i64, i * 7 % 9_000)).collect();
    let out = pipeline! {
        per_key = from_iter(events.clone())
            -> with_timestamps(|e: &Event| e.2)
            -> window(FixedWindows::of(Duration::from_millis(SIZE)))
            -> map(|e: Event| (e.0, e.1))
            -> sum_per_key();
        // How many keys of each window have an even sum.
        even = per_key -> filter(|kv: &(u32, i64)| kv.1 % 2 == 0) -> count() -> reify() -> collect();
    }
    .run()
    .unwrap();
    let mut sums: BTreeMap<(i64, u32), i64> = BTreeMap::new();
    for &(k, v, t) in &events {
        *sums.entry((window_of(t), k)).or_default() += v;
    }
    let mut expect: BTreeMap<i64, u64> = BTreeMap::new();
    for (&(window, _), &sum) in &sums {
        if sum % 2 == 0 {
            *expect.entry(window).or_default() += 1;
        }
    }
    let got: BTreeMap<i64, u64> = out.even.iter().map(|w| (w.window.start.millis(), w.value)).collect();
    assert_eq!(got, expect);
}

/// The sessions of sorted timestamps: `[first, last + gap)` of each run whose
/// neighbours are less than `gap` apart.
fn sessions_of(mut times: Vec<(u64, i64)>, gap: u64) -> Vec<(i64, i64, i64, u64)> {
    times.sort();
    let mut out: Vec<(i64, i64, i64, u64)> = Vec::new();
    for (t, v) in times {
        match out.last_mut() {
            Some(last) if (t as i64) < last.1 => {
                last.1 = t as i64 + gap as i64;
                last.2 += v;
                last.3 += 1;
            }
            _ => out.push((t as i64, t as i64 + gap as i64, v, 1)),
        }
    }
    out
}

#[test]
fn sessions_merge_per_key_as_a_sequential_sweep_does() {
    const GAP: u64 = 700;
    let mut datasets = event_datasets();
    // Exactly a gap apart: two sessions (windows that only touch do not merge, as
    // in Beam); then one that reaches back into the second.
    datasets.push(("edges", vec![(1, 1, 0), (1, 2, GAP), (1, 4, 2 * GAP - 1), (2, 8, GAP)]));
    // Many such windows of one key, read by several workers: their states meet
    // only when the workers' tables merge.
    datasets.push(("touching windows", (0..30_000).map(|i| (1, 1, i * GAP)).collect()));
    for (name, events) in datasets {
        for threads in [1, 3] {
            let out = pipeline! {
                sessions = from_iter(events.clone())
                    -> with_timestamps(|e: &Event| e.2)
                    -> window(Sessions::with_gap(Duration::from_millis(GAP)))
                    -> map(|(k, v, _): Event| (k, v))
                    -> sum_per_key()
                    -> reify()
                    -> collect();
                all = from_iter(events.clone())
                    -> with_timestamps(|e: &Event| e.2)
                    -> window(Sessions::with_gap(Duration::from_millis(GAP)))
                    -> count()
                    -> reify()
                    -> collect();
            }
            .threads(threads)
            .run()
            .unwrap();
            let mut by_key: BTreeMap<u32, Vec<(u64, i64)>> = BTreeMap::new();
            for &(k, v, t) in &events {
                by_key.entry(k).or_default().push((t, v));
            }
            let expect: Vec<(u32, i64, i64, i64)> = by_key
                .into_iter()
                .flat_map(|(k, times)| sessions_of(times, GAP).into_iter().map(move |(s, e, sum, _)| (k, s, e, sum)))
                .collect();
            let got = sorted(
                out.sessions
                    .iter()
                    .map(|w| (w.value.0, w.window.start.millis(), w.window.end.millis(), w.value.1))
                    .collect(),
            );
            assert_eq!(got, expect, "{name}, {threads} threads");
            assert!(out.sessions.iter().all(|w| w.timestamp == w.window.max_timestamp()));
            let all: Vec<(i64, i64, u64)> = sessions_of(events.iter().map(|e| (e.2, 0)).collect(), GAP)
                .into_iter()
                .map(|(s, e, _, n)| (s, e, n))
                .collect();
            let got_all =
                sorted(out.all.iter().map(|w| (w.window.start.millis(), w.window.end.millis(), w.value)).collect());
            assert_eq!(got_all, all, "{name}, {threads} threads: one session list for all elements");
        }
    }
}

#[test]
fn co_groups_and_outer_joins_work_per_window() {
    let mut rng = StdRng::seed_from_u64(5);
    let clicks: Vec<Event> = (0..3_000).map(|_| (rng.random_range(0..40), 1, rng.random_range(0..20 * SIZE))).collect();
    let views: Vec<Event> = (0..2_000).map(|_| (rng.random_range(20..60), 2, rng.random_range(0..20 * SIZE))).collect();
    let out = pipeline! {
        c = from_iter(clicks.clone())
            -> with_timestamps(|e: &Event| e.2)
            -> window(FixedWindows::of(Duration::from_millis(SIZE)))
            -> map(|e: Event| (e.0, e.2));
        v = from_iter(views.clone())
            -> with_timestamps(|e: &Event| e.2)
            -> window(FixedWindows::of(Duration::from_millis(SIZE)))
            -> map(|e: Event| (e.0, e.2));
        grouped = (c, v) -> co_group_by_key() -> reify() -> collect();
        joined = (c, v) -> outer_join() -> count() -> reify() -> collect();
        inner = (c, v) -> partitioned_join() -> count() -> reify() -> collect();
    }
    .run()
    .unwrap();
    type Groups = BTreeMap<(i64, u32), (Vec<u64>, Vec<u64>)>;
    let mut expect: Groups = BTreeMap::new();
    for &(k, _, t) in &clicks {
        expect.entry((window_of(t), k)).or_default().0.push(t);
    }
    for &(k, _, t) in &views {
        expect.entry((window_of(t), k)).or_default().1.push(t);
    }
    let mut got: Groups = BTreeMap::new();
    for w in &out.grouped {
        let (k, (mut a, mut b)) = w.value.clone();
        a.sort();
        b.sort();
        assert!(w.timestamp == w.window.max_timestamp() && w.pane == PaneInfo::ONLY_ON_TIME);
        assert!(got.insert((w.window.start.millis(), k), (a, b)).is_none(), "a window and key twice");
    }
    for groups in expect.values_mut() {
        groups.0.sort();
        groups.1.sort();
    }
    assert_eq!(got, expect);
    // An outer join per window: a pair per two values of a key in both inputs, a
    // row per value of a key in one input only.
    let mut rows: BTreeMap<i64, u64> = BTreeMap::new();
    for (&(window, _), (a, b)) in &expect {
        *rows.entry(window).or_default() += match (a.len(), b.len()) {
            (0, n) | (n, 0) => n as u64,
            (n, m) => (n * m) as u64,
        };
    }
    let got: BTreeMap<i64, u64> = out.joined.iter().map(|w| (w.window.start.millis(), w.value)).collect();
    assert_eq!(got, rows);
    // `partitioned_join()` per window: a pair per two values of a key in both.
    let mut pairs: BTreeMap<i64, u64> = BTreeMap::new();
    for (&(window, _), (a, b)) in &expect {
        if !a.is_empty() && !b.is_empty() {
            *pairs.entry(window).or_default() += (a.len() * b.len()) as u64;
        }
    }
    let got: BTreeMap<i64, u64> = out.inner.iter().map(|w| (w.window.start.millis(), w.value)).collect();
    assert_eq!(got, pairs);
}

#[test]
fn joins_of_collections_windowed_alike_match_per_window() {
    let mut rng = StdRng::seed_from_u64(8);
    let right: Vec<Event> = (0..1_500).map(|_| (rng.random_range(0..40), 2, rng.random_range(0..20 * SIZE))).collect();
    for (name, left) in event_datasets() {
        let out = pipeline! {
            l = from_iter(left.clone())
                -> with_timestamps(|e: &Event| e.2)
                -> window(SlidingWindows::of(Duration::from_millis(2 * SIZE)).every(Duration::from_millis(SIZE)))
                -> map(|e: Event| (e.0, e.1));
            r = from_iter(right.clone())
                -> with_timestamps(|e: &Event| e.2)
                -> window(SlidingWindows::of(Duration::from_millis(2 * SIZE)).every(Duration::from_millis(SIZE)))
                -> map(|e: Event| (e.0, e.2));
            inner = (l, r) -> join() -> reify() -> collect();
            left_rows = (l, r) -> left_join() -> reify() -> collect();
        }
        .run()
        .unwrap();
        // The sliding windows an element at `t` is in, by their starts.
        let windows = |t: u64| [window_of(t) - SIZE as i64, window_of(t)];
        let mut rights: BTreeMap<(i64, u32), Vec<u64>> = BTreeMap::new();
        for &(k, _, t) in &right {
            for w in windows(t) {
                rights.entry((w, k)).or_default().push(t);
            }
        }
        let (mut inner, mut left_rows) = (Vec::new(), Vec::new());
        for &(k, v, t) in &left {
            for w in windows(t) {
                match rights.get(&(w, k)) {
                    Some(ts) => {
                        inner.extend(ts.iter().map(|&r| (w, k, v, r)));
                        left_rows.extend(ts.iter().map(|&r| (w, k, v, Some(r))));
                    }
                    None => left_rows.push((w, k, v, None)),
                }
            }
        }
        let stamps = out.inner.iter().map(|w| (w.timestamp, w.window, w.pane));
        for (timestamp, window, pane) in stamps.chain(out.left_rows.iter().map(|w| (w.timestamp, w.window, w.pane))) {
            assert!(timestamp == window.max_timestamp() && pane == PaneInfo::ONLY_ON_TIME, "{name}");
        }
        let got = |w: &IntervalWindow| w.start.millis();
        assert_eq!(
            sorted(out.inner.iter().map(|w| (got(&w.window), w.value.0, w.value.1.0, w.value.1.1)).collect()),
            sorted(inner),
            "{name}: join"
        );
        assert_eq!(
            sorted(out.left_rows.iter().map(|w| (got(&w.window), w.value.0, w.value.1.0, w.value.1.1)).collect()),
            sorted(left_rows),
            "{name}: left_join"
        );
    }
}

#[test]
fn a_table_without_timestamps_serves_every_window() {
    let mut rng = StdRng::seed_from_u64(9);
    let names: Vec<(u32, String)> = (0..30).map(|k| (k, format!("team {k}"))).collect();
    let events: Vec<Event> = (0..5_000).map(|_| (rng.random_range(0..50), 1, rng.random_range(0..10 * SIZE))).collect();
    let out = pipeline! {
        teams = from_iter(names.clone());
        scores = from_iter(events.clone())
            -> with_timestamps(|e: &Event| e.2)
            -> window(FixedWindows::of(Duration::from_millis(SIZE)))
            -> map(|e: Event| (e.0, e.1));
        named = (scores, teams) -> left_join()
            -> map(|(_, (score, team)): (u32, (i64, Option<String>))| (team.unwrap_or_default(), score))
            -> sum_per_key()
            -> reify()
            -> collect();
    }
    .run()
    .unwrap();
    let mut expect: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for &(k, v, t) in &events {
        let team = names.iter().find(|n| n.0 == k).map(|n| n.1.clone()).unwrap_or_default();
        *expect.entry((window_of(t), team)).or_default() += v;
    }
    let got: BTreeMap<(i64, String), i64> =
        out.named.iter().map(|w| ((w.window.start.millis(), w.value.0.clone()), w.value.1)).collect();
    assert_eq!(got, expect);
}

/// Sessions of a co-group merge per key across its inputs, as in Beam (a
/// `GroupByKey` of the inputs' union): an element of one input can bridge two of
/// the other's. Checked against a sequential sweep over both inputs' times; the
/// joins pair the values of each merged session.
#[test]
fn co_groups_and_joins_of_sessions_merge_across_inputs() {
    const GAP: u64 = 100;
    let mut rng = StdRng::seed_from_u64(12);
    let mut datasets: Vec<(&str, Vec<Event>, Vec<Event>)> = vec![
        ("empty", vec![], vec![]),
        ("one side", vec![(1, 1, 5)], vec![]),
        // 0 and 150 are two sessions of `a` alone; `b` at 80 bridges them.
        ("bridge", vec![(1, 1, 0), (1, 2, 150)], vec![(1, 3, 80)]),
    ];
    let random = |rng: &mut StdRng, n: usize, keys: u32| -> Vec<Event> {
        (0..n).map(|_| (rng.random_range(0..keys), rng.random_range(-9..9), rng.random_range(0..20_000))).collect()
    };
    let (a, b) = (random(&mut rng, 2_000, 30), random(&mut rng, 1_500, 40));
    datasets.push(("random", a, b));
    let hot: Vec<Event> =
        (0..1_000).map(|i| (if i % 10 == 0 { i } else { 7 }, 1, rng.random_range(0..50_000))).collect();
    datasets.push(("one hot key", hot.clone(), random(&mut rng, 300, 20)));
    for (name, a, b) in datasets {
        let out = pipeline! {
            a = from_iter(a.clone())
                -> with_timestamps(|e: &Event| e.2)
                -> window(Sessions::with_gap(Duration::from_millis(GAP)))
                -> map(|e: Event| (e.0, e.2));
            b = from_iter(b.clone())
                -> with_timestamps(|e: &Event| e.2)
                -> window(Sessions::with_gap(Duration::from_millis(GAP)))
                -> map(|e: Event| (e.0, e.2));
            grouped = (a, b) -> co_group_by_key() -> reify() -> collect();
            pairs = (a, b) -> outer_join() -> reify() -> collect();
            inner = (a, b) -> join() -> reify() -> collect();
            left_rows = (a, b) -> left_join() -> reify() -> collect();
        }
        .run()
        .unwrap();
        // The reference: per key, both inputs' times in order, a new session
        // wherever the next time is `GAP` or more after the last.
        type Group = (Vec<u64>, Vec<u64>);
        let mut times: BTreeMap<u32, Vec<(u64, usize)>> = BTreeMap::new();
        for (side, events) in [&a, &b].into_iter().enumerate() {
            for &(k, _, t) in events {
                times.entry(k).or_default().push((t, side));
            }
        }
        let mut expect: BTreeMap<(u32, i64, i64), Group> = BTreeMap::new();
        for (&k, ts) in &mut times {
            ts.sort();
            let mut session: Option<(u64, u64, Group)> = None;
            for &(t, side) in ts.iter() {
                let (start, end, mut group) = match session.take() {
                    Some((start, end, group)) if t < end => (start, end.max(t + GAP), group),
                    Some((start, end, group)) => {
                        expect.insert((k, start as i64, end as i64), group);
                        (t, t + GAP, Group::default())
                    }
                    None => (t, t + GAP, Group::default()),
                };
                if side == 0 {
                    group.0.push(t)
                } else {
                    group.1.push(t)
                }
                session = Some((start, end, group));
            }
            if let Some((start, end, group)) = session {
                expect.insert((k, start as i64, end as i64), group);
            }
        }
        let mut got: BTreeMap<(u32, i64, i64), Group> = BTreeMap::new();
        for w in &out.grouped {
            let (k, (mut x, mut y)) = w.value.clone();
            x.sort();
            y.sort();
            assert!(w.timestamp == w.window.max_timestamp() && w.pane == PaneInfo::ONLY_ON_TIME, "{name}");
            let at = (k, w.window.start.millis(), w.window.end.millis());
            assert!(got.insert(at, (x, y)).is_none(), "{name}: a session and key twice");
        }
        assert_eq!(got, expect, "{name}");
        // The outer join pairs the values of each merged session.
        let mut pairs = Vec::new();
        for (&(k, start, end), (x, y)) in &expect {
            match (x.is_empty(), y.is_empty()) {
                (false, true) => pairs.extend(x.iter().map(|&t| (k, start, end, Some(t), None))),
                (true, false) => pairs.extend(y.iter().map(|&t| (k, start, end, None, Some(t)))),
                _ => {
                    for &l in x {
                        pairs.extend(y.iter().map(|&r| (k, start, end, Some(l), Some(r))));
                    }
                }
            }
        }
        let got_pairs = out
            .pairs
            .iter()
            .map(|w| (w.value.0, w.window.start.millis(), w.window.end.millis(), w.value.1.0, w.value.1.1));
        assert_eq!(sorted(got_pairs.collect()), sorted(pairs.clone()), "{name}: outer_join");
        // A join's pairs are the outer join's with both sides; a left join's, those
        // with a left value.
        let inner: Vec<_> = pairs.iter().filter_map(|&(k, s, e, l, r)| Some((k, s, e, l?, r?))).collect();
        let got_inner = out
            .inner
            .iter()
            .map(|w| (w.value.0, w.window.start.millis(), w.window.end.millis(), w.value.1.0, w.value.1.1));
        assert_eq!(sorted(got_inner.collect()), sorted(inner), "{name}: join");
        let left_rows: Vec<_> = pairs.iter().filter_map(|&(k, s, e, l, r)| Some((k, s, e, l?, r))).collect();
        let got_left = out
            .left_rows
            .iter()
            .map(|w| (w.value.0, w.window.start.millis(), w.window.end.millis(), w.value.1.0, w.value.1.1));
        assert_eq!(sorted(got_left.collect()), sorted(left_rows), "{name}: left_join");
        for w in out
            .inner
            .iter()
            .map(|w| (w.timestamp, w.window, w.pane))
            .chain(out.left_rows.iter().map(|w| (w.timestamp, w.window, w.pane)))
        {
            assert!(w.0 == w.1.max_timestamp() && w.2 == PaneInfo::ONLY_ON_TIME, "{name}");
        }
    }
}

#[test]
fn side_inputs_without_timestamps_serve_every_window() {
    let mut rng = StdRng::seed_from_u64(10);
    let events: Vec<Event> = (0..5_000).map(|_| (rng.random_range(0..20), 1, rng.random_range(0..10 * SIZE))).collect();
    let rates: Vec<(u32, i64)> = (0..20).map(|k| (k, k as i64 * 3)).collect();
    let out = pipeline! {
        r = from_iter(rates.clone());
        weighted = from_iter(events.clone())
            -> with_timestamps(|e: &Event| e.2)
            -> window(FixedWindows::of(Duration::from_millis(SIZE)))
            -> map_with(as_map(r), |e: Event, rates: &SideMap<u32, i64>| ((), e.1 * rates[&e.0]))
            -> sum_per_key()
            -> reify()
            -> collect();
    }
    .run()
    .unwrap();
    let mut expect: BTreeMap<i64, i64> = BTreeMap::new();
    for &(k, v, t) in &events {
        *expect.entry(window_of(t)).or_default() += v * k as i64 * 3;
    }
    let got: BTreeMap<i64, i64> = out.weighted.iter().map(|w| (w.window.start.millis(), w.value.1)).collect();
    assert_eq!(got, expect);
}

/// A side input windowed like the stage's input is read per window: each element
/// sees the side value of its own window (a map, a list, a singleton), as a Beam
/// side input of the same windowing does; a window the side input has nothing in
/// gets an empty map or list, and `as_singleton` there is the stage's error. A
/// timestamped side input in the global window is read whole.
#[test]
fn side_inputs_windowed_like_the_stage_are_read_per_window() {
    for (name, events) in event_datasets() {
        let out = pipeline! {
            timed = from_iter(events.clone())
                -> with_timestamps(|e: &Event| e.2)
                -> window(FixedWindows::of(Duration::from_millis(SIZE)));
            pairs = timed -> map(|(k, v, _): Event| (k, v));
            totals = pairs -> sum_per_key();
            counts = timed -> count();
            keys = pairs -> map(|(k, _): (u32, i64)| k) -> distinct();
            // Each value with its key's total and the number of events in its window.
            shares = pairs
                -> map_with(as_map(totals), |(k, v): (u32, i64), totals: &SideMap<u32, i64>| (k, v, totals[&k]))
                -> map_with(as_singleton(counts), |(k, v, total): (u32, i64, i64), n: &u64| (k, v, total, *n))
                -> map_with(as_list(keys), |(k, v, total, n): (u32, i64, i64, u64), keys: &Vec<u32>| (k, v, total, n, keys.len()))
                -> reify()
                -> collect();
            // Never windowed: every element sees all of it.
            all_events = from_iter(events.clone()) -> with_timestamps(|e: &Event| e.2);
            seen = timed -> map_with(as_list(all_events), |_: Event, all: &Vec<Event>| all.len() as u64) -> collect();
        }
        .run()
        .unwrap();
        let (mut totals, mut counts) = (BTreeMap::<(i64, u32), i64>::new(), BTreeMap::<i64, u64>::new());
        let mut keys: BTreeMap<i64, std::collections::BTreeSet<u32>> = BTreeMap::new();
        for &(k, v, t) in &events {
            *totals.entry((window_of(t), k)).or_default() += v;
            *counts.entry(window_of(t)).or_default() += 1;
            keys.entry(window_of(t)).or_default().insert(k);
        }
        let expect = sorted(
            events
                .iter()
                .map(|&(k, v, t)| {
                    let w = window_of(t);
                    (w, k, v, totals[&(w, k)], counts[&w], keys[&w].len())
                })
                .collect(),
        );
        let got = sorted(
            out.shares
                .iter()
                .map(|w| (w.window.start.millis(), w.value.0, w.value.1, w.value.2, w.value.3, w.value.4))
                .collect(),
        );
        assert_eq!(got, expect, "{name}");
        assert!(out.seen.iter().all(|&n| n == events.len() as u64), "{name}: the global-window side input whole");
        assert_eq!(out.seen.len(), events.len(), "{name}");
    }

    // A window the side input has no element in: `as_singleton` has no value there.
    let events: Vec<Event> = vec![(1, 1, 10), (1, 2, SIZE + 10)];
    let result = pipeline! {
        timed = from_iter(events.clone())
            -> with_timestamps(|e: &Event| e.2)
            -> window(FixedWindows::of(Duration::from_millis(SIZE)));
        early = timed -> filter(|e: &Event| e.2 < SIZE) -> count();
        out = timed -> map_with(as_singleton(early), |e: Event, n: &u64| e.1 + *n as i64) -> collect();
    }
    .run();
    let Err(error) = result else { panic!("a window without the singleton fails") };
    let message = error.to_string();
    assert!(message.contains("`map_with`") && message.contains("holds none in the window 1000..2000"), "{message}");

    // Sessions merge: an element's window is not the session its side value is in.
    let result = pipeline! {
        timed = from_iter(events.clone())
            -> with_timestamps(|e: &Event| e.2)
            -> window(Sessions::with_gap(Duration::from_millis(SIZE)));
        totals = timed -> map(|(k, v, _): Event| (k, v)) -> sum_per_key();
        out = timed -> map_with(as_map(totals), |e: Event, t: &SideMap<u32, i64>| t.len() as i64 + e.1) -> collect();
    }
    .run();
    let Err(error) = result else { panic!("a side input per session fails") };
    let message = error.to_string();
    assert!(message.contains("`map_with`") && message.contains("cannot be read per session window"), "{message}");
}

/// A co-group per window on bounded input stamps each result as its windowing's
/// timestamp combiner says, as `group_by_key` does: here the earliest time of the
/// key's values in the window, over both inputs.
#[test]
fn co_groups_on_bounded_input_honour_the_timestamp_combiner() {
    let mut rng = StdRng::seed_from_u64(13);
    let a: Vec<Event> = (0..2_000).map(|_| (rng.random_range(0..30), 1, rng.random_range(0..10 * SIZE))).collect();
    let b: Vec<Event> = (0..1_000).map(|_| (rng.random_range(0..30), 2, rng.random_range(0..10 * SIZE))).collect();
    let windowing =
        || FixedWindows::of(Duration::from_millis(SIZE)).with_timestamp_combiner(TimestampCombiner::Earliest);
    let out = pipeline! {
        a = from_iter(a.clone()) -> with_timestamps(|e: &Event| e.2) -> window(windowing()) -> map(|e: Event| (e.0, e.2));
        b = from_iter(b.clone()) -> with_timestamps(|e: &Event| e.2) -> window(windowing()) -> map(|e: Event| (e.0, e.2));
        grouped = (a, b) -> co_group_by_key() -> reify() -> collect();
    }
    .run()
    .unwrap();
    let mut earliest: BTreeMap<(i64, u32), u64> = BTreeMap::new();
    for &(k, _, t) in a.iter().chain(&b) {
        let e = earliest.entry((window_of(t), k)).or_insert(t);
        *e = (*e).min(t);
    }
    let got: BTreeMap<(i64, u32), u64> =
        out.grouped.iter().map(|w| ((w.window.start.millis(), w.value.0), w.timestamp.millis() as u64)).collect();
    assert_eq!(got, earliest);
}
