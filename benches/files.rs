//! File pipelines against hand-written rayon programs reading the same files, in
//! one run, on generated data (kept in `target/bench-data/`, made on first run):
//!
//! - word count over a ~200 MB text file: the pipeline, the hand-written program a
//!   skilled engineer would write (byte ranges read whole and checked as UTF-8 at
//!   once, words split on ASCII whitespace and looked up borrowed in a table of
//!   inline small strings, so only a new word is copied, a table per thread), and
//!   the raw read throughput of the file (all bytes read, newlines counted). The
//!   pipeline is measured in three forms: `flat_map(|line: &str|
//!   line.split_whitespace())` (which the plan reads as blocks of lines and runs
//!   as `beam::text::words`, the same words), the same with
//!   `split_ascii_whitespace` (a closure like any other, handed each line), and
//!   `flat_map(beam::text::words)`. The `split_whitespace` form is also set
//!   against its twin: the hand-written program splitting with
//!   `split_whitespace`, which decodes every character;
//! - sum and count per key over a CSV of 20M `key,value` rows with 1M keys: the
//!   pipeline and hand-written rayon (byte ranges read whole, lines and fields
//!   split on bytes, the key parsed by hand, the value by `str::parse`). The
//!   pipeline reads a plain decimal by one exact division, which `str::parse`
//!   does after more general work, so it is also set against the hand-written
//!   program doing the same.
//!
//! Each row gives the ratio of the medians of five alternating runs and that of
//! the fastest runs, which a busy machine disturbs least.
//!
//! ```text
//! cargo bench --bench files
//! BEAM_BENCH_SCALE=0.1 cargo bench --bench files    # smaller files
//! cargo bench --bench files -- --only wordcount      # the pipeline alone; for peak RSS:
//! /usr/bin/time -v target/release/deps/files-<hash> --only wordcount
//! ```
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use beam::prelude::*;
use beam::text::Word;

mod common;
use common::compare_timings;
use rayon::prelude::*;

type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

const RUNS: usize = 5;
/// How many records the hand-written programs parse before adding them to their
/// tables (the pipeline's chunk).
const BATCH: usize = 2048;

fn main() {
    let (text, csv, scale) = common::bench_files();

    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--only") {
        let which = args.get(i + 1).map(String::as_str);
        let start = Instant::now();
        match which {
            Some("wordcount") => println!("{} distinct words", wordcount_pipeline(&text).len()),
            Some("wordcount-str") => println!("{} distinct words", wordcount_lent_pipeline(&text).len()),
            Some("wordcount-owned") => println!("{} distinct words", wordcount_owned_pipeline(&text).len()),
            Some("wordcount-ascii") => println!("{} distinct words", wordcount_lent_ascii_pipeline(&text).len()),
            Some("csv") => println!("{} keys", csv_pipeline(&csv).len()),
            Some("wordcount-baseline") => println!("{} distinct words", wordcount_baseline(&text).len()),
            Some("wordcount-unicode-baseline") => {
                println!("{} distinct words", wordcount_baseline_with(&text, Split::Unicode).len())
            }
            Some("csv-baseline") => println!("{} keys", csv_baseline(&csv).len()),
            Some("csv-decimal-baseline") => println!("{} keys", csv_baseline_with(&csv, plain_decimal).len()),
            _ => panic!(
                "--only wordcount | wordcount-str | wordcount-ascii | wordcount-owned | csv | wordcount-baseline | wordcount-unicode-baseline | csv-baseline | csv-decimal-baseline"
            ),
        }
        println!("{:.2}s", start.elapsed().as_secs_f64());
        return;
    }

    println!("threads: {}, scale: {scale}", rayon::current_num_threads());
    let mb = std::fs::metadata(&text).unwrap().len() as f64 / 1e6;
    let raw = median(|| {
        raw_read(&text);
    });
    let csv_mb = std::fs::metadata(&csv).unwrap().len() as f64 / 1e6;
    let rows = [
        (
            "word count, `&str` lines, `split_whitespace` (read as blocks)",
            compare_timings(RUNS, || wordcount_lent_pipeline(&text), || wordcount_baseline(&text)),
        ),
        (
            "the same, against the hand-written program with `split_whitespace`",
            compare_timings(RUNS, || wordcount_lent_pipeline(&text), || wordcount_baseline_with(&text, Split::Unicode)),
        ),
        (
            "word count, `&str` lines, `split_ascii_whitespace` (handed each line)",
            compare_timings(RUNS, || wordcount_lent_ascii_pipeline(&text), || wordcount_baseline(&text)),
        ),
        (
            "word count, `beam::text::words`",
            compare_timings(RUNS, || wordcount_pipeline(&text), || wordcount_baseline(&text)),
        ),
        ("CSV sum and count per key", compare_timings(RUNS, || csv_pipeline(&csv), || csv_baseline(&csv))),
        (
            "CSV, against the hand-written program reading decimals by division",
            compare_timings(RUNS, || csv_pipeline(&csv), || csv_baseline_with(&csv, plain_decimal)),
        ),
    ];

    println!();
    println!("raw read of the text: {:.0} MB/s", mb / raw.as_secs_f64());
    println!();
    println!("| case | data | pipeline | hand-written rayon | ratio | ratio of the fastest runs |");
    println!("|---|---|---|---|---|---|");
    for (case, timings) in rows {
        let (data, mb) = if case.starts_with("CSV") {
            (format!("{csv_mb:.0} MB, {}M rows", (20.0 * scale) as u64), csv_mb)
        } else {
            (format!("{mb:.0} MB text"), mb)
        };
        let rate = |t: Duration| mb / t.as_secs_f64();
        let (ratio, fastest) = timings.ratios();
        println!(
            "| {case} | {data} | {:.0} MB/s | {:.0} MB/s | {ratio:.2}x | {fastest:.2}x |",
            rate(timings.pipeline.median()),
            rate(timings.baseline.median()),
        );
    }
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

/// The word count as the README teaches it: lines lent as `&str`, words borrowed
/// from them until the table makes a new one owned.
fn wordcount_lent_pipeline(path: &Path) -> Vec<(String, u64)> {
    let out = pipeline! {
        counts = read_text(path) -> flat_map(|line: &str| line.split_whitespace()) -> count_per_element() -> collect();
    }
    .run()
    .expect("word count runs");
    sorted(out.counts.into_iter().map(|(word, n)| (word.into_string(), n)).collect())
}

/// The natural form that is a trap: a `String` per line and per word (run alone,
/// `--only wordcount-owned`, for the README's figure).
fn wordcount_owned_pipeline(path: &Path) -> Vec<(String, u64)> {
    let out = pipeline! {
        counts = read_text(path)
            -> flat_map(|l: String| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            -> count_per_element()
            -> collect();
    }
    .run()
    .expect("word count runs");
    sorted(out.counts)
}

/// The same, split on ASCII whitespace as the hand-written program splits.
fn wordcount_lent_ascii_pipeline(path: &Path) -> Vec<(String, u64)> {
    let out = pipeline! {
        counts = read_text(path) -> flat_map(|line: &str| line.split_ascii_whitespace()) -> count_per_element() -> collect();
    }
    .run()
    .expect("word count runs");
    sorted(out.counts.into_iter().map(|(word, n)| (word.into_string(), n)).collect())
}

/// `parts` equal byte ranges of the file (`common::range_lines` reads the lines
/// that start in one).
fn ranges(path: &Path, parts: usize) -> Vec<(u64, u64)> {
    let len = std::fs::metadata(path).unwrap().len();
    let step = len.div_ceil(parts as u64).max(1);
    (0..parts as u64).map(|i| (i * step, ((i + 1) * step).min(len))).filter(|(s, e)| s < e).collect()
}

/// What a skilled engineer writes for the job: byte ranges read whole and checked
/// as UTF-8 at once, words split on ASCII whitespace and looked up borrowed in a
/// table per thread whose keys are inline small strings (so that only a word not
/// seen before is copied, and a look-up rarely follows a pointer), merged at the end.
fn wordcount_baseline(path: &Path) -> Vec<(String, u64)> {
    wordcount_baseline_with(path, Split::Ascii)
}

/// How a hand-written word count splits its text.
#[derive(Clone, Copy)]
enum Split {
    /// `str::split_ascii_whitespace`.
    Ascii,
    /// `str::split_whitespace`.
    Unicode,
}

fn wordcount_baseline_with(path: &Path, split: Split) -> Vec<(String, u64)> {
    let ranges = ranges(path, rayon::current_num_threads() * 16);
    let tables = common::per_thread(&ranges, FastMap::default, |counts: &mut FastMap<Word, u64>, &(start, end)| {
        let bytes = common::range_lines(path, start, end);
        let text = std::str::from_utf8(&bytes).expect("UTF-8");
        match split {
            Split::Ascii => count_words(counts, text.split_ascii_whitespace()),
            Split::Unicode => count_words(counts, text.split_whitespace()),
        }
    });
    let counts = tables.into_iter().reduce(merge).unwrap_or_default();
    sorted(counts.into_iter().map(|(word, n)| (word.into_string(), n)).collect())
}

/// Split a batch at a time, then counted (see `csv_baseline`).
fn count_words<'t>(counts: &mut FastMap<Word, u64>, words: impl Iterator<Item = &'t str>) {
    let mut words = words.peekable();
    let mut batch: Vec<&str> = Vec::with_capacity(BATCH);
    while words.peek().is_some() {
        batch.extend(words.by_ref().take(BATCH));
        for word in batch.drain(..) {
            *counts.entry_ref(word).or_insert(0) += 1;
        }
    }
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

fn csv_pipeline(path: &Path) -> Vec<(u64, (f64, u64))> {
    let out = pipeline! {
        pairs = read_csv::<(u64, f64)>(path);
        sums = pairs -> combine_per_key(common::SumCount) -> collect();
    }
    .run()
    .expect("CSV group-by runs");
    sorted(out.sums)
}

/// What a skilled engineer writes for the job: byte ranges read whole, lines and
/// fields split on bytes, the key's digits parsed by hand and the value by the
/// standard library (checked as ASCII, not by the general UTF-8 validator), a
/// table per thread merged at the end.
fn csv_baseline(path: &Path) -> Vec<(u64, (f64, u64))> {
    csv_baseline_with(path, |value| {
        // ASCII checked inline: the general validator is a call whose result comes
        // back through memory (as the pipeline does).
        assert!(value.is_ascii());
        // SAFETY: ASCII bytes are valid UTF-8.
        unsafe { std::str::from_utf8_unchecked(value) }.parse().unwrap()
    })
}

/// The same, reading each value with `parse`.
fn csv_baseline_with(path: &Path, parse: impl Fn(&[u8]) -> f64 + Sync) -> Vec<(u64, (f64, u64))> {
    let ranges = ranges(path, rayon::current_num_threads() * 16);
    let tables = common::per_thread(&ranges, FastMap::default, |sums: &mut FastMap<u64, (f64, u64)>, &(start, end)| {
        let bytes = common::range_lines(path, start, end);
        let mut lines = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty());
        if start == 0 {
            lines.next(); // the header
        }
        // Parsed a batch at a time, then added: the table's probes miss the cache,
        // and a loop of probes alone keeps several misses in flight where one with
        // the parsing in it keeps few (3x faster than parsing and adding each line
        // in turn, measured here).
        let mut batch: Vec<(u64, f64)> = Vec::with_capacity(BATCH);
        let mut lines = lines.peekable();
        while lines.peek().is_some() {
            batch.extend(lines.by_ref().take(BATCH).map(|line| {
                let comma = line.iter().position(|&b| b == b',').expect("two fields");
                let key = line[..comma].iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
                (key, parse(&line[comma + 1..]))
            }));
            for (key, value) in batch.drain(..) {
                let entry = sums.entry(key).or_insert((0.0, 0));
                entry.0 += value;
                entry.1 += 1;
            }
        }
    });
    let sums = tables.into_iter().reduce(|a, b| {
        let (mut a, b) = if a.len() >= b.len() { (a, b) } else { (b, a) };
        for (k, (s, n)) in b {
            let e = a.entry(k).or_insert((0.0, 0));
            e.0 += s;
            e.1 += n;
        }
        a
    });
    let sums = sums.unwrap_or_default();
    sorted(sums.into_iter().collect())
}

/// A value as the pipeline reads a plain decimal (digits, perhaps a point and
/// more digits, 2^53 at most without the point): the digits as an integer over a
/// power of ten, one division that rounds as `str::parse` does; anything else by
/// `str::parse`.
fn plain_decimal(value: &[u8]) -> f64 {
    const POWERS_OF_TEN: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ];
    let mut mantissa = 0u64;
    let mut digits = |mut at: usize| {
        while let Some(digit) = value.get(at).map(|b| b.wrapping_sub(b'0')).filter(|&d| d <= 9) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
            at += 1;
        }
        at
    };
    let whole = digits(0);
    let end = if value.get(whole) == Some(&b'.') { digits(whole + 1) } else { whole };
    let decimals = end.saturating_sub(whole + 1);
    if end == value.len() && whole > 0 && whole + decimals <= 19 && mantissa <= 1 << 53 && decimals < 23 {
        return mantissa as f64 / POWERS_OF_TEN[decimals];
    }
    std::str::from_utf8(value).unwrap().parse().unwrap()
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
