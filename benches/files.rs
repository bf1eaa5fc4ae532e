//! File pipelines against hand-written rayon programs reading the same files, in
//! one run, on generated data (kept in `target/bench-data/`, made on first run):
//!
//! - word count over a ~200 MB text file: the pipeline, the hand-written program a
//!   skilled engineer would write (byte ranges per task, lines read into a reused
//!   buffer, words looked up by `&str` so only new words allocate), and the raw read
//!   throughput of the file (all bytes read, newlines counted). The pipeline splits
//!   lines with `beam::text::words`, whose words are inline small strings;
//! - sum and count per key over a CSV of 20M `key,value` rows with 1M keys: the
//!   pipeline and hand-written rayon with the `csv` crate (byte ranges, one reader
//!   per range, records deserialized into `(u64, f64)`).
//!
//! ```text
//! cargo bench --bench files
//! BEAM_BENCH_SCALE=0.1 cargo bench --bench files    # smaller files
//! cargo bench --bench files -- --only wordcount      # the pipeline alone; for peak RSS:
//! /usr/bin/time -v target/release/deps/files-<hash> --only wordcount
//! ```
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use beam::prelude::*;

mod common;
use common::compare;
use rayon::prelude::*;

type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

const RUNS: usize = 5;

fn main() {
    let scale: f64 = std::env::var("BEAM_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data directory");
    let text = dir.join(format!("words-{scale}.txt"));
    let csv = dir.join(format!("pairs-{scale}.csv"));
    if !text.exists() {
        generate_text(&text, (200_000_000.0 * scale) as u64);
    }
    if !csv.exists() {
        generate_csv(&csv, (20_000_000.0 * scale) as u64, (1_000_000.0 * scale) as u64);
    }

    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--only") {
        let which = args.get(i + 1).map(String::as_str);
        let start = Instant::now();
        match which {
            Some("wordcount") => println!("{} distinct words", wordcount_pipeline(&text).len()),
            Some("csv") => println!("{} keys", csv_pipeline(&csv).len()),
            _ => panic!("--only wordcount | csv"),
        }
        println!("{:.2}s", start.elapsed().as_secs_f64());
        return;
    }

    println!("threads: {}, scale: {scale}", rayon::current_num_threads());
    let mb = std::fs::metadata(&text).unwrap().len() as f64 / 1e6;
    let raw = median(|| {
        raw_read(&text);
    });
    let (pipeline, baseline) = compare(RUNS, || wordcount_pipeline(&text), || wordcount_baseline(&text));
    let csv_mb = std::fs::metadata(&csv).unwrap().len() as f64 / 1e6;
    let (csv_pipeline_time, csv_baseline) = compare(RUNS, || csv_pipeline(&csv), || csv_baseline(&csv));

    println!();
    println!("| case | data | pipeline | hand-written rayon | ratio | raw read |");
    println!("|---|---|---|---|---|---|");
    let rate = |mb: f64, t: Duration| mb / t.as_secs_f64();
    println!(
        "| word count | {mb:.0} MB text | {:.0} MB/s | {:.0} MB/s | {:.2}x | {:.0} MB/s |",
        rate(mb, pipeline),
        rate(mb, baseline),
        baseline.as_secs_f64() / pipeline.as_secs_f64(),
        rate(mb, raw)
    );
    println!(
        "| CSV sum and count per key | {csv_mb:.0} MB, {}M rows | {:.0} MB/s | {:.0} MB/s | {:.2}x | |",
        (20.0 * scale) as u64,
        rate(csv_mb, csv_pipeline_time),
        rate(csv_mb, csv_baseline),
        csv_baseline.as_secs_f64() / csv_pipeline_time.as_secs_f64()
    );
}

fn median(mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[RUNS / 2]
}

fn wordcount_pipeline(path: &Path) -> Vec<(String, u64)> {
    let out = pipeline! {
        lines = read_text(path);
        counts = lines -> flat_map(beam::text::words) -> count_per_element() -> collect();
    }
    .run()
    .expect("word count runs");
    sorted(out.counts.into_iter().map(|(word, n)| (word.into_string(), n)).collect())
}

/// Byte ranges cut at line starts, as a hand-written program would.
fn ranges(path: &Path, parts: usize) -> Vec<(u64, u64)> {
    let len = std::fs::metadata(path).unwrap().len();
    let step = len.div_ceil(parts as u64).max(1);
    (0..parts as u64).map(|i| (i * step, ((i + 1) * step).min(len))).filter(|(s, e)| s < e).collect()
}

/// A reader positioned at the first line starting at or after `start`; it reads
/// lines while they start before `end`.
fn open_range(path: &Path, start: u64) -> (BufReader<File>, u64) {
    let mut file = File::open(path).unwrap();
    let mut pos = start;
    if start > 0 {
        file.seek(SeekFrom::Start(start - 1)).unwrap();
    }
    let mut reader = BufReader::with_capacity(1 << 18, file);
    if start > 0 {
        let mut skip = Vec::new();
        pos = start - 1 + reader.read_until(b'\n', &mut skip).unwrap() as u64;
    }
    (reader, pos)
}

fn wordcount_baseline(path: &Path) -> Vec<(String, u64)> {
    let counts = ranges(path, rayon::current_num_threads() * 16)
        .into_par_iter()
        .fold(FastMap::default, |mut counts: FastMap<String, u64>, (start, end)| {
            let (mut reader, mut pos) = open_range(path, start);
            let mut line = String::new();
            while pos < end {
                line.clear();
                let n = reader.read_line(&mut line).unwrap();
                if n == 0 {
                    break;
                }
                pos += n as u64;
                for word in line.split_ascii_whitespace() {
                    match counts.get_mut(word) {
                        Some(n) => *n += 1,
                        None => {
                            counts.insert(word.to_owned(), 1);
                        }
                    }
                }
            }
            counts
        })
        .reduce(FastMap::default, merge);
    sorted(counts.into_iter().collect())
}

fn raw_read(path: &Path) -> u64 {
    ranges(path, rayon::current_num_threads() * 16)
        .into_par_iter()
        .map(|(start, end)| {
            let mut file = File::open(path).unwrap();
            file.seek(SeekFrom::Start(start)).unwrap();
            let mut reader = file.take(end - start);
            let mut buf = vec![0u8; 1 << 18];
            let mut newlines = 0u64;
            loop {
                let n = reader.read(&mut buf).unwrap();
                if n == 0 {
                    return newlines;
                }
                newlines += memchr_count(&buf[..n]);
            }
        })
        .sum()
}

fn memchr_count(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Sum and count per key, pre-combined like any combiner.
struct SumCount;

impl CombineFn<f64> for SumCount {
    type Acc = (f64, u64);
    type Out = (f64, u64);
    fn create_accumulator(&self) -> (f64, u64) {
        (0.0, 0)
    }
    fn add_input(&self, acc: &mut (f64, u64), value: f64) {
        acc.0 += value;
        acc.1 += 1;
    }
    fn merge_accumulators(&self, acc: &mut (f64, u64), other: (f64, u64)) {
        acc.0 += other.0;
        acc.1 += other.1;
    }
    fn extract_output(&self, acc: (f64, u64)) -> (f64, u64) {
        acc
    }
}

fn csv_pipeline(path: &Path) -> Vec<(u64, (f64, u64))> {
    let out = pipeline! {
        pairs = read_csv::<(u64, f64)>(path);
        sums = pairs -> combine_per_key(SumCount) -> collect();
    }
    .run()
    .expect("CSV group-by runs");
    sorted(out.sums)
}

/// One range, and so one map, per thread: with a million keys, merging maps costs
/// more than the balance that more ranges would buy.
fn csv_baseline(path: &Path) -> Vec<(u64, (f64, u64))> {
    let sums = ranges(path, rayon::current_num_threads())
        .into_par_iter()
        .fold(FastMap::default, |mut sums: FastMap<u64, (f64, u64)>, (start, end)| {
            let (reader, pos) = open_range(path, start);
            // Only the lines that start in this range, as CSV.
            let lines = RangeLines::new(reader, pos, end);
            let mut csv = csv::ReaderBuilder::new().has_headers(false).from_reader(lines);
            let mut record = csv::ByteRecord::new();
            let mut first = start == 0;
            while csv.read_byte_record(&mut record).unwrap() {
                if std::mem::take(&mut first) {
                    continue; // the header
                }
                let (key, value): (u64, f64) = record.deserialize(None).unwrap();
                let entry = sums.entry(key).or_insert((0.0, 0));
                entry.0 += value;
                entry.1 += 1;
            }
            sums
        })
        .reduce(FastMap::default, |a, b| {
            let (mut a, b) = if a.len() >= b.len() { (a, b) } else { (b, a) };
            for (k, (s, n)) in b {
                let e = a.entry(k).or_insert((0.0, 0));
                e.0 += s;
                e.1 += n;
            }
            a
        });
    sorted(sums.into_iter().collect())
}

/// The bytes of the lines that start before `end`.
struct RangeLines {
    reader: BufReader<File>,
    pos: u64,
    end: u64,
    at_line_start: bool,
    done: bool,
}

impl RangeLines {
    fn new(reader: BufReader<File>, pos: u64, end: u64) -> Self {
        RangeLines { reader, pos, end, at_line_start: true, done: false }
    }
}

impl Read for RangeLines {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.done || (self.pos >= self.end && self.at_line_start) {
            self.done = true;
            return Ok(0);
        }
        let buf = self.reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(0);
        }
        let limit = buf.len().min(out.len());
        let n = if self.pos < self.end {
            limit.min((self.end - self.pos) as usize)
        } else {
            // Past the end: only the rest of the line that straddles it.
            buf[..limit].iter().position(|&b| b == b'\n').map_or(limit, |i| i + 1)
        };
        out[..n].copy_from_slice(&buf[..n]);
        self.reader.consume(n);
        self.pos += n as u64;
        self.at_line_start = out[n - 1] == b'\n';
        Ok(n)
    }
}

fn merge<K: std::hash::Hash + Eq>(a: FastMap<K, u64>, b: FastMap<K, u64>) -> FastMap<K, u64> {
    let (mut a, b) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    for (k, n) in b {
        *a.entry(k).or_insert(0) += n;
    }
    a
}

fn sorted<K: Ord, V>(mut v: Vec<(K, V)>) -> Vec<(K, V)> {
    v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    v
}

fn generate_text(path: &Path, bytes: u64) {
    let mut out = BufWriter::new(File::create(path).unwrap());
    let vocabulary: Vec<String> =
        (0..200_000u64).map(|i| format!("w{:x}", i.wrapping_mul(2_654_435_761) % 10_000_019)).collect();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut written = 0u64;
    while written < bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let words = 5 + state % 11;
        let mut line = String::new();
        for i in 0..words {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            if i > 0 {
                line.push(' ');
            }
            line.push_str(&vocabulary[(u * u * vocabulary.len() as f64) as usize]);
        }
        line.push('\n');
        written += line.len() as u64;
        out.write_all(line.as_bytes()).unwrap();
    }
    out.flush().unwrap();
}

fn generate_csv(path: &Path, rows: u64, keys: u64) {
    let mut out = BufWriter::new(File::create(path).unwrap());
    writeln!(out, "key,value").unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..rows {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Integral values keep float sums exact whatever the order of addition.
        writeln!(out, "{},{}", state % keys, (state >> 32) % 1000).unwrap();
    }
    out.flush().unwrap();
}
