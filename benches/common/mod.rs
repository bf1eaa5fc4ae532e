//! What the benchmarks share: timing a pipeline against its hand-written baseline.

// Each bench uses some of these.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs both once to check they agree, then `runs` times each, alternating so that
/// noise from other processes hits both alike. Returns the medians.
pub fn compare<T: PartialEq + std::fmt::Debug>(
    runs: usize,
    pipeline: impl FnMut() -> T,
    baseline: impl FnMut() -> T,
) -> (Duration, Duration) {
    let timings = compare_timings(runs, pipeline, baseline);
    (timings.pipeline.median(), timings.baseline.median())
}

/// Each side's run times, sorted.
pub struct Timings {
    pub pipeline: Runs,
    pub baseline: Runs,
}

impl Timings {
    /// The pipeline's speed as a share of the baseline's: of the medians, and of
    /// the fastest runs (which a busy machine disturbs least).
    pub fn ratios(&self) -> (f64, f64) {
        let ratio = |p: Duration, b: Duration| b.as_secs_f64() / p.as_secs_f64();
        (ratio(self.pipeline.median(), self.baseline.median()), ratio(self.pipeline.0[0], self.baseline.0[0]))
    }
}

/// Run times, sorted.
pub struct Runs(Vec<Duration>);

impl Runs {
    pub fn median(&self) -> Duration {
        self.0[self.0.len() / 2]
    }
}

/// What [`compare`] measures, every run kept.
pub fn compare_timings<T: PartialEq + std::fmt::Debug>(
    runs: usize,
    mut pipeline: impl FnMut() -> T,
    mut baseline: impl FnMut() -> T,
) -> Timings {
    assert_eq!(pipeline(), baseline(), "pipeline and baseline disagree");
    let (mut p, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let start = Instant::now();
        std::hint::black_box(pipeline());
        p.push(start.elapsed());
        let start = Instant::now();
        std::hint::black_box(baseline());
        b.push(start.elapsed());
    }
    p.sort();
    b.sort();
    Timings { pipeline: Runs(p), baseline: Runs(b) }
}

/// The bytes of the lines of `path` that start in `start..end`, read whole, as a
/// hand-written program splitting a file into byte ranges reads them: from the
/// byte before `start` (a line starts at `start` if that byte ends one), through
/// the end of the last line that starts before `end`.
#[allow(dead_code)]
pub fn range_lines(path: &std::path::Path, start: u64, end: u64) -> Vec<u8> {
    use std::io::{Read, Seek, SeekFrom};
    if start >= end {
        return Vec::new();
    }
    let from = start.saturating_sub(1);
    let mut file = std::fs::File::open(path).unwrap();
    file.seek(SeekFrom::Start(from)).unwrap();
    let mut bytes = Vec::with_capacity((end - from) as usize + 256);
    Read::by_ref(&mut file).take(end - from).read_to_end(&mut bytes).unwrap();
    let mut tail = [0u8; 256];
    while bytes.last() != Some(&b'\n') {
        let n = file.read(&mut tail).unwrap();
        if n == 0 {
            break;
        }
        let cut = tail[..n].iter().position(|&b| b == b'\n').map_or(n, |p| p + 1);
        bytes.extend_from_slice(&tail[..cut]);
        if cut < n {
            break;
        }
    }
    // Past the first line break: in the first range, the byte before none; in the
    // others, the end of a line that started before the range.
    let skip = if start == 0 { 0 } else { bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |p| p + 1) };
    bytes.drain(..skip);
    bytes
}

/// Runs `each` on every range of `ranges` with one state per thread of the pool
/// (made by `init`), threads claiming ranges as they finish the last: the per-thread
/// tables of a hand-written program, however rayon would split a `fold`.
#[allow(dead_code)]
pub fn per_thread<R: Sync, S: Send>(
    ranges: &[R],
    init: impl Fn() -> S + Sync,
    each: impl Fn(&mut S, &R) + Sync,
) -> Vec<S> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    rayon::broadcast(|_| {
        let mut state = init();
        while let Some(range) = ranges.get(next.fetch_add(1, Ordering::Relaxed)) {
            each(&mut state, range);
        }
        state
    })
}

/// The text and CSV files of the file benches, at the scale `BEAM_BENCH_SCALE`
/// gives (1 unless set), in `target/bench-data/`, made on first use: ~200 MB of
/// text (`generate_text`) and 20M `key,value` rows over 1M keys (`generate_csv`).
/// Returns the text's path, the CSV's and the scale.
pub fn bench_files() -> (std::path::PathBuf, std::path::PathBuf, f64) {
    let scale: f64 = std::env::var("BEAM_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data directory");
    let text = dir.join(format!("words-{scale}.txt"));
    let csv = dir.join(format!("pairs-{scale}.csv"));
    if !text.exists() {
        generate_text(&text, (200_000_000.0 * scale) as u64);
    }
    if !csv.exists() {
        generate_csv(&csv, (20_000_000.0 * scale) as u64, (1_000_000.0 * scale) as u64);
    }
    (text, csv, scale)
}

/// `bytes` of seeded text: lines of 5 to 15 words from a vocabulary of 200,000,
/// skewed towards its start.
pub fn generate_text(path: &Path, bytes: u64) {
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

/// `rows` seeded `key,value` rows over `keys` keys.
pub fn generate_csv(path: &Path, rows: u64, keys: u64) {
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

/// Sum and count per key, pre-combined like any combiner: the CSV group-by's.
pub struct SumCount;

impl beam::CombineFn<f64> for SumCount {
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
