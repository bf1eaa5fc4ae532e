//! The same pipelines on 1, 2 and 3 processes of one thread each, through the
//! distributed runner (feature `timely`), compared exactly with the local runner.
//!
//! Each test starts its group by running this test binary again, filtered to the
//! one test, once per process, with the group in the environment (`BEAM_PROCESSES`,
//! `BEAM_PROCESS_INDEX`, `BEAM_HOSTS` on free ports of 127.0.0.1). In a child, the
//! test runs its pipeline and writes the result as JSON to the file the parent
//! named; the parent compares. Every child is killed if the group takes longer
//! than a minute.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use beam::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde::de::DeserializeOwned;

const CHILD_OUT: &str = "BEAM_TEST_CHILD_OUT";
const GROUP_TIMEOUT: Duration = Duration::from_secs(60);

/// In a child process: runs `pipeline`, writes its result (or its error's text)
/// to the file the parent named, and returns `true` (or exits with 1 after an
/// error). In the parent, `false`.
fn as_child<T: Serialize>(pipeline: impl FnOnce() -> beam::Result<T>) -> bool {
    let Ok(out) = std::env::var(CHILD_OUT) else { return false };
    // A launcher gives every process the same environment: `{index}` tells them apart.
    let out = out.replace("{index}", &std::env::var("BEAM_PROCESS_INDEX").unwrap_or_default());
    let result: Result<T, String> = pipeline().map_err(|e| e.to_string());
    fs::write(out, serde_json::to_string(&result).unwrap()).unwrap();
    if result.is_err() {
        // A failed process exits as a failed program does (a launcher acts on it).
        std::process::exit(1);
    }
    true
}

/// What each process of a group did: its result, or its error's text, or how it
/// ended without writing either.
type Outcomes<T> = Vec<Result<T, String>>;

/// Free ports on 127.0.0.1, one per process.
fn free_hosts(n: usize) -> String {
    let listeners: Vec<_> = (0..n).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let hosts: Vec<String> =
        listeners.iter().map(|l| format!("127.0.0.1:{}", l.local_addr().unwrap().port())).collect();
    hosts.join(",")
}

/// A group of `n` processes, each running test `test` of this binary (with
/// `env_of(i)` added to process `i`'s environment); `start` is how many of them
/// are started (fewer, for a process that never comes).
struct Launch<'a> {
    test: &'a str,
    n: usize,
    start: usize,
    env_of: &'a dyn Fn(usize) -> Vec<(&'static str, String)>,
    /// The folder of the input files every process reads (`shared_dir()` in the
    /// children): per launch, as tests of this binary run at once.
    data: Option<&'a Path>,
}

impl<'a> Launch<'a> {
    fn of(test: &'a str, n: usize) -> Launch<'a> {
        Launch { test, n, start: n, env_of: &|_| Vec::new(), data: None }
    }

    /// With the input files in `data`.
    fn reading(self, data: &'a Path) -> Launch<'a> {
        Launch { data: Some(data), ..self }
    }

    /// Runs the group and returns each started process's outcome, in process order.
    fn run<T: DeserializeOwned>(&self, dir: &Path) -> Outcomes<T> {
        let hosts = free_hosts(self.n);
        let outputs: Vec<PathBuf> = (0..self.start).map(|i| dir.join(format!("{}-{i}.json", self.test))).collect();
        let mut children: Vec<Child> = (0..self.start)
            .map(|i| {
                let mut command = Command::new(std::env::current_exe().unwrap());
                command
                    .args([self.test, "--exact", "--nocapture", "--test-threads=1"])
                    .env(CHILD_OUT, &outputs[i])
                    .env("BEAM_PROCESSES", self.n.to_string())
                    .env("BEAM_PROCESS_INDEX", i.to_string())
                    .env("BEAM_HOSTS", &hosts)
                    .env("BEAM_PROGRESS", "0")
                    .stdout(Stdio::null());
                // `BEAM_TEST_SHOW_CHILDREN=1` shows what the processes print.
                if std::env::var_os("BEAM_TEST_SHOW_CHILDREN").is_none() {
                    command.stderr(Stdio::null());
                }
                for (name, value) in (self.env_of)(i) {
                    command.env(name, value);
                }
                if let Some(data) = self.data {
                    command.env("BEAM_TEST_DATA", data);
                }
                command.spawn().unwrap()
            })
            .collect();
        let started = Instant::now();
        let mut ended: Vec<Option<std::process::ExitStatus>> = vec![None; self.start];
        while ended.iter().any(Option::is_none) {
            for (child, end) in children.iter_mut().zip(&mut ended) {
                if end.is_none() {
                    *end = child.try_wait().unwrap();
                }
            }
            if started.elapsed() > GROUP_TIMEOUT {
                for child in &mut children {
                    let _ = child.kill();
                }
                panic!("the group of {} processes of `{}` did not finish within {GROUP_TIMEOUT:?}", self.n, self.test);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        outputs
            .iter()
            .zip(ended)
            .map(|(out, status)| match fs::read_to_string(out) {
                Ok(json) => serde_json::from_str::<Result<T, String>>(&json).unwrap(),
                Err(_) => Err(format!("ended without a result ({})", status.unwrap())),
            })
            .collect()
    }
}

/// Runs `test` as a group of three that must fail, and returns each process's
/// outcome once all have ended, which must be within seconds, not a hang.
fn failing_group(test: &str) -> Outcomes<Vec<u64>> {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let outcomes = Launch::of(test, 3).run(dir.path());
    assert!(started.elapsed() < Duration::from_secs(20), "{test}: ended after {:?}", started.elapsed());
    outcomes
}

/// A seeded text file: skewed words over many lines, which every process reads.
fn text_file(dir: &Path) -> PathBuf {
    let mut rng = StdRng::seed_from_u64(3);
    let mut text = String::new();
    for _ in 0..20_000 {
        for _ in 0..rng.random_range(0..10) {
            let i = (rng.random_range(0.0f64..1.0).powi(3) * 3000.0) as usize;
            text.push_str(&format!("w{i} "));
        }
        text.push('\n');
    }
    let path = dir.join("words.txt");
    fs::write(&path, text).unwrap();
    path
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// A word count's counts, and its metrics: elements out of each stage, bytes
/// sent between processes, and a user counter and distribution.
#[derive(Debug, Default, PartialEq, Serialize, serde::Deserialize)]
struct Counted {
    counts: Vec<(String, u64)>,
    elements_out: Vec<u64>,
    bytes_exchanged: u64,
    user: Vec<(String, String)>,
}

fn word_count(path: &Path) -> beam::Result<Counted> {
    let out = pipeline! {
        counts = read_text(TextInput::new(path).split_bytes(16 << 10))
            -> flat_map(beam::text::words)
            -> map(|w: &str| {
                beam::metrics::counter("words").inc();
                beam::metrics::distribution("length").record(w.len() as i64);
                w
            })
            -> count_per_element()
            -> collect();
    }
    .threads(1)
    .run()?;
    Ok(Counted {
        counts: sorted(out.counts.into_iter().map(|(w, n)| (w.to_string(), n)).collect()),
        elements_out: out.metrics.stages.iter().map(|m| m.elements_out).collect(),
        bytes_exchanged: out.metrics.bytes_exchanged,
        user: out.metrics.user.iter().map(|(k, v)| (k.clone(), format!("{v:?}"))).collect(),
    })
}

/// The input lives at a path every process reads: the parent's temporary folder,
/// passed down.
fn shared_dir() -> PathBuf {
    PathBuf::from(std::env::var("BEAM_TEST_DATA").expect("the parent names the data folder"))
}

#[test]
fn word_count_on_one_two_and_three_processes() {
    if as_child(|| word_count(&shared_dir().join("words.txt"))) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let path = text_file(data.path());
    let local = word_count(&path).unwrap();
    assert!(local.counts.len() > 1000);
    assert_eq!(local.bytes_exchanged, 0);
    let text = fs::read_to_string(&path).unwrap();
    let mut reference: BTreeMap<&str, u64> = BTreeMap::new();
    for word in text.split_whitespace() {
        *reference.entry(word).or_default() += 1;
    }
    assert_eq!(local.counts, sorted(reference.iter().map(|(w, n)| (w.to_string(), *n)).collect()));
    let words: u64 = reference.values().sum();
    assert!(local.user.contains(&("words".to_owned(), format!("{:?}", beam::metrics::UserMetric::Counter(words)))));
    let dir = tempfile::tempdir().unwrap();
    for n in 1..=3 {
        let outcomes: Outcomes<Counted> =
            Launch::of("word_count_on_one_two_and_three_processes", n).reading(data.path()).run(dir.path());
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let got = outcome.unwrap_or_else(|e| panic!("process {i} of {n} failed: {e}"));
            if i == 0 {
                assert_eq!(got.counts, local.counts, "{n} processes");
                // Every process's counts, summed on process 0, user metrics too.
                assert_eq!(got.elements_out, local.elements_out, "{n} processes");
                assert_eq!(got.user, local.user, "{n} processes");
                // Pre-combined: a few bytes per distinct word, not per word read.
                assert_eq!(got.bytes_exchanged > 0, n > 1, "{n} processes: {} bytes", got.bytes_exchanged);
                let words: u64 = local.counts.iter().map(|(_, c)| c).sum();
                assert!(
                    got.bytes_exchanged < words * 4,
                    "{n} processes: {} bytes for {words} words",
                    got.bytes_exchanged
                );
            } else {
                assert!(got.counts.is_empty(), "{n} processes, process {i} returns nothing");
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct Sale {
    store: u32,
    amount: i64,
}

/// Count, sum and max per store with one `CombineFn`, and a global sum.
#[derive(Default, Clone)]
struct Stats;

impl CombineFn<i64> for Stats {
    type Acc = (u64, i64, i64);
    type Out = (u64, i64, i64);
    fn create_accumulator(&self) -> Self::Acc {
        (0, 0, i64::MIN)
    }
    fn add_input(&self, acc: &mut Self::Acc, value: i64) {
        *acc = (acc.0 + 1, acc.1 + value, acc.2.max(value));
    }
    fn merge_accumulators(&self, acc: &mut Self::Acc, other: Self::Acc) {
        *acc = (acc.0 + other.0, acc.1 + other.1, acc.2.max(other.2));
    }
    fn extract_output(&self, acc: Self::Acc) -> Self::Out {
        acc
    }
}

type CsvResult = (Vec<(u32, (u64, i64, i64))>, Vec<i64>);

fn csv_group_by(path: &Path) -> beam::Result<CsvResult> {
    let out = pipeline! {
        sales = read_csv::<Sale>(CsvInput::new(path).split_bytes(8 << 10));
        per_store = sales -> map(|s: Sale| (s.store, s.amount)) -> combine_per_key(Stats) -> collect();
        total = sales -> map(|s: Sale| s.amount) -> sum() -> collect();
    }
    .threads(1)
    .run()?;
    Ok((out.per_store, out.total))
}

fn csv_file(dir: &Path, rows: usize) -> PathBuf {
    let mut rng = StdRng::seed_from_u64(9);
    let mut text = String::from("store,amount\n");
    for _ in 0..rows {
        // Skewed: store 7 has about half the rows.
        let store = if rng.random_bool(0.5) { 7 } else { rng.random_range(0..2000) };
        text.push_str(&format!("{store},{}\n", rng.random_range(-1000..1000)));
    }
    let path = dir.join(format!("sales-{rows}.csv"));
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn csv_group_by_and_a_global_sum_on_one_two_and_three_processes() {
    let sizes = [0, 1, 30_000];
    let in_shared = |n: usize| shared_dir().join(format!("sales-{n}.csv"));
    if as_child(|| sizes.iter().map(|&n| csv_group_by(&in_shared(n))).collect::<beam::Result<Vec<_>>>()) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let local: Vec<CsvResult> = sizes
        .map(|n| csv_file(data.path(), n))
        .iter()
        .map(|p| {
            let (per_store, total) = csv_group_by(p).unwrap();
            (sorted(per_store), total)
        })
        .collect();
    // A plain sequential reference for the large file.
    let text = fs::read_to_string(data.path().join("sales-30000.csv")).unwrap();
    let mut reference: BTreeMap<u32, (u64, i64, i64)> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let (store, amount) = line.split_once(',').unwrap();
        let amount: i64 = amount.parse().unwrap();
        let e = reference.entry(store.parse().unwrap()).or_insert((0, 0, i64::MIN));
        *e = (e.0 + 1, e.1 + amount, e.2.max(amount));
    }
    assert_eq!(local[2].0, reference.clone().into_iter().collect::<Vec<_>>());
    assert_eq!(local[2].1, vec![reference.values().map(|v| v.1).sum::<i64>()]);
    assert_eq!(local[0], (vec![], vec![0]), "an empty file sums to 0");
    let dir = tempfile::tempdir().unwrap();
    let test = "csv_group_by_and_a_global_sum_on_one_two_and_three_processes";
    for n in 1..=3 {
        let outcomes: Outcomes<Vec<CsvResult>> = Launch::of(test, n).reading(data.path()).run(dir.path());
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let got: Vec<CsvResult> = outcome
                .unwrap_or_else(|e| panic!("process {i} of {n} failed: {e}"))
                .into_iter()
                .map(|(per_store, total)| (sorted(per_store), total))
                .collect();
            if i == 0 {
                assert_eq!(got, local, "{n} processes, process 0");
            } else {
                assert!(got.iter().all(|(p, t)| p.is_empty() && t.is_empty()), "{n} processes, process {i}");
            }
        }
    }
}

/// Groups, a distinct count and kept elements of one in-memory run.
type InMemory = (Vec<(u64, Vec<u64>)>, Vec<u64>, Vec<u64>);

fn in_memory(n: u64) -> beam::Result<InMemory> {
    let out = pipeline! {
        xs = from_iter((0..n).map(|i| i.wrapping_mul(2_654_435_761) % 10_007));
        groups = xs -> map(|x: u64| (x % 97, x)) -> group_by_key() -> collect();
        distinct = xs -> distinct() -> count() -> collect();
        kept = xs -> filter(|x: &u64| x.is_multiple_of(1000)) -> collect();
    }
    .threads(1)
    .run()?;
    let groups = out.groups.into_iter().map(|(k, vs)| (k, sorted(vs))).collect();
    Ok((groups, out.distinct, out.kept))
}

#[test]
fn in_memory_input_is_split_by_index_and_groups_are_exact() {
    let sizes = [0u64, 1, 50_000];
    let normalize =
        |runs: Vec<InMemory>| runs.into_iter().map(|(g, d, k)| (sorted(g), d, sorted(k))).collect::<Vec<_>>();
    if as_child(|| sizes.iter().map(|&n| in_memory(n)).collect::<beam::Result<Vec<_>>>()) {
        return;
    }
    let local = normalize(sizes.iter().map(|&n| in_memory(n).unwrap()).collect());
    let xs: Vec<u64> = (0..50_000u64).map(|i| i.wrapping_mul(2_654_435_761) % 10_007).collect();
    let distinct: std::collections::BTreeSet<u64> = xs.iter().copied().collect();
    assert_eq!(local[2].1, vec![distinct.len() as u64]);
    assert_eq!(local[2].2, sorted(xs.iter().copied().filter(|x| x.is_multiple_of(1000)).collect()));
    let dir = tempfile::tempdir().unwrap();
    let test = "in_memory_input_is_split_by_index_and_groups_are_exact";
    for n in 1..=3 {
        let outcomes = Launch::of(test, n).run(dir.path());
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let got = normalize(outcome.unwrap_or_else(|e| panic!("process {i} of {n} failed: {e}")));
            if i == 0 {
                assert_eq!(got, local, "{n} processes, process 0");
            } else {
                // `count()` is a global combine: its one result is on process 0.
                assert!(got.iter().all(|(g, d, k)| g.is_empty() && d.is_empty() && k.is_empty()), "process {i}");
            }
        }
    }
}

#[test]
fn an_error_in_one_process_fails_every_process_naming_it() {
    let fails_here = std::env::var("BEAM_PROCESS_INDEX").as_deref() == Ok("1");
    let run = || -> beam::Result<Vec<u64>> {
        let out = pipeline! {
            xs = from_iter(0..10_000u64)
                -> check: map(|x: u64| if fails_here && x % 2048 == 100 { panic!("bad element {x}") } else { x })
                -> map(|x: u64| (x % 10, x))
                -> sum_per_key()
                -> map(|(_, s): (u64, u64)| s)
                -> collect();
        }
        .threads(1)
        .run()?;
        Ok(out.xs)
    };
    if as_child(run) {
        return;
    }
    let outcomes = failing_group("an_error_in_one_process_fails_every_process_naming_it");
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let e = outcome.expect_err("every process fails");
        assert!(e.contains("check") && e.contains("bad element"), "process {i}: {e}");
        if i != 1 {
            assert!(e.contains("process 1"), "process {i} names the process that failed: {e}");
        }
    }
}

#[test]
fn a_killed_process_fails_the_others_within_seconds() {
    let dies = std::env::var("BEAM_PROCESS_INDEX").as_deref() == Ok("2");
    let run = || -> beam::Result<Vec<u64>> {
        let out = pipeline! {
            // Three chunks: one for each process.
            xs = from_iter(0..3 * beam::CHUNK as u64)
                -> map(|x: u64| {
                    if dies {
                        // Killed in the middle of its loop, with no chance to say so.
                        std::process::abort();
                    }
                    (x % 3, x)
                })
                -> sum_per_key()
                -> map(|(_, s): (u64, u64)| s)
                -> collect();
        }
        .threads(1)
        .run()?;
        Ok(out.xs)
    };
    if as_child(run) {
        return;
    }
    let outcomes = failing_group("a_killed_process_fails_the_others_within_seconds");

    for (i, outcome) in outcomes.into_iter().enumerate() {
        let e = outcome.expect_err("no process succeeds");
        if i == 2 {
            assert!(e.contains("without a result"), "{e}");
        } else {
            assert!(e.contains("lost its connection"), "process {i}: {e}");
        }
    }
}

#[test]
fn a_process_that_never_starts_is_a_timeout_not_a_hang() {
    let run =
        || -> beam::Result<Vec<u64>> { Ok(pipeline! { xs = from_iter(0..10u64) -> collect(); }.threads(1).run()?.xs) };
    if as_child(run) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let group = Launch {
        test: "a_process_that_never_starts_is_a_timeout_not_a_hang",
        n: 3,
        start: 2,
        env_of: &|_| vec![("BEAM_CONNECT_TIMEOUT", "1".to_owned())],
        data: None,
    };
    let started = Instant::now();
    let outcomes: Outcomes<Vec<u64>> = group.run(dir.path());
    assert!(started.elapsed() < Duration::from_secs(15));
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let e = outcome.expect_err("no process runs without the third");
        assert!(
            e.contains("process 2") && (e.contains("did not connect") || e.contains("could not reach")),
            "process {i}: {e}"
        );
    }
}

/// Joins, a co-group, an outer join and side inputs over seeded data with skewed
/// keys, some on one side only; the join's pairs are made twice, by `join()` and
/// by `partitioned_join()`, which must agree.
type Relational = (
    Vec<(u32, (u64, u64))>,
    Vec<(u32, (u64, Option<u64>))>,
    Vec<(u32, (Vec<u64>, Vec<u64>))>,
    Vec<(u32, (Option<u64>, Option<u64>))>,
    Vec<(u64, u64)>,
);

fn relational(n: u64) -> beam::Result<Relational> {
    let mut rng = StdRng::seed_from_u64(n);
    let orders: Vec<(u32, u64)> =
        (0..n).map(|i| (if rng.random_bool(0.3) { 7 } else { rng.random_range(0..400) }, i)).collect();
    let customers: Vec<(u32, u64)> = (0..300u32).map(|c| (c, u64::from(c) * 10)).collect();
    let out = pipeline! {
        orders = from_iter(orders);
        customers = from_iter(customers);
        joined = (orders, customers) -> join() -> collect();
        partitioned = (orders, customers) -> partitioned_join() -> collect();
        left = (orders, customers) -> left_join() -> collect();
        grouped = (orders, customers) -> co_group_by_key() -> collect();
        outer = (orders, customers) -> outer_join() -> collect();
        total = orders -> map(|(_, v): (u32, u64)| v) -> sum();
        rates = customers -> map(|(c, r): (u32, u64)| (c, r));
        shifted = orders
            -> filter_with(as_map(rates), |(c, _): &(u32, u64), rates: &SideMap<u32, u64>| rates.contains_key(c))
            -> map_with(as_singleton(total), |(_, v): (u32, u64), total: &u64| (v, *total))
            -> collect();
    }
    .threads(1)
    .run()?;
    let grouped = out.grouped.into_iter().map(|(k, (a, b))| (k, (sorted(a), sorted(b)))).collect();
    let joined = sorted(out.joined);
    assert_eq!(sorted(out.partitioned), joined, "partitioned_join() gives join()'s pairs");
    Ok((joined, sorted(out.left), sorted(grouped), sorted(out.outer), sorted(out.shifted)))
}

#[test]
fn joins_co_groups_and_side_inputs_on_one_two_and_three_processes() {
    let sizes = [0u64, 1, 20_000];
    if as_child(|| sizes.iter().map(|&n| relational(n)).collect::<beam::Result<Vec<_>>>()) {
        return;
    }
    let local: Vec<Relational> = sizes.iter().map(|&n| relational(n).unwrap()).collect();
    // A plain sequential reference for the join of the large input.
    let mut rng = StdRng::seed_from_u64(20_000);
    let orders: Vec<(u32, u64)> =
        (0..20_000).map(|i| (if rng.random_bool(0.3) { 7 } else { rng.random_range(0..400) }, i)).collect();
    let joined: Vec<(u32, (u64, u64))> =
        orders.iter().filter(|(c, _)| *c < 300).map(|&(c, v)| (c, (v, u64::from(c) * 10))).collect();
    assert_eq!(local[2].0, sorted(joined));
    assert_eq!(local[2].1.len(), orders.len());
    let dir = tempfile::tempdir().unwrap();
    let test = "joins_co_groups_and_side_inputs_on_one_two_and_three_processes";
    for n in 1..=3 {
        let outcomes: Outcomes<Vec<Relational>> = Launch::of(test, n).run(dir.path());
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let got = outcome.unwrap_or_else(|e| panic!("process {i} of {n} failed: {e}"));
            if i == 0 {
                assert_eq!(got, local, "{n} processes, process 0");
            } else {
                assert!(got.iter().all(|r| *r == Relational::default()), "{n} processes, process {i}");
            }
        }
    }
}

#[test]
fn outputs_that_do_not_run_on_several_processes_yet_are_refused() {
    let run = || -> beam::Result<()> {
        let out = PathBuf::from(std::env::var("BEAM_TEST_OUT").unwrap());
        pipeline! {
            xs = from_iter(0..10u64);
            xs -> write_text(FileOutput::new(out.join("one")).single_file(), |x: &u64| x.to_string());
        }
        .threads(1)
        .run()?;
        Ok(())
    };
    if as_child(run) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let out_path = out.path().to_owned();
    let launch = Launch {
        test: "outputs_that_do_not_run_on_several_processes_yet_are_refused",
        n: 2,
        start: 2,
        env_of: &|_| vec![("BEAM_TEST_OUT", out_path.display().to_string())],
        data: None,
    };
    let outcomes: Outcomes<()> = launch.run(dir.path());
    for outcome in outcomes {
        let e = outcome.expect_err("refused");
        assert!(e.contains("single_file()") && e.contains("several processes"), "{e}");
    }
    assert_eq!(fs::read_dir(out.path()).unwrap().count(), 0);
}

/// Every line of every part file under `dir`, sorted.
fn lines_under(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        lines.extend(fs::read_to_string(&path).unwrap().lines().map(String::from));
    }
    sorted(lines)
}

fn two_sinks(out: &Path) -> beam::Result<Vec<u64>> {
    let out = pipeline! {
        xs = from_iter(0..20_000u64);
        sums = xs -> map(|x: u64| (x % 101, x)) -> sum_per_key();
        sums -> write_text(out.join("sums"), |(k, s): &(u64, u64)| format!("{k} {s}"));
        xs -> filter(|x: &u64| x.is_multiple_of(7)) -> write_text(out.join("sevens"), |x: &u64| x.to_string());
        n = sums -> count() -> collect();
    }
    .threads(1)
    .run()?;
    Ok(out.n)
}

#[test]
fn two_sinks_publish_every_process_parts_once_all_succeeded() {
    if as_child(|| two_sinks(&PathBuf::from(std::env::var("BEAM_TEST_OUT").unwrap()))) {
        return;
    }
    let local_dir = tempfile::tempdir().unwrap();
    assert_eq!(two_sinks(local_dir.path()).unwrap(), vec![101]);
    let want_sums = lines_under(&local_dir.path().join("sums"));
    let want_sevens = lines_under(&local_dir.path().join("sevens"));
    let mut reference: BTreeMap<u64, u64> = BTreeMap::new();
    for x in 0..20_000u64 {
        *reference.entry(x % 101).or_default() += x;
    }
    assert_eq!(want_sums, sorted(reference.iter().map(|(k, s)| format!("{k} {s}")).collect()));
    assert_eq!(want_sevens.len(), 20_000usize.div_ceil(7));
    let dir = tempfile::tempdir().unwrap();
    for n in 1..=3 {
        let out = tempfile::tempdir().unwrap();
        let out_path = out.path().to_owned();
        let launch = Launch {
            test: "two_sinks_publish_every_process_parts_once_all_succeeded",
            n,
            start: n,
            env_of: &|_| vec![("BEAM_TEST_OUT", out_path.display().to_string())],
            data: None,
        };
        let outcomes: Outcomes<Vec<u64>> = launch.run(dir.path());
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let counted = outcome.unwrap_or_else(|e| panic!("process {i} of {n} failed: {e}"));
            assert_eq!(counted, if i == 0 { vec![101] } else { vec![] }, "{n} processes, process {i}");
        }
        assert_eq!(lines_under(&out.path().join("sums")), want_sums, "{n} processes");
        assert_eq!(lines_under(&out.path().join("sevens")), want_sevens, "{n} processes");
        let parts = fs::read_dir(out.path().join("sevens")).unwrap().count();
        assert_eq!(parts, n, "one part per process of one thread");
        // Nothing but the two outputs is left beside them.
        let mut names: Vec<String> =
            fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, ["sevens", "sums"], "{n} processes");
    }
}

#[test]
fn a_failed_process_publishes_nothing() {
    let fails_here = std::env::var("BEAM_PROCESS_INDEX").as_deref() == Ok("1");
    let run = |out: &Path| -> beam::Result<Vec<u64>> {
        let out = pipeline! {
            xs = from_iter(0..3 * beam::CHUNK as u64);
            xs -> write_text(out.join("all"), |x: &u64| x.to_string());
            sums = xs
                -> check: map(|x: u64| if fails_here { panic!("bad element {x}") } else { (x % 5, x) })
                -> sum_per_key()
                -> map(|(_, s): (u64, u64)| s)
                -> collect();
        }
        .threads(1)
        .run()?;
        Ok(out.sums)
    };
    if as_child(|| run(&PathBuf::from(std::env::var("BEAM_TEST_OUT").unwrap()))) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let out_path = out.path().to_owned();
    let launch = Launch {
        test: "a_failed_process_publishes_nothing",
        n: 3,
        start: 3,
        env_of: &|_| vec![("BEAM_TEST_OUT", out_path.display().to_string())],
        data: None,
    };
    let outcomes: Outcomes<Vec<u64>> = launch.run(dir.path());
    assert!(outcomes.iter().all(Result::is_err), "{outcomes:?}");
    let left: Vec<_> = fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "nothing published and nothing left behind: {left:?}");
}

#[test]
fn the_launcher_starts_a_group_and_retries_the_whole_job() {
    let run = || -> beam::Result<Vec<u64>> {
        // Process 1 fails its first attempt (it leaves a mark), then succeeds.
        let mark = PathBuf::from(std::env::var("BEAM_TEST_MARK").unwrap());
        let fail = std::env::var("BEAM_PROCESS_INDEX").as_deref() == Ok("1") && !mark.exists();
        if fail {
            fs::write(&mark, "failed once").unwrap();
        }
        let out = pipeline! {
            xs = from_iter(0..10_000u64)
                -> check: map(|x: u64| if fail { panic!("first attempt") } else { (x % 10, x) })
                -> sum_per_key()
                -> collect();
        }
        .threads(1)
        .run()?;
        Ok(sorted(out.xs).into_iter().map(|(_, s)| s).collect())
    };
    if as_child(run) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let launch = |retries: usize, mark: &Path| {
        let status = Command::new(env!("CARGO_BIN_EXE_beam-launch"))
            .args(["-n", "2", "--retries", &retries.to_string(), "--"])
            .arg(std::env::current_exe().unwrap())
            .args(["the_launcher_starts_a_group_and_retries_the_whole_job", "--exact", "--test-threads=1"])
            .env(CHILD_OUT, dir.path().join("launched-{index}.json"))
            .env("BEAM_TEST_MARK", mark)
            .env("BEAM_PROGRESS", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        let results: Vec<Option<Result<Vec<u64>, String>>> = (0..2)
            .map(|i| {
                let json = fs::read_to_string(dir.path().join(format!("launched-{i}.json"))).ok()?;
                Some(serde_json::from_str(&json).unwrap())
            })
            .collect();
        (status, results)
    };
    let want: Vec<u64> = (0..10u64).map(|k| (0..10_000u64).filter(|x| x % 10 == k).sum()).collect();

    // No retries: the job fails, as process 1 did.
    let (status, _) = launch(0, &dir.path().join("mark-a"));
    assert!(!status.success());

    // One retry: the second attempt of the whole group succeeds.
    let (status, results) = launch(1, &dir.path().join("mark-b"));
    assert!(status.success(), "{status}");
    assert_eq!(results[0], Some(Ok(want)));
    assert_eq!(results[1], Some(Ok(vec![])));
}

#[test]
fn processes_with_different_thread_counts_read_every_range_once() {
    // Default ranges: every process must cut the input alike, whatever its threads.
    let run = |path: &Path, threads: usize| -> beam::Result<Vec<(String, u64)>> {
        let out = pipeline! {
            counts = read_text(path) -> flat_map(beam::text::words) -> count_per_element() -> collect();
        }
        .threads(threads)
        .run()?;
        Ok(sorted(out.counts.into_iter().map(|(w, n)| (w.to_string(), n)).collect()))
    };
    let big = |dir: &Path| dir.join("big.txt");
    if as_child(|| {
        let index: usize = std::env::var("BEAM_PROCESS_INDEX").unwrap().parse().unwrap();
        run(&big(&shared_dir()), index + 1)
    }) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    // About 40 MB: large enough that one, two and three threads would cut it into
    // ranges of different sizes (above the 1 MiB minimum).
    let mut text = String::new();
    let mut rng = StdRng::seed_from_u64(5);
    while text.len() < 40 << 20 {
        text.push_str(&format!("w{} w{}\n", rng.random_range(0..50_000), rng.random_range(0..100)));
    }
    fs::write(big(data.path()), &text).unwrap();
    let local = run(&big(data.path()), 2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for n in [2, 3] {
        let outcomes: Outcomes<Vec<(String, u64)>> =
            Launch::of("processes_with_different_thread_counts_read_every_range_once", n)
                .reading(data.path())
                .run(dir.path());
        let got = outcomes.into_iter().next().unwrap().unwrap();
        assert_eq!(got, local, "{n} processes of 1, 2 and 3 threads");
    }
}

/// Per window and key: the maximum bid; per window: the number of bids; per
/// session of an auction: the sum of its bids; per sliding window, accumulating
/// with early firings: the sum per auction. All on bounded input, where every
/// window fires once with all its data.
type Windowed = (Vec<(i64, u32, u64)>, Vec<(i64, u64)>, Vec<(i64, i64, u32, u64)>, Vec<(i64, u32, u64)>);

fn windowed_bids(n: u64) -> beam::Result<Windowed> {
    let mut rng = StdRng::seed_from_u64(n + 1);
    let bids: Vec<(u32, u64, u64)> =
        (0..n).map(|_| (rng.random_range(0..50), rng.random_range(1..1000), rng.random_range(0..600_000))).collect();
    let (bids2, bids3) = (bids.clone(), bids.clone());
    let out = pipeline! {
        bids = from_iter(bids)
            -> with_timestamps(|b: &(u32, u64, u64)| b.2)
            -> window(FixedWindows::of(Duration::from_secs(60)));
        best = bids -> map(|(a, p, _): (u32, u64, u64)| (a, p)) -> max_per_key() -> reify() -> collect();
        counted = bids -> count() -> reify() -> collect();
        sessions = from_iter(bids2)
            -> with_timestamps(|b: &(u32, u64, u64)| b.2)
            -> window(Sessions::with_gap(Duration::from_secs(20)))
            -> map(|(a, p, _): (u32, u64, u64)| (a, p))
            -> sum_per_key()
            -> reify()
            -> collect();
        sliding = from_iter(bids3)
            -> with_timestamps(|b: &(u32, u64, u64)| b.2)
            -> window(SlidingWindows::of(Duration::from_secs(120)).every(Duration::from_secs(60))
                          .triggering(AfterWatermark::past_end_of_window().with_early_firings(AfterCount::new(5)))
                          .accumulating_fired_panes())
            -> map(|(a, p, _): (u32, u64, u64)| (a, p))
            -> sum_per_key()
            -> reify()
            -> collect();
    }
    .threads(1)
    .run()?;
    let best = out.best.iter().map(|w| (w.window.start.millis(), w.value.0, w.value.1)).collect();
    let counted = out.counted.iter().map(|w| (w.window.start.millis(), w.value)).collect();
    let sessions =
        out.sessions.iter().map(|w| (w.window.start.millis(), w.window.end.millis(), w.value.0, w.value.1)).collect();
    let sliding = out.sliding.iter().map(|w| (w.window.start.millis(), w.value.0, w.value.1)).collect();
    Ok((sorted(best), sorted(counted), sorted(sessions), sorted(sliding)))
}

/// The sum of every bid's price in `windowed_bids(n)`.
fn windowed_bids_total(n: u64) -> u64 {
    let mut rng = StdRng::seed_from_u64(n + 1);
    (0..n)
        .map(|_| {
            let _auction: u32 = rng.random_range(0..50);
            let price: u64 = rng.random_range(1..1000);
            let _time: u64 = rng.random_range(0..600_000);
            price
        })
        .sum()
}

#[test]
fn bounded_windows_on_one_two_and_three_processes() {
    let sizes = [0u64, 1, 20_000];
    if as_child(|| sizes.iter().map(|&n| windowed_bids(n)).collect::<beam::Result<Vec<_>>>()) {
        return;
    }
    let local: Vec<Windowed> = sizes.iter().map(|&n| windowed_bids(n).unwrap()).collect();
    assert_eq!(local[2].1.len(), 10, "ten windows of a minute");
    assert_eq!(local[2].1.iter().map(|(_, c)| c).sum::<u64>(), 20_000);
    let session_sum: u64 = local[2].2.iter().map(|s| s.3).sum();
    assert_eq!(session_sum, windowed_bids_total(20_000), "every bid in one session");
    assert!(!local[2].3.is_empty());
    let dir = tempfile::tempdir().unwrap();
    for n in 1..=3 {
        let outcomes: Outcomes<Vec<Windowed>> =
            Launch::of("bounded_windows_on_one_two_and_three_processes", n).run(dir.path());
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let got = outcome.unwrap_or_else(|e| panic!("process {i} of {n} failed: {e}"));
            if i == 0 {
                assert_eq!(got, local, "{n} processes, process 0");
            } else {
                assert!(got.iter().all(|w| *w == Windowed::default()), "{n} processes, process {i}");
            }
        }
    }
}

/// A stage's function, which cannot be made where `fail` is set.
fn doubling(fail: bool) -> impl Fn(u64) -> u64 + Sync {
    assert!(!fail, "cannot make the stage here");
    |x| x * 2
}

#[test]
fn a_process_that_fails_before_its_loops_fails_the_others() {
    let fails_here = std::env::var("BEAM_PROCESS_INDEX").as_deref() == Ok("1");
    let run = || -> beam::Result<Vec<u64>> {
        let out = pipeline! {
            xs = from_iter(0..10_000u64) -> double: map(doubling(fails_here)) -> sum() -> collect();
        }
        .threads(1)
        .run()?;
        Ok(out.xs)
    };
    if as_child(run) {
        return;
    }
    let outcomes = failing_group("a_process_that_fails_before_its_loops_fails_the_others");
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let e = outcome.expect_err("every process fails");
        if i == 1 {
            assert!(e.contains("double") && e.contains("cannot make the stage"), "{e}");
        } else {
            assert!(e.contains("process 1"), "process {i}: {e}");
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
struct Note {
    id: u32,
    text: String,
}

fn notes(path: &Path) -> beam::Result<Vec<Note>> {
    let out = pipeline! {
        notes = read_csv::<Note>(CsvInput::new(path).split_bytes(4 << 10)) -> collect();
    }
    .threads(1)
    .run()?;
    Ok(sorted(out.notes))
}

#[test]
fn quoted_csv_fields_across_ranges_are_read_once() {
    // Files whose ranges each process must judge alike: quotes only far into the
    // file, and a line break inside quotes in a later range.
    let files = |dir: &Path| (0..4).map(|i| dir.join(format!("notes-{i}.csv"))).collect::<Vec<_>>();
    if as_child(|| files(&shared_dir()).iter().map(|p| notes(p)).collect::<beam::Result<Vec<_>>>()) {
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(17);
    let mut expected = Vec::new();
    for (i, path) in files(data.path()).iter().enumerate() {
        let mut text = String::from("id,text\n");
        let mut want = Vec::new();
        for id in 0..3000u32 {
            let note = match (i, id) {
                (1, 2000) => "a \"quoted\" note".to_owned(),
                (2, 2500) | (2, 2900) => "two\nlines".to_owned(),
                _ => format!("note {}", rng.random_range(0..1000)),
            };
            if note.contains(['"', '\n']) {
                text.push_str(&format!("{id},\"{}\"\n", note.replace('"', "\"\"")));
            } else {
                text.push_str(&format!("{id},{note}\n"));
            }
            want.push(Note { id, text: note });
        }
        if i == 3 {
            // Rows of 8 bytes after an 8-byte header, so that row 1023 starts
            // exactly where the third range of 4 KiB does, and it holds a line
            // break inside quotes: the range before it ends with a line break and
            // no quote, which every process must see alike.
            text = String::from("id,text\n");
            want.clear();
            for id in 0..3000u32 {
                let note = if id == 1023 { "a\nb" } else { "ab" };
                if id == 1023 {
                    assert_eq!(text.len(), 8192);
                    text.push_str(&format!("{id:04},\"{note}\"\n"));
                } else {
                    text.push_str(&format!("{id:04},{note}\n"));
                }
                want.push(Note { id, text: note.to_owned() });
            }
        }
        fs::write(path, text).unwrap();
        expected.push(want);
    }
    let local: Vec<Vec<Note>> = files(data.path()).iter().map(|p| notes(p).unwrap()).collect();
    assert_eq!(local, expected);
    let dir = tempfile::tempdir().unwrap();
    for n in 2..=3 {
        let outcomes: Outcomes<Vec<Vec<Note>>> =
            Launch::of("quoted_csv_fields_across_ranges_are_read_once", n).reading(data.path()).run(dir.path());
        let got = outcomes.into_iter().next().unwrap().unwrap_or_else(|e| panic!("{n} processes: {e}"));
        for (file, (got, want)) in got.iter().zip(&expected).enumerate() {
            // Compared by the rows' ids first, so that a failure says what is missing.
            let ids = |notes: &[Note]| notes.iter().map(|n| n.id).collect::<Vec<_>>();
            assert_eq!(ids(got).len(), want.len(), "{n} processes, file {file}: rows read");
            assert!(got == want, "{n} processes, file {file}: rows differ");
        }
    }
}

/// Panes of an unbounded input: (window start, key, sum, timing, pane index), and
/// what came too late.
type Streamed = (Vec<(i64, u32, u64, String, u32)>, Vec<(u32, u64)>);

fn streamed() -> beam::Result<Streamed> {
    // Bundles of seeded bids over many keys, the watermark advancing between them,
    // some elements late; windows of 10 s with early panes every 50 elements,
    // accumulating, late panes for 5 s, and later elements dropped as too late.
    let mut rng = StdRng::seed_from_u64(23);
    let mut script = TestStream::new();
    for tick in 0..8u64 {
        let bundle: Vec<_> = (0..5_000)
            .map(|_| {
                let at = (tick * 10_000).saturating_sub(rng.random_range(0..25_000));
                timestamped((rng.random_range(0..300u32), rng.random_range(1..100u64)), at)
            })
            .collect();
        script = script.add_elements(bundle).advance_watermark_to(tick * 10_000);
    }
    let script = script.advance_watermark_to_infinity();
    let out = pipeline! {
        (sums, late) = test_stream(script)
            -> window(FixedWindows::of(Duration::from_secs(10))
                          .triggering(AfterWatermark::past_end_of_window()
                                          .with_early_firings(AfterCount::new(50))
                                          .with_late_firings(AfterCount::new(1)))
                          .with_allowed_lateness(Duration::from_secs(5))
                          .accumulating_fired_panes())
            -> sum_per_key();
        panes = sums -> reify() -> collect();
        too_late = late -> collect();
    }
    .threads(1)
    .run()?;
    let panes = out
        .panes
        .iter()
        .map(|w| (w.window.start.millis(), w.value.0, w.value.1, format!("{:?}", w.pane.timing), w.pane.index))
        .collect();
    let late = out.too_late.iter().map(|l| l.value).collect();
    Ok((sorted(panes), sorted(late)))
}

#[test]
fn an_unbounded_input_with_triggers_on_one_two_and_three_processes() {
    if as_child(streamed) {
        return;
    }
    let local = streamed().unwrap();
    assert!(local.0.len() > 1000 && !local.1.is_empty(), "early, on-time and late panes, and late data");
    let dir = tempfile::tempdir().unwrap();
    for n in 1..=3 {
        let outcomes: Outcomes<Streamed> =
            Launch::of("an_unbounded_input_with_triggers_on_one_two_and_three_processes", n).run(dir.path());
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let got = outcome.unwrap_or_else(|e| panic!("process {i} of {n} failed: {e}"));
            if i == 0 {
                assert!(got.0 == local.0, "{n} processes: panes differ ({} against {})", got.0.len(), local.0.len());
                assert!(got.1 == local.1, "{n} processes: late data differs");
            } else {
                assert!(got.0.is_empty() && got.1.is_empty(), "{n} processes, process {i}");
            }
        }
    }
}
