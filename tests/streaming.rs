//! Event time on unbounded input (`TestStream`), for what Beam's transcripts do not
//! cover: sliding and global windows with triggers, the composite and
//! processing-time triggers, and the default trigger against a sequential model of
//! Beam's semantics on seeded random input (out of order, one hot key, elements on
//! window boundaries, late data within and beyond the allowed lateness).

use std::collections::BTreeMap;
use std::time::Duration;

use beam::prelude::*;
use beam::window::Timing;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// `(window start, key, value, timing, pane index, last)` of each pane, sorted.
type Pane = (i64, &'static str, u64, Timing, u32, bool);

fn panes(out: &[Windowed<(&'static str, u64)>]) -> Vec<Pane> {
    let mut got: Vec<Pane> = out
        .iter()
        .map(|w| (w.window.start.millis(), w.value.0, w.value.1, w.pane.timing, w.pane.index, w.pane.is_last))
        .collect();
    got.sort_by_key(|p| (p.0, p.1, p.4));
    got
}

#[test]
fn sliding_windows_fire_on_time_and_late_per_window() {
    let script = TestStream::new()
        .add_elements([timestamped(("a", 1u64), 2_000), timestamped(("a", 10), 7_000)])
        .advance_watermark_to(10_000)
        // Late for [0, 10 s) (fired), on time for [5 s, 15 s).
        .add_elements([timestamped(("a", 100), 6_000)])
        .advance_watermark_to_infinity();
    let out = pipeline! {
        sums = test_stream(script)
            -> window(SlidingWindows::of(secs(10)).every(secs(5))
                          .triggering(AfterWatermark::past_end_of_window().with_late_firings(AfterCount::new(1)))
                          .with_allowed_lateness(secs(30)))
            -> sum_per_key()
            -> reify()
            -> collect();
    }
    .run()
    .unwrap();
    use Timing::*;
    assert_eq!(
        panes(&out.sums),
        [
            (-5_000, "a", 1, OnTime, 0, false),
            (0, "a", 11, OnTime, 0, false),
            (0, "a", 100, Late, 1, false),
            (5_000, "a", 110, OnTime, 0, false),
        ]
    );
}

/// As in Beam, with the default trigger: a late element whose session takes in
/// one that already fired makes a new window, which starts fresh and fires on time
/// when the watermark passes its own end (nothing at once); a late element inside
/// a fired session fires a late pane of it at once.
#[test]
fn a_session_that_a_late_element_extends_fires_on_time_at_its_new_end() {
    for accumulating in [false, true] {
        let script = |late: i64| {
            TestStream::new()
                .add_elements([timestamped(("k", 1u64), 1)])
                .advance_watermark_to(15)
                .add_elements([timestamped(("k", late.max(1) as u64), late)])
                .advance_watermark_to(30)
                .advance_watermark_to_infinity()
        };
        let windowing =
            || Sessions::with_gap(Duration::from_millis(10)).with_allowed_lateness(Duration::from_millis(100));
        let run = |late: i64| {
            let sums = if accumulating {
                pipeline! {
                    sums = test_stream(script(late)) -> window(windowing().accumulating_fired_panes())
                        -> sum_per_key() -> reify() -> collect();
                }
                .run()
                .unwrap()
                .sums
            } else {
                pipeline! {
                    sums = test_stream(script(late)) -> window(windowing()) -> sum_per_key() -> reify() -> collect();
                }
                .run()
                .unwrap()
                .sums
            };
            let mut panes: Vec<_> = sums
                .iter()
                .map(|w| {
                    let window = (w.window.start.millis(), w.window.end.millis());
                    (window, w.value.1, w.pane.timing, w.pane.index, w.pane.on_time_index, w.pane.is_first)
                })
                .collect();
            panes.sort_by_key(|p| (p.3, p.0));
            panes
        };
        use Timing::*;
        // 9 at 9: its session [9, 19) takes in [1, 11), which fired; [1, 19) ends after
        // the watermark (15).
        let extended = if accumulating { 10 } else { 9 };
        assert_eq!(
            run(9),
            [((1, 11), 1, OnTime, 0, Some(0), true), ((1, 19), extended, OnTime, 0, Some(0), true)],
            "accumulating: {accumulating}"
        );
        // 2 at 1: its session is [1, 11) itself, which fired: a late pane of it.
        let got = run(1);
        let inside = if accumulating { 2 } else { 1 };
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], ((1, 11), 1, OnTime, 0, Some(0), true), "accumulating: {accumulating}");
        assert_eq!((got[1].0, got[1].1, got[1].2, got[1].3), ((1, 11), inside, Late, 1), "{got:?}");
    }
}

#[test]
fn a_global_window_fires_by_count_and_its_rest_when_the_input_ends() {
    let script = TestStream::new()
        .add_elements((1..=7u64).map(|v| timestamped(("k", v), v as i64)))
        .advance_watermark_to_infinity();
    let out = pipeline! {
        sums = test_stream(script)
            -> window(GlobalWindows.triggering(Repeatedly::forever(AfterCount::new(3))))
            -> sum_per_key()
            -> reify()
            -> collect();
    }
    .run()
    .unwrap();
    // One bundle of 7: the count fires once (on all 7); nothing is left for the end.
    assert_eq!(out.sums.iter().map(|w| w.value.1).collect::<Vec<_>>(), [28]);

    let script = (1..=7u64)
        .fold(TestStream::new(), |s, v| s.add_elements([timestamped(("k", v), v as i64)]))
        .advance_watermark_to_infinity();
    let out = pipeline! {
        sums = test_stream(script)
            -> window(GlobalWindows.triggering(Repeatedly::forever(AfterCount::new(3))))
            -> sum_per_key()
            -> reify()
            -> collect();
    }
    .run()
    .unwrap();
    // One element per bundle: 1+2+3, 4+5+6, then 7 when the window expires.
    let got = panes(&out.sums);
    let values: Vec<(u64, Timing, bool)> = got.iter().map(|p| (p.2, p.3, p.5)).collect();
    assert_eq!(values, [(6, Timing::Early, false), (15, Timing::Early, false), (7, Timing::OnTime, true)]);
}

/// Sums per key in the global window, one element per bundle, under `trigger`:
/// the panes' sums.
fn sums_under(trigger: Trigger, values: &[u64], accumulating: bool, clock_every: Option<u64>) -> Vec<(u64, bool)> {
    let mut script = TestStream::new();
    for (i, &v) in values.iter().enumerate() {
        script = script.add_elements([timestamped(("k", v), i as i64)]);
        if let Some(every) = clock_every {
            script = script.advance_processing_time(Duration::from_secs(every));
        }
    }
    let script = script.advance_watermark_to_infinity();
    let windowing = GlobalWindows.triggering(trigger);
    let out = if accumulating {
        pipeline! {
            sums = test_stream(script) -> window(windowing.accumulating_fired_panes()) -> sum_per_key() -> reify() -> collect();
        }
        .run()
        .unwrap()
        .sums
    } else {
        pipeline! {
            sums = test_stream(script) -> window(windowing) -> sum_per_key() -> reify() -> collect();
        }
        .run()
        .unwrap()
        .sums
    };
    panes(&out).iter().map(|p| (p.2, p.5)).collect()
}

#[test]
fn composite_triggers_fire_as_beams_do() {
    let ones = [1u64; 10];
    // One after the other: 2 elements, then 3 more; then finished (the rest dropped).
    let each = AfterEach::in_order([AfterCount::new(2).into(), AfterCount::new(3).into()]);
    assert_eq!(sums_under(each, &ones, false, None), [(2, false), (3, true)]);
    // The first of two counts, once.
    let first = AfterFirst::of([AfterCount::new(4).into(), AfterCount::new(2).into()]);
    assert_eq!(sums_under(first, &ones, false, None), [(2, true)]);
    // Both counts, once.
    let all = AfterAll::of([AfterCount::new(4).into(), AfterCount::new(2).into()]);
    assert_eq!(sums_under(all, &ones, true, None), [(4, true)]);
    // Every 2 elements until 5 have come in one pane.
    let until = Repeatedly::forever(AfterCount::new(2)).or_finally(AfterCount::new(5));
    assert_eq!(sums_under(until, &ones, false, None), [(2, false), (2, false), (1, true)]);
    // Never: everything in the pane made when the window expires.
    assert_eq!(sums_under(Never::ever(), &ones, false, None), [(10, true)]);
}

#[test]
fn processing_time_triggers_follow_the_test_clock() {
    let ones = [1u64; 10];
    // A pane 5 s of processing time after its first element; 2 s pass per element.
    let every_5s = Repeatedly::forever(AfterProcessingTime::past_first_element_in_pane().plus_delay(secs(5)));
    assert_eq!(sums_under(every_5s, &ones, false, Some(2)), [(3, false), (3, false), (3, false), (1, true)]);
    // Without the clock moving, only the end of the input fires.
    let every_5s = Repeatedly::forever(AfterProcessingTime::past_first_element_in_pane().plus_delay(secs(5)));
    assert_eq!(sums_under(every_5s, &ones, false, None), [(10, true)]);
}

/// A sequential model of the default trigger with discarding panes: per window
/// and key, an on-time pane when the watermark passes the window's end (with
/// what arrived by then), then a late pane per bundle of late data within the
/// allowed lateness; later data is dropped.
#[derive(Default)]
struct Model {
    /// (window start, key) → (data since the last pane, on-time pane fired)
    windows: BTreeMap<(i64, &'static str), (u64, bool)>,
    panes: Vec<Pane>,
    dropped: u64,
    fired: BTreeMap<(i64, &'static str), u32>,
}

const SIZE: i64 = 1_000;
const LATENESS: i64 = 3_000;

impl Model {
    fn bundle(&mut self, watermark: i64, elements: &[(&'static str, u64, i64)]) {
        let mut touched = Vec::new();
        for &(key, value, t) in elements {
            let start = t.div_euclid(SIZE) * SIZE;
            if start + SIZE - 1 + LATENESS < watermark {
                self.dropped += 1;
                continue;
            }
            let entry = self.windows.entry((start, key)).or_default();
            entry.0 += value;
            touched.push((start, key));
        }
        touched.sort();
        touched.dedup();
        for window in touched {
            // Late data: fires as it comes, once the on-time pane has fired (or the
            // watermark had passed the window before its first element came).
            let passed = window.0 + SIZE - 1 < watermark;
            if passed {
                self.fire(window, false);
            }
        }
    }

    fn advance(&mut self, from: i64, to: i64) {
        let windows: Vec<(i64, &'static str)> = self.windows.keys().copied().collect();
        for window in windows {
            let max = window.0 + SIZE - 1;
            if from <= max && max < to {
                self.fire(window, true);
            }
            if max + LATENESS < to {
                if self.windows[&window].0 > 0 {
                    self.fire(window, false);
                }
                self.windows.remove(&window);
            }
        }
    }

    fn fire(&mut self, window: (i64, &'static str), on_time_timer: bool) {
        let entry = self.windows.get_mut(&window).unwrap();
        let index = self.fired.entry(window).or_default();
        let timing = if on_time_timer && !entry.1 { Timing::OnTime } else { Timing::Late };
        entry.1 = true;
        self.panes.push((window.0, window.1, std::mem::take(&mut entry.0), timing, *index, false));
        *index += 1;
    }
}

#[test]
fn the_default_trigger_matches_a_sequential_model_on_random_input() {
    for seed in 0..4u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let keys = ["hot", "a", "b", "c", "d"];
        let mut script = TestStream::new();
        let mut model = Model::default();
        let mut watermark = i64::MIN / 1000;
        let mut now = 0i64;
        for _ in 0..60 {
            if rng.random_bool(0.6) {
                let n = rng.random_range(0..40);
                let elements: Vec<(&'static str, u64, i64)> = (0..n)
                    .map(|_| {
                        let key = if rng.random_bool(0.6) { "hot" } else { keys[rng.random_range(1..keys.len())] };
                        // Around the present, some on window boundaries, some well behind.
                        let t = if rng.random_bool(0.1) {
                            (now / SIZE) * SIZE
                        } else {
                            now + rng.random_range(-6_000..2_000)
                        };
                        (key, rng.random_range(1..10), t.max(0))
                    })
                    .collect();
                model.bundle(watermark, &elements);
                script = script.add_elements(elements.iter().map(|&(k, v, t)| timestamped((k, v), t)));
            } else {
                now += rng.random_range(0..1_500);
                let to = now - 1_000;
                if to > watermark {
                    model.advance(watermark, to);
                    watermark = to;
                    script = script.advance_watermark_to(to);
                }
            }
        }
        model.advance(watermark, i64::MAX / 1000);
        let script = script.advance_watermark_to_infinity();
        let out = pipeline! {
            sums = test_stream(script)
                -> window(FixedWindows::of(Duration::from_millis(SIZE as u64)).with_allowed_lateness(Duration::from_millis(LATENESS as u64)))
                -> grouping: sum_per_key()
                -> reify()
                -> collect();
        }
        .run()
        .unwrap();
        // The model does not know which pane is a window's last; compare the rest.
        let got: Vec<Pane> = panes(&out.sums).into_iter().map(|p| (p.0, p.1, p.2, p.3, p.4, false)).collect();
        let mut expected = model.panes.clone();
        expected.sort_by_key(|p| (p.0, p.1, p.4));
        assert_eq!(got, expected, "seed {seed}");
        let dropped = out.metrics.stage("grouping").unwrap().late;
        assert_eq!(dropped, model.dropped, "seed {seed}: elements dropped as too late");
        assert!(model.dropped > 0 && got.iter().any(|p| p.3 == Timing::Late), "seed {seed}: the input has late data");
    }
}

#[test]
fn what_comes_too_late_goes_to_the_late_output_typed() {
    let script = TestStream::new()
        .add_elements([timestamped(("a", 1u64), 1_000), timestamped(("b", 2), 12_000)])
        .advance_watermark_to(30_000)
        // [0, 10 s) closed at 10 s + 5 s: too late; [20 s, 30 s) is still open.
        .add_elements([timestamped(("a", 4u64), 3_000), timestamped(("c", 8), 21_000), timestamped(("a", 16), 9_999)])
        .advance_watermark_to_infinity();
    let out = pipeline! {
        (sums, late) = test_stream(script)
            -> window(FixedWindows::of(secs(10)).with_allowed_lateness(secs(5)))
            -> grouping: sum_per_key();
        panes = sums -> reify() -> collect();
        too_late = late -> collect();
    }
    .run()
    .unwrap();
    let mut late: Vec<(&str, u64, i64, i64, i64)> = out
        .too_late
        .iter()
        .map(|l| (l.value.0, l.value.1, l.timestamp.millis(), l.window.start.millis(), l.watermark.millis()))
        .collect();
    late.sort();
    assert_eq!(late, [("a", 4, 3_000, 0, 30_000), ("a", 16, 9_999, 0, 30_000)]);
    let sums = panes(&out.panes);
    assert_eq!(
        sums.iter().map(|p| (p.0, p.1, p.2)).collect::<Vec<_>>(),
        [(0, "a", 1), (10_000, "b", 2), (20_000, "c", 8)]
    );
    assert_eq!(out.metrics.stage("grouping").unwrap().late, 2);
}

/// A trigger that does not repeat closes its window when it fires: what comes for
/// it later is dropped (as Beam drops it) and counted, not sent to the late output,
/// which is for what comes after the window's end plus the allowed lateness.
#[test]
fn a_window_whose_trigger_finished_drops_and_counts_what_comes_later() {
    let script = TestStream::new()
        .add_elements([timestamped(("a", 1u64), 1_000), timestamped(("a", 2), 2_000), timestamped(("b", 4), 3_000)])
        .add_elements([timestamped(("a", 8u64), 4_000), timestamped(("b", 16), 5_000)])
        .advance_watermark_to_infinity();
    let out = pipeline! {
        (sums, late) = test_stream(script)
            -> window(FixedWindows::of(secs(10)).triggering(AfterCount::new(2)).with_allowed_lateness(secs(5)))
            -> grouping: sum_per_key();
        panes = sums -> reify() -> collect();
        too_late = late -> collect();
    }
    .run()
    .unwrap();
    // `a` fired after its first two elements and closed; `b` fired after its second,
    // which came in the second bundle.
    let sums = panes(&out.panes);
    assert_eq!(sums.iter().map(|p| (p.0, p.1, p.2, p.5)).collect::<Vec<_>>(), [(0, "a", 3, true), (0, "b", 20, true)]);
    assert!(out.too_late.is_empty(), "nothing came past the end of its window plus the allowed lateness");
    assert_eq!(out.metrics.stage("grouping").unwrap().late, 1, "`a`'s third element was dropped and counted");
}

/// `(key, value, input)` at a time, for the co-group tests.
type Tagged = (&'static str, u64, u8);

/// A random script of bundles of tagged elements, out of order, some late, and
/// watermark advances.
fn tagged_script(seed: u64) -> TestStream<(&'static str, u64, u8)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys = ["hot", "a", "b", "c"];
    let mut script = TestStream::new();
    let (mut now, mut watermark) = (0i64, i64::MIN);
    for _ in 0..40 {
        if rng.random_bool(0.6) {
            let n = rng.random_range(0..30);
            let elements: Vec<_> = (0..n)
                .map(|_| {
                    let key = if rng.random_bool(0.5) { "hot" } else { keys[rng.random_range(1..keys.len())] };
                    let t = (now + rng.random_range(-8_000..2_000)).max(0);
                    timestamped((key, rng.random_range(1..100), rng.random_range(0..2u8)), t)
                })
                .collect();
            script = script.add_elements(elements);
        } else {
            now += rng.random_range(0..2_000);
            if now - 1_000 > watermark {
                watermark = now - 1_000;
                script = script.advance_watermark_to(watermark);
            }
        }
    }
    script.advance_watermark_to_infinity()
}

/// One pane of a co-group: `(window start, window end, key, timing, index, last,
/// timestamp)` and each input's values, sorted.
type GroupPane = ((i64, i64, &'static str, Timing, u32, bool, i64), (Vec<u64>, Vec<u64>));

fn group_pane<V>(w: &Windowed<(&'static str, V)>, mut a: Vec<u64>, mut b: Vec<u64>) -> GroupPane {
    a.sort();
    b.sort();
    let (window, pane) = (w.window, w.pane);
    let at = (window.start.millis(), window.end.millis(), w.value.0, pane.timing, pane.index, pane.is_last);
    ((at.0, at.1, at.2, at.3, at.4, at.5, w.timestamp.millis()), (a, b))
}

/// A co-group of unbounded input is Beam's: a `GroupByKey` of its inputs' union, so
/// it fires the panes that grouping fires (early, on time, late; accumulating or
/// not; fixed windows and sessions), each holding what each input gave. Checked
/// against `group_by_key` of the tagged, flattened inputs in the same pipeline, on
/// random scripts; the joins pair each pane's values.
#[test]
fn co_groups_and_joins_of_unbounded_input_fire_the_panes_of_a_grouping_of_their_union() {
    // How many panes of each window function, timing and emptiness were compared.
    let mut kinds: BTreeMap<(&str, Timing, bool), usize> = BTreeMap::new();
    for seed in 0..3u64 {
        let out = pipeline! {
            timed = test_stream(tagged_script(seed))
                -> window(FixedWindows::of(secs(5))
                              .triggering(AfterWatermark::past_end_of_window()
                                  .with_early_firings(AfterCount::new(3))
                                  .with_late_firings(AfterCount::new(1)))
                              .with_allowed_lateness(secs(4))
                              .accumulating_fired_panes());
            a = timed -> filter(|e: &Tagged| e.2 == 0) -> map(|e: Tagged| (e.0, e.1));
            b = timed -> filter(|e: &Tagged| e.2 == 1) -> map(|e: Tagged| (e.0, e.1 * 1000));
            grouped = (a, b) -> co_group_by_key() -> reify() -> collect();
            paired = (a, b) -> outer_join() -> reify() -> collect();
            inner = (a, b) -> join() -> reify() -> collect();
            lefts = (a, b) -> left_join() -> reify() -> collect();
            ta = a -> map(|(k, v): (&'static str, u64)| (k, (0u8, v)));
            tb = b -> map(|(k, v): (&'static str, u64)| (k, (1u8, v)));
            union = (ta, tb) -> flatten() -> group_by_key() -> reify() -> collect();
        }
        .run()
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        // A pipeline reads one unbounded source.
        let sessions = pipeline! {
            session_timed = test_stream(tagged_script(seed + 10))
                -> window(Sessions::with_gap(secs(3)).with_allowed_lateness(secs(5)));
            sa = session_timed -> filter(|e: &Tagged| e.2 == 0) -> map(|e: Tagged| (e.0, e.1));
            sb = session_timed -> filter(|e: &Tagged| e.2 == 1) -> map(|e: Tagged| (e.0, e.1));
            session_grouped = (sa, sb) -> co_group_by_key() -> reify() -> collect();
            sta = sa -> map(|(k, v): (&'static str, u64)| (k, (0u8, v)));
            stb = sb -> map(|(k, v): (&'static str, u64)| (k, (1u8, v)));
            session_union = (sta, stb) -> flatten() -> group_by_key() -> reify() -> collect();
        }
        .run()
        .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        for (name, grouped, union) in
            [("fixed", &out.grouped, &out.union), ("sessions", &sessions.session_grouped, &sessions.session_union)]
        {
            let mut got: Vec<GroupPane> =
                grouped.iter().map(|w| group_pane(w, w.value.1.0.clone(), w.value.1.1.clone())).collect();
            let mut expected: Vec<GroupPane> = union
                .iter()
                .map(|w| {
                    let of = |input: u8| w.value.1.iter().filter(|t| t.0 == input).map(|t| t.1).collect::<Vec<_>>();
                    group_pane(w, of(0), of(1))
                })
                .collect();
            got.sort();
            expected.sort();
            assert!(!expected.is_empty(), "seed {seed}, {name}");
            for pane in &expected {
                *kinds.entry((name, pane.0.3, pane.1.0.is_empty() && pane.1.1.is_empty())).or_default() += 1;
            }
            assert_eq!(got, expected, "seed {seed}, {name}");
        }
        // The outer join: per pane, each value of one input with each of the
        // other's, or alone where the other has none.
        let mut pairs = Vec::new();
        for w in &out.union {
            let of = |input: u8| w.value.1.iter().filter(|t| t.0 == input).map(|t| t.1).collect::<Vec<_>>();
            let (a, b) = (of(0), of(1));
            let at = (w.window.start.millis(), w.value.0, w.pane.index, w.pane.timing);
            match (a.is_empty(), b.is_empty()) {
                (false, true) => pairs.extend(a.iter().map(|&x| (at, Some(x), None))),
                (true, false) => pairs.extend(b.iter().map(|&y| (at, None, Some(y)))),
                _ => a.iter().for_each(|&x| pairs.extend(b.iter().map(|&y| (at, Some(x), Some(y))))),
            }
        }
        fn at<V>(w: &Windowed<(&'static str, V)>) -> (i64, &'static str, u32, Timing) {
            (w.window.start.millis(), w.value.0, w.pane.index, w.pane.timing)
        }
        let mut got: Vec<_> = out.paired.iter().map(|w| (at(w), w.value.1.0, w.value.1.1)).collect();
        got.sort();
        pairs.sort();
        assert_eq!(got, pairs, "seed {seed}: outer_join");
        // A join's pairs are the outer join's with both sides; a left join's, those
        // with a left value.
        let mut got: Vec<_> = out.inner.iter().map(|w| (at(w), w.value.1.0, w.value.1.1)).collect();
        got.sort();
        let inner: Vec<_> = pairs.iter().filter_map(|&(at, l, r)| Some((at, l?, r?))).collect();
        assert_eq!(got, inner, "seed {seed}: join");
        let mut got: Vec<_> = out.lefts.iter().map(|w| (at(w), w.value.1.0, w.value.1.1)).collect();
        got.sort();
        let lefts: Vec<_> = pairs.iter().filter_map(|&(at, l, r)| Some((at, l?, r))).collect();
        assert_eq!(got, lefts, "seed {seed}: left_join");
    }
    // Early, on-time and late panes of fixed windows; on-time and late panes of
    // sessions (with the default trigger, never an empty one: nothing fires early).
    for kind in [("fixed", Timing::Early, false), ("fixed", Timing::OnTime, false), ("fixed", Timing::Late, false)] {
        assert!(kinds.contains_key(&kind), "{kind:?} in {kinds:?}");
    }
    assert!(!kinds.keys().any(|k| k.0 == "sessions" && (k.1 == Timing::Early || k.2)), "{kinds:?}");
    for kind in [("sessions", Timing::OnTime, false), ("sessions", Timing::Late, false)] {
        assert!(kinds.contains_key(&kind), "{kind:?} in {kinds:?}");
    }
}
