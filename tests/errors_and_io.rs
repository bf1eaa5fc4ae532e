//! Failures become errors that name the stage; text in and out; the plan.

use std::fs;

use beam::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[test]
fn a_panic_in_a_closure_is_an_error_naming_the_stage() {
    let data: Vec<u32> = (0..50_000).collect();
    let result = pipeline! {
        xs = from_iter(data.iter().copied());
        _out = xs
            -> map(|x: u32| x + 1)
            -> check: filter(|x: &u32| { assert!(*x != 40_000, "bad element {x}"); true })
            -> collect();
    }
    .run();
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UserPanic);
    let stage = err.stage().expect("the error names a stage");
    assert_eq!((stage.op, stage.label), ("filter", Some("check")));
    assert!(err.message().contains("bad element 40000"), "{err}");
    assert!(err.to_string().starts_with("stage `check` (`filter`, line "), "{err}");
}

#[test]
fn a_panic_in_a_sink_or_combiner_names_that_stage() {
    struct Fragile;
    impl CombineFn<u64> for Fragile {
        type Acc = u64;
        type Out = u64;
        fn create_accumulator(&self) -> u64 {
            0
        }
        fn add_input(&self, acc: &mut u64, x: u64) {
            *acc += x;
        }
        fn merge_accumulators(&self, acc: &mut u64, other: u64) {
            *acc += other;
        }
        fn extract_output(&self, _: u64) -> u64 {
            panic!("cannot extract")
        }
    }
    let err = pipeline! {
        xs = from_iter(0..10u64);
        xs -> for_each(|x: u64| assert!(x < 5, "too big"));
    }
    .run()
    .unwrap_err();
    assert_eq!(err.stage().unwrap().op, "for_each");

    let err = pipeline! {
        xs = from_iter(0..10u64);
        _total = xs -> combine_globally(Fragile) -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.stage().unwrap().op, "combine_globally");
    assert_eq!(err.message(), "cannot extract");

    // A combiner that cannot even start: made by each worker before the loop runs.
    struct NoStart;
    impl CombineFn<u64> for NoStart {
        type Acc = u64;
        type Out = u64;
        fn create_accumulator(&self) -> u64 {
            panic!("cannot start")
        }
        fn add_input(&self, acc: &mut u64, x: u64) {
            *acc += x;
        }
        fn merge_accumulators(&self, acc: &mut u64, other: u64) {
            *acc += other;
        }
        fn extract_output(&self, acc: u64) -> u64 {
            acc
        }
    }
    let err = pipeline! {
        xs = from_iter(0..10u64);
        _total = xs -> combine_globally(NoStart) -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.stage().unwrap().op, "combine_globally", "{err}");
    assert_eq!(err.message(), "cannot start");
}

#[test]
fn a_panicking_source_iterator_is_an_error() {
    let err = pipeline! {
        xs = from_iter((0..10_000u32).map(|x| if x == 9_000 { panic!("source broke") } else { x }));
        _n = xs -> count() -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.stage().unwrap().op, "from_iter");
    assert_eq!(err.message(), "source broke");
}

#[test]
fn read_text_reads_every_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &[u8], &[&str])] = &[
        ("empty", b"", &[]),
        ("no trailing newline", b"a\nb", &["a", "b"]),
        ("crlf", b"a\r\nb\r\n\r\nc", &["a", "b", "", "c"]),
        ("blank lines", b"\n\nx\n", &["", "", "x"]),
    ];
    for (name, bytes, expect) in cases {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let out = pipeline! {
            lines = read_text(&path);
            all = lines -> collect();
        }
        .run()
        .unwrap();
        let mut got = out.all;
        got.sort();
        let mut expect: Vec<String> = expect.iter().map(|s| s.to_string()).collect();
        expect.sort();
        assert_eq!(got, expect, "{name}");
    }

    // Large enough for many chunks across workers.
    let big: Vec<String> = (0..100_000).map(|i| format!("line {i}")).collect();
    let path = dir.path().join("big.txt");
    fs::write(&path, big.join("\n")).unwrap();
    let out = pipeline! {
        lines = read_text(&path);
        all = lines -> collect();
    }
    .run()
    .unwrap();
    let mut got = out.all;
    got.sort();
    let mut expect = big;
    expect.sort();
    assert_eq!(got, expect);
}

#[test]
fn read_text_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let err = pipeline! {
        lines = read_text(&missing);
        _n = lines -> count() -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(err.stage().unwrap().op, "read_text");
    assert_eq!(err.input().unwrap().path, missing);

    let bad = dir.path().join("bad.txt");
    fs::write(&bad, b"fine\nalso fine\nnot \xff utf-8\n").unwrap();
    let err = pipeline! {
        lines = read_text(&bad);
        _n = lines -> count() -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.input().unwrap().line, Some(3));
    assert!(err.to_string().contains("bad.txt:3"), "{err}");
    assert!(std::error::Error::source(&err).is_some(), "the UTF-8 error is chained");
}

#[test]
fn write_text_writes_one_line_per_element_in_part_files() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let data: Vec<(String, u64)> = (0..20_000u64).map(|i| (format!("k{i}"), i)).collect();
    pipeline! {
        pairs = from_iter(data.clone());
        pairs -> write_text(&out_dir, |(k, v): &(String, u64)| format!("{k}\t{v}"));
    }
    .threads(3)
    .run()
    .unwrap();
    let mut names: Vec<String> =
        fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, vec!["part-00000-of-00003", "part-00001-of-00003", "part-00002-of-00003"]);
    let mut lines: Vec<String> = names
        .iter()
        .flat_map(|n| fs::read_to_string(out_dir.join(n)).unwrap().lines().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    lines.sort();
    let mut expect: Vec<String> = data.iter().map(|(k, v)| format!("{k}\t{v}")).collect();
    expect.sort();
    assert_eq!(lines, expect);
}

#[test]
fn the_plan_shows_fusion_and_shuffles_without_running() {
    let text = "a b\nc";
    let p = pipeline! {
        words = from_iter(text.lines()) -> split: flat_map(|l: &str| l.split(' '));
        counts = words -> count_per_element();
        top = counts -> top(3, |(_, n): &(&str, u64)| *n) -> collect();
        total = words -> count() -> collect();
    };
    let plan = p.plan();
    assert_eq!(plan.stages.len(), 7);
    assert_eq!(plan.segments.len(), 4);
    // The source, the flat_map and both pre-combining stages run in one loop.
    assert_eq!(plan.segments[0].stages, &[0, 1, 2, 5]);
    let text = p.explain();
    assert!(text.contains("1 shuffle"), "{text}");
    assert!(text.contains("split: flat_map"), "{text}");
    assert!(text.contains("=> counts"), "{text}");
    let dot = p.to_dot();
    assert!(dot.contains("subgraph cluster_0") && dot.contains("style=dashed"), "{dot}");
    // Explaining does not run: running still works afterwards.
    assert_eq!(p.run().unwrap().total, vec![3]);
}

#[test]
fn the_plan_shows_joins_side_inputs_and_partitions() {
    let p = pipeline! {
        orders = from_iter(vec![(1u32, "usd", 10.0f64), (2, "eur", 90.0)]);
        customers = from_iter(vec![(1u32, "gold"), (2, "basic")]);
        rates = from_iter(vec![("eur", 1.0f64), ("usd", 0.9)]);
        in_eur = orders -> to_eur: map_with(as_map(rates), |(c, cur, x): (u32, &str, f64), r: &SideMap<&str, f64>| (c, x * r[cur]));
        (small, large) = in_eur -> by_size: partition(2, |(_, x): &(u32, f64)| usize::from(*x >= 50.0));
        per_segment = (large, customers) -> join() -> map(|(_, (x, s)): (u32, (f64, &str))| (s, x)) -> sum_per_key() -> collect();
        both = (small, customers) -> outer_join() -> collect();
    };
    let plan = p.plan();
    let id = |op: &str| plan.stages.iter().find(|s| s.op == op || s.label == Some(op)).unwrap().id;
    // Stages are numbered in the order they are written: the sources are 0, 1, 2.
    let (to_eur, join, customers, rates) = (id("to_eur"), id("join"), 1, 2);
    assert_eq!(plan.stages[customers].name, Some("customers"));
    assert_eq!(plan.stages[to_eur].side_inputs, &[rates]);
    assert_eq!(plan.stages[join].side_inputs, &[customers]);
    let text = p.explain();
    assert!(text.contains("to_eur: map_with") && text.contains(&format!("side [{rates}]")), "{text}");
    assert!(text.contains(&format!("side [{customers}]")), "{text}");
    assert!(text.contains("by_size: partition") && text.contains("=> small") && text.contains("=> large"), "{text}");
    assert!(text.contains("reads the inputs of outer_join"), "{text}");
    let dot = p.to_dot();
    assert!(dot.contains(&format!("s{rates} -> s{to_eur} [style=dotted, label=\"side input\"]")), "{dot}");
    assert!(dot.contains(&format!("s{customers} -> s{join} [style=dotted")), "{dot}");
    assert!(dot.contains("to_eur: map_with") && dot.contains("by_size: partition"), "{dot}");
    let out = p.run().unwrap();
    assert_eq!(out.per_segment, vec![("basic", 90.0)]);
    assert_eq!(out.both.len(), 2);
}

#[test]
fn a_panic_while_building_a_stage_is_an_error_too() {
    fn make_adder(by: u32) -> impl Fn(u32) -> u32 + Sync {
        assert!(by < 10, "adder too large");
        move |x| x + by
    }
    let err = pipeline! {
        xs = from_iter(0..10u32);
        _ys = xs -> r#match: map(make_adder(99)) -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!((err.stage().unwrap().op, err.message()), ("map", "adder too large"));
    assert_eq!(err.stage().unwrap().label, Some("match"));
}

#[test]
fn metrics_count_each_stage() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    fs::write(&input, "a b c\n\nd e\n").unwrap();
    let out_dir = dir.path().join("out");
    let out = pipeline! {
        lines = read_text(&input);
        words = lines -> split: flat_map(|l: String| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>());
        short = words -> keep: filter(|w: &String| w.as_str() < "d") -> collect();
        counts = words -> count_per_element();
        counts -> write_text(&out_dir, |(w, n): &(String, u64)| format!("{w} {n}"));
    }
    .threads(2)
    .run()
    .unwrap();
    assert_eq!(out.short.len(), 3);
    let m = &out.metrics;
    let read = m.stage("read_text").unwrap();
    assert_eq!((read.elements_out, read.bytes_read), (3, 11));
    let split = m.stage("split").unwrap();
    assert_eq!((split.elements_in, split.elements_out), (3, 5));
    let keep = m.stage("keep").unwrap();
    assert_eq!((keep.elements_in, keep.elements_out), (5, 3));
    let counts = m.stage("count_per_element").unwrap();
    assert_eq!((counts.elements_in, counts.elements_out), (5, 5));
    let write = m.stage("write_text").unwrap();
    assert_eq!(write.elements_in, 5);
    assert_eq!(write.bytes_written, 20);
    assert_eq!(m.bad_records(), 0);
    assert!(m.to_string().contains("split: flat_map"));
}

#[test]
fn bytes_written_are_charged_to_each_sink() {
    let dir = tempfile::tempdir().unwrap();
    let (small, large) = (dir.path().join("small"), dir.path().join("large"));
    let out = pipeline! {
        xs = from_iter(0..5_000u32);
        xs -> short: write_text(&small, |x: &u32| x % 10);
        xs -> long: write_text(&large, |x: &u32| format!("{x:>20}"));
    }
    .threads(2)
    .run()
    .unwrap();
    let size = |dir: &std::path::Path| -> u64 {
        fs::read_dir(dir).unwrap().map(|f| f.unwrap().metadata().unwrap().len()).sum()
    };
    assert_eq!(out.metrics.stage("short").unwrap().bytes_written, size(&small));
    assert_eq!(out.metrics.stage("long").unwrap().bytes_written, size(&large));
    assert_eq!(size(&small), 5_000 * 2);
    assert_eq!(size(&large), 5_000 * 21);
}

/// Elements whose `Clone` panics.
#[derive(Debug)]
struct CloneBomb;

impl Clone for CloneBomb {
    fn clone(&self) -> Self {
        panic!("this rate cannot be copied")
    }
}

#[test]
fn a_panicking_clone_of_a_side_input_names_the_stage_reading_it() {
    // `rates` is read whole by two stages: the first gets a copy, which panics.
    let result = pipeline! {
        rates = from_iter(vec![CloneBomb]);
        xs = from_iter(0..10u32);
        _a = xs -> first: map_with(as_list(rates), |x: u32, r: &Vec<CloneBomb>| x + r.len() as u32) -> collect();
        _b = xs -> second: map_with(as_list(rates), |x: u32, r: &Vec<CloneBomb>| x * r.len() as u32) -> collect();
    }
    .run();
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UserPanic);
    assert_eq!(err.stage().unwrap().display_name(), "first");
    assert!(err.to_string().contains("this rate cannot be copied"), "{err}");
}

#[test]
fn user_counters_are_summed_over_workers() {
    use beam::metrics::{counter, distribution};
    let out = pipeline! {
        xs = from_iter(0..100_000u64);
        evens = xs
            -> inspect(|x: &u64| distribution("value").record(*x as i64))
            -> filter(|x: &u64| {
                   if x % 2 == 1 {
                       counter("odd").inc();
                   }
                   x.is_multiple_of(2)
               })
            -> collect();
    }
    .threads(4)
    .run()
    .unwrap();
    assert_eq!(out.evens.len(), 50_000);
    assert_eq!(out.metrics.counter("odd"), 50_000);
    assert_eq!(
        out.metrics.user["value"],
        beam::metrics::UserMetric::Distribution { count: 100_000, sum: (0..100_000i64).sum(), min: 0, max: 99_999 }
    );
    assert!(out.metrics.to_string().contains("odd: 50000"));
}

/// Metric names made at run time, distributions over `f64` and gauges, against a
/// sequential fold.
#[test]
fn user_metrics_of_every_kind() {
    use beam::metrics::{UserMetric, counter, distribution_f64, gauge};
    let values: Vec<f64> = (0..50_000).map(|i| ((i * 7919) % 1000) as f64 / 8.0 - 40.0).collect();
    let out = pipeline! {
        xs = from_iter(values.clone());
        xs -> for_each(|x: f64| {
            counter(format!("bucket {}", (x as i64).rem_euclid(3))).inc();
            distribution_f64("x").record(x);
            distribution_f64("nan").record(f64::NAN);
            gauge("seen").set(1);
        });
    }
    .threads(4)
    .run()
    .unwrap();
    for b in 0..3 {
        let expect = values.iter().filter(|x| (**x as i64).rem_euclid(3) == b).count() as u64;
        assert_eq!(out.metrics.counter(&format!("bucket {b}")), expect, "bucket {b}");
    }
    let UserMetric::FloatDistribution { count, sum, min, max } = out.metrics.user["x"] else { panic!("not f64") };
    assert_eq!(count, values.len() as u64);
    assert!((sum - values.iter().sum::<f64>()).abs() < 1e-6);
    assert_eq!(
        (min, max),
        (values.iter().copied().fold(f64::MAX, f64::min), values.iter().copied().fold(f64::MIN, f64::max))
    );
    assert!(!out.metrics.user.contains_key("nan"), "a NaN is not recorded");
    assert_eq!(out.metrics.user["seen"], UserMetric::Gauge(1));

    // On one worker, the gauge holds the value set last.
    let out = pipeline! {
        xs = from_iter(0..1000i64);
        xs -> for_each(|x: i64| gauge("latest").set(x));
    }
    .threads(1)
    .run()
    .unwrap();
    assert_eq!(out.metrics.user["latest"], UserMetric::Gauge(999));
    assert!(out.metrics.to_string().contains("latest: 999 (last set)"), "{}", out.metrics);
}

/// Sums, counting its extractions with the user counter `extracted`: code that runs
/// in the merge after the loop, on any thread of the pool.
struct CountingSum;

impl CombineFn<u64> for CountingSum {
    type Acc = u64;
    type Out = u64;
    fn create_accumulator(&self) -> u64 {
        0
    }
    fn add_input(&self, acc: &mut u64, x: u64) {
        *acc += x;
    }
    fn merge_accumulators(&self, acc: &mut u64, other: u64) {
        *acc += other;
    }
    fn extract_output(&self, acc: u64) -> u64 {
        beam::metrics::counter("extracted").inc();
        acc
    }
}

#[test]
fn user_counters_of_concurrent_runs_stay_apart() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // Another pipeline runs again and again on the same rayon pool meanwhile.
        let other = scope.spawn(|| {
            let mut runs = 0;
            while !done.load(Ordering::Relaxed) || runs == 0 {
                let out = pipeline! {
                    xs = from_iter(0..100u64);
                    n = xs -> count() -> collect();
                }
                .run()
                .unwrap();
                assert_eq!(out.metrics.counter("extracted"), 0);
                runs += 1;
            }
        });
        for _ in 0..20 {
            let out = pipeline! {
                xs = from_iter(0..20_000u64);
                sums = xs -> map(|x: u64| (x % 5000, x)) -> combine_per_key(CountingSum) -> collect();
            }
            .run()
            .unwrap();
            assert_eq!(out.metrics.counter("extracted"), 5000);
        }
        done.store(true, Ordering::Relaxed);
        other.join().unwrap();
    });
}

#[test]
fn user_counters_of_a_pipeline_run_inside_a_stage_stay_apart() {
    use beam::metrics::counter;
    let mut rng = StdRng::seed_from_u64(31);
    let xs: Vec<u64> = (0..5_000).map(|_| rng.random_range(0..1000)).collect();
    let out = pipeline! {
        xs = from_iter(xs.iter().copied());
        sizes = xs -> map(|x: u64| {
                counter("seen").inc();
                let inner = pipeline! {
                    ys = from_iter(0..x % 3)
                        -> map(|y: u64| { counter("seen").add(10); y })
                        -> combine_globally(CountingSum)
                        -> collect();
                }
                .run()
                .unwrap();
                assert_eq!(inner.metrics.counter("seen"), 10 * (x % 3));
                assert_eq!(inner.metrics.counter("extracted"), u64::from(!x.is_multiple_of(3)));
                counter("seen").inc();
                x % 7
            })
            -> map(|k: u64| (k, k))
            -> combine_per_key(CountingSum)
            -> collect();
    }
    .threads(2)
    .run()
    .unwrap();
    assert_eq!(out.metrics.counter("seen"), 2 * xs.len() as u64);
    assert_eq!(out.metrics.counter("extracted"), out.sizes.len() as u64);
}
