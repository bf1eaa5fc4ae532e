//! Batch event-time windows against hand-written rayon code, in one run, on a
//! generated CSV of bids (kept in `target/bench-data/`, made on first run):
//! `auction,bidder,price,ts` (four integers, `ts` in milliseconds over an hour,
//! slightly out of order), per 10-second tumbling window and auction the number of
//! bids and the highest price.
//!
//! - **windowed**: `read_csv -> with_timestamps -> window(FixedWindows) -> map ->
//!   combine_per_key`, results read with `reify()`;
//! - **keyed**: the same pipeline without event time, keyed by `(ts / 10_000,
//!   auction)`: what windowing costs on top of it;
//! - **hand-written**: byte ranges per task, integers parsed from the bytes, one
//!   `FxHashMap`-style table (foldhash) per task keyed by `(ts / 10_000, auction)`,
//!   merged at the end: what a skilled engineer would write for this job.
//!
//! The same three on the bids already in memory (`from_slice`, and `par_chunks`
//! for the hand-written code): what windowing costs when reading CSV does not
//! dominate.
//!
//! ```text
//! cargo bench --bench windows
//! BEAM_BENCH_SCALE=0.1 cargo bench --bench windows
//! cargo bench --bench windows -- --only windowed   # for peak RSS, under /usr/bin/time -v
//! cargo bench --bench windows -- --only keyed-in-memory 20   # 20 times, for a profiler
//! ```
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use beam::prelude::*;
use rayon::prelude::*;

mod common;
use common::compare;

type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

const RUNS: usize = 5;
const WINDOW_MS: u64 = 10_000;
const AUCTIONS: u64 = 1_000;

#[derive(serde::Deserialize, Clone)]
struct Bid {
    auction: u32,
    #[allow(dead_code)]
    bidder: u32,
    price: u64,
    ts: u64,
}

/// Per (window start, auction): how many bids, and the highest price.
type Row = (u64, u32, u64, u64);

fn main() {
    let scale: f64 = std::env::var("BEAM_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data directory");
    let rows = (10_000_000.0 * scale) as u64;
    let path = dir.join(format!("bids-{scale}.csv"));
    if !path.exists() {
        generate(&path, rows);
    }
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--only") {
        // Repeated, for a profiler to see the case rather than the set-up.
        let repeat: usize = args.get(i + 2).and_then(|n| n.parse().ok()).unwrap_or(1);
        let bids = if args[i + 1].ends_with("in-memory") { in_memory(rows) } else { Vec::new() };
        let start = Instant::now();
        for _ in 0..repeat {
            let rows = match args[i + 1].as_str() {
                "windowed" => windowed(&path),
                "keyed" => keyed(&path),
                "hand-written" => hand_written(&path),
                "windowed-in-memory" => windowed_in_memory(&bids),
                "keyed-in-memory" => keyed_in_memory(&bids),
                "hand-written-in-memory" => hand_written_in_memory(&bids),
                _ => panic!(
                    "--only windowed | keyed | hand-written | (windowed | keyed | hand-written)-in-memory [times]"
                ),
            };
            println!("{} rows", rows.len());
        }
        println!("{:.2}s", start.elapsed().as_secs_f64());
        return;
    }
    println!("threads: {}, {rows} bids, {:.0} MB", rayon::current_num_threads(), size_mb(&path));
    let (windowed_time, base_1) = compare(RUNS, || windowed(&path), || hand_written(&path));
    let (keyed_time, base_2) = compare(RUNS, || keyed(&path), || hand_written(&path));
    let bids = in_memory(rows);
    let (windowed_mem, base_3) = compare(RUNS, || windowed_in_memory(&bids), || hand_written_in_memory(&bids));
    let (keyed_mem, base_4) = compare(RUNS, || keyed_in_memory(&bids), || hand_written_in_memory(&bids));
    let rate = |t: Duration| rows as f64 / t.as_secs_f64() / 1e6;
    println!();
    println!("| case | pipeline | hand-written | ratio |");
    println!("|---|---|---|---|");
    for (name, pipeline, baseline) in [
        ("CSV, windowed", windowed_time, base_1),
        ("CSV, keyed by (ts / 10 s, auction)", keyed_time, base_2),
        ("in memory, windowed", windowed_mem, base_3),
        ("in memory, keyed by (ts / 10 s, auction)", keyed_mem, base_4),
    ] {
        println!(
            "| {name} | {:.1} M bids/s | {:.1} M bids/s | {:.2}x |",
            rate(pipeline),
            rate(baseline),
            baseline.as_secs_f64() / pipeline.as_secs_f64()
        );
    }
}

fn size_mb(path: &Path) -> f64 {
    std::fs::metadata(path).unwrap().len() as f64 / 1e6
}

/// Count and maximum, one combiner.
struct CountMax;

impl CombineFn<u64> for CountMax {
    type Acc = (u64, u64);
    type Out = (u64, u64);
    fn create_accumulator(&self) -> (u64, u64) {
        (0, 0)
    }
    fn add_input(&self, acc: &mut (u64, u64), price: u64) {
        acc.0 += 1;
        acc.1 = acc.1.max(price);
    }
    fn merge_accumulators(&self, acc: &mut (u64, u64), other: (u64, u64)) {
        acc.0 += other.0;
        acc.1 = acc.1.max(other.1);
    }
    fn extract_output(&self, acc: (u64, u64)) -> (u64, u64) {
        acc
    }
}

fn windowed(path: &Path) -> Vec<Row> {
    let out = pipeline! {
        best = read_csv::<Bid>(path)
            -> with_timestamps(|b: &Bid| b.ts)
            -> window(FixedWindows::of(Duration::from_millis(WINDOW_MS)))
            -> map(|b: Bid| (b.auction, b.price))
            -> combine_per_key(CountMax)
            -> reify()
            -> collect();
    }
    .run()
    .expect("windowed pipeline runs");
    windowed_rows(out.best)
}

fn keyed(path: &Path) -> Vec<Row> {
    let out = pipeline! {
        best = read_csv::<Bid>(path)
            -> map(|b: Bid| ((b.ts / WINDOW_MS, b.auction), b.price))
            -> combine_per_key(CountMax)
            -> collect();
    }
    .run()
    .expect("keyed pipeline runs");
    keyed_rows(out.best)
}

/// Byte ranges, four integers parsed per line, a table per task.
fn hand_written(path: &Path) -> Vec<Row> {
    let len = std::fs::metadata(path).unwrap().len();
    // As many ranges as the pipeline reads (16 per thread): with 4 per thread a
    // thread was seen alone at the end for a tenth of the run.
    let tasks = rayon::current_num_threads() as u64 * 16;
    let step = len.div_ceil(tasks).max(1);
    let tables = (0..tasks)
        .into_par_iter()
        .map(|i| {
            let (start, end) = (i * step, ((i + 1) * step).min(len));
            let mut table: FastMap<(u64, u32), (u64, u64)> = FastMap::default();
            let bytes = common::range_lines(path, start, end);
            // The header, in the first range.
            let first_line =
                if start == 0 { bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| p + 1) } else { 0 };
            for line in bytes[first_line..].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let mut fields = line.split(|&b| b == b',').map(parse);
                let (auction, _bidder, price, ts) =
                    (fields.next().unwrap(), fields.next().unwrap(), fields.next().unwrap(), fields.next().unwrap());
                let entry = table.entry((ts / WINDOW_MS, auction as u32)).or_insert((0, 0));
                entry.0 += 1;
                entry.1 = entry.1.max(price);
            }
            table
        })
        .reduce(FastMap::default, merge_tables);
    keyed_rows(tables.into_iter().collect())
}

/// The bids of the generated file, in memory.
fn in_memory(rows: u64) -> Vec<Bid> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let hour = 3_600_000u64;
    (0..rows)
        .map(|i| {
            let ts = (i * hour / rows.max(1) + next() % 5_000).saturating_sub(2_500);
            Bid { auction: (next() % AUCTIONS) as u32, bidder: (next() % 100_000) as u32, price: next() % 10_000, ts }
        })
        .collect()
}

fn windowed_in_memory(bids: &[Bid]) -> Vec<Row> {
    let out = pipeline! {
        best = from_slice(bids)
            -> with_timestamps(|b: &Bid| b.ts)
            -> window(FixedWindows::of(Duration::from_millis(WINDOW_MS)))
            -> map(|b: Bid| (b.auction, b.price))
            -> combine_per_key(CountMax)
            -> reify()
            -> collect();
    }
    .run()
    .expect("windowed pipeline runs");
    windowed_rows(out.best)
}

fn keyed_in_memory(bids: &[Bid]) -> Vec<Row> {
    let out = pipeline! {
        best = from_slice(bids)
            -> map(|b: Bid| ((b.ts / WINDOW_MS, b.auction), b.price))
            -> combine_per_key(CountMax)
            -> collect();
    }
    .run()
    .expect("keyed pipeline runs");
    keyed_rows(out.best)
}

fn hand_written_in_memory(bids: &[Bid]) -> Vec<Row> {
    let table = bids
        .par_chunks(beam::CHUNK)
        .fold(FastMap::default, |mut table: FastMap<(u64, u32), (u64, u64)>, chunk| {
            for b in chunk {
                let entry = table.entry((b.ts / WINDOW_MS, b.auction)).or_insert((0, 0));
                entry.0 += 1;
                entry.1 = entry.1.max(b.price);
            }
            table
        })
        .reduce(FastMap::default, merge_tables);
    keyed_rows(table.into_iter().collect())
}

/// Two tasks' tables as one, into the larger.
fn merge_tables(
    a: FastMap<(u64, u32), (u64, u64)>,
    b: FastMap<(u64, u32), (u64, u64)>,
) -> FastMap<(u64, u32), (u64, u64)> {
    let (mut a, b) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    for (k, (n, max)) in b {
        let e = a.entry(k).or_insert((0, 0));
        e.0 += n;
        e.1 = e.1.max(max);
    }
    a
}

/// The rows of a windowed pipeline's panes.
fn windowed_rows(panes: Vec<beam::window::Windowed<(u32, (u64, u64))>>) -> Vec<Row> {
    sorted(panes.into_iter().map(|w| (w.window.start.millis() as u64, w.value.0, w.value.1.0, w.value.1.1)).collect())
}

/// The rows of results keyed by `(ts / WINDOW_MS, auction)`.
fn keyed_rows(results: Vec<((u64, u32), (u64, u64))>) -> Vec<Row> {
    sorted(results.into_iter().map(|((w, auction), (count, max))| (w * WINDOW_MS, auction, count, max)).collect())
}

fn parse(digits: &[u8]) -> u64 {
    digits.iter().fold(0, |n, &d| n * 10 + u64::from(d - b'0'))
}

fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_unstable();
    rows
}

/// Bids over an hour, a few seconds out of order, on `AUCTIONS` auctions.
fn generate(path: &Path, rows: u64) {
    let mut out = BufWriter::new(File::create(path).unwrap());
    writeln!(out, "auction,bidder,price,ts").unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let hour = 3_600_000u64;
    for i in 0..rows {
        let ts = (i * hour / rows.max(1) + next() % 5_000).saturating_sub(2_500);
        writeln!(out, "{},{},{},{}", next() % AUCTIONS, next() % 100_000, next() % 10_000, ts).unwrap();
    }
    out.flush().unwrap();
}
