//! Pipelines against the hand-written rayon code a skilled engineer would write
//! instead, in one run, on generated data. Prints a table with the ratio
//! (pipeline throughput / hand-written throughput; 1.0 means as fast).
//!
//!     cargo bench --bench throughput            # full size (~100 MB, 20M pairs)
//!     BEAM_BENCH_SCALE=0.1 cargo bench --bench throughput   # smaller, quicker
//!
//! Each case runs a warm-up and then `RUNS` timed repetitions, alternating pipeline
//! and baseline so that noise from other processes hits both alike; the median is
//! reported.

use beam::prelude::*;

mod common;
use common::compare;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

const RUNS: usize = 15;

fn main() {
    let scale: f64 = std::env::var("BEAM_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    println!("threads: {}, scale: {scale}", rayon::current_num_threads());
    let mut rows = Vec::new();

    // `BEAM_BENCH_ONLY=join` runs one case (word, sum, join).
    let only = std::env::var("BEAM_BENCH_ONLY").ok();
    let runs = |case: &str| only.as_deref().is_none_or(|o| o == case);
    if runs("word") || runs("sum") {
        let text = generate_text((100_000_000.0 * scale) as usize, 7);
        let mb = text.len() as f64 / 1e6;
        let (pipeline, baseline) = compare(RUNS, || wordcount_pipeline(&text), || wordcount_baseline(&text));
        rows.push(("word count", format!("{mb:.0} MB text"), mb, "MB/s", pipeline, baseline));
        drop(text);

        let pairs = generate_pairs((20_000_000.0 * scale) as usize, (1_000_000.0 * scale) as u64, 11);
        let millions = pairs.len() as f64 / 1e6;
        let (pipeline, baseline) = compare(RUNS, || sum_per_key_pipeline(&pairs), || sum_per_key_baseline(&pairs));
        let keys = (1_000_000.0 * scale) as u64;
        rows.push((
            "sum per key (vs rayon `fold`, weaker)",
            format!("{millions:.0}M pairs, {keys} keys"),
            millions,
            "M pairs/s",
            pipeline,
            baseline,
        ));
        let (pipeline, baseline) =
            compare(RUNS, || sum_per_key_pipeline(&pairs), || sum_per_key_one_map_per_thread(&pairs));
        rows.push((
            "sum per key (vs one map per thread)",
            format!("{millions:.0}M pairs, {keys} keys"),
            millions,
            "M pairs/s",
            pipeline,
            baseline,
        ));

        drop(pairs);
    }
    if runs("join") {
        let (orders, customers) = join::data(scale);
        let millions = orders.len() as f64 / 1e6;
        let (pipeline, baseline) =
            compare(RUNS, || join::pipeline(&orders, &customers), || join::baseline(&orders, &customers));
        rows.push((
            "join, then sum per segment",
            format!("{millions:.0}M orders, {} customers", customers.len()),
            millions,
            "M orders/s",
            pipeline,
            baseline,
        ));
    }
    println!();
    println!("| case | data | pipeline | hand-written rayon | ratio |");
    println!("|---|---|---|---|---|");
    for (case, data, amount, unit, pipeline, baseline) in rows {
        let p = amount / pipeline.as_secs_f64();
        let b = amount / baseline.as_secs_f64();
        println!("| {case} | {data} | {p:.1} {unit} | {b:.1} {unit} | {:.2}x |", p / b);
    }
}

fn wordcount_pipeline(text: &str) -> Vec<(&str, u64)> {
    let out = pipeline! {
        words = from_iter(text.lines()) -> flat_map(|line: &str| line.split_whitespace());
        counts = words -> count_per_element() -> collect();
    }
    .run()
    .expect("word count runs");
    sorted(out.counts)
}

/// What a skilled engineer writes: the text cut into pieces at line ends, one map
/// per thread with a fast hasher (words are borrowed from the text: nothing
/// allocates), pieces claimed as threads finish, the maps merged at the end.
fn wordcount_baseline(text: &str) -> Vec<(&str, u64)> {
    let pieces = line_pieces(text, rayon::current_num_threads() * 16);
    let maps = common::per_thread(&pieces, FastMap::default, |counts: &mut FastMap<&str, u64>, piece: &&str| {
        for word in piece.split_whitespace() {
            *counts.entry(word).or_insert(0) += 1;
        }
    });
    let counts = maps.into_iter().reduce(merge_maps).unwrap_or_default();
    sorted(counts.into_iter().collect())
}

/// `text` in about `n` pieces, each ending at a line end.
fn line_pieces(text: &str, n: usize) -> Vec<&str> {
    let step = text.len().div_ceil(n.max(1)).max(1);
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let cut = rest.get(step..).and_then(|after| after.find('\n')).map_or(rest.len(), |i| step + i + 1);
        let (piece, after) = rest.split_at(cut);
        pieces.push(piece);
        rest = after;
    }
    pieces
}

fn sum_per_key_pipeline(pairs: &[(u64, f64)]) -> Vec<(u64, f64)> {
    let out = pipeline! {
        pairs = from_slice(pairs);
        sums = pairs -> sum_per_key() -> collect();
    }
    .run()
    .expect("sum per key runs");
    sorted(out.sums)
}

/// Rayon's `fold` into maps merged by `reduce`: what many would write, weaker than
/// the next (`fold` may make more maps than threads).
fn sum_per_key_baseline(pairs: &[(u64, f64)]) -> Vec<(u64, f64)> {
    let sums = pairs
        .par_iter()
        .fold(FastMap::default, |mut sums, &(key, value)| {
            *sums.entry(key).or_insert(0.0) += value;
            sums
        })
        .reduce(FastMap::default, merge_maps);
    sorted(sums.into_iter().collect())
}

/// The strongest: one map per thread, the pairs in slices claimed as threads
/// finish, one merge.
fn sum_per_key_one_map_per_thread(pairs: &[(u64, f64)]) -> Vec<(u64, f64)> {
    let slices: Vec<&[(u64, f64)]> =
        pairs.chunks(pairs.len().div_ceil(rayon::current_num_threads() * 16).max(1)).collect();
    let maps = common::per_thread(&slices, FastMap::default, |sums: &mut FastMap<u64, f64>, slice| {
        for &(key, value) in *slice {
            *sums.entry(key).or_insert(0.0) += value;
        }
    });
    let sums = maps.into_iter().reduce(merge_maps).unwrap_or_default();
    sorted(sums.into_iter().collect())
}

fn merge_maps<K: std::hash::Hash + Eq, V: std::ops::AddAssign>(
    mut a: FastMap<K, V>,
    mut b: FastMap<K, V>,
) -> FastMap<K, V> {
    if a.len() < b.len() {
        std::mem::swap(&mut a, &mut b);
    }
    for (k, v) in b {
        match a.entry(k) {
            hashbrown::hash_map::Entry::Occupied(mut e) => *e.get_mut() += v,
            hashbrown::hash_map::Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }
    a
}

/// Sorting is outside what is measured for neither side; both pay it alike, and it
/// lets the results be compared. It is small next to the work (one entry per key).
fn sorted<K: Ord + Copy, V: Copy>(mut v: Vec<(K, V)>) -> Vec<(K, V)> {
    v.sort_unstable_by_key(|&(k, _)| k);
    v
}

/// Text of about `bytes` bytes: lines of 5 to 15 words drawn from a skewed
/// vocabulary of 100,000 words, so a few words are very common, as in real text.
fn generate_text(bytes: usize, seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let vocabulary: Vec<String> = (0..100_000).map(|i| format!("w{:x}", i * 2654435761u64 % 1_000_003)).collect();
    let mut text = String::with_capacity(bytes + 200);
    while text.len() < bytes {
        let words = rng.random_range(5..=15);
        for i in 0..words {
            // Squaring a uniform number skews towards small indices.
            let u: f64 = rng.random();
            let word = &vocabulary[(u * u * vocabulary.len() as f64) as usize];
            if i > 0 {
                text.push(' ');
            }
            text.push_str(word);
        }
        text.push('\n');
    }
    text
}

fn generate_pairs(n: usize, keys: u64, seed: u64) -> Vec<(u64, f64)> {
    let mut rng = StdRng::seed_from_u64(seed);
    // Integral values keep float sums exact whatever the order of addition.
    (0..n).map(|_| (rng.random_range(0..keys), rng.random_range(0..100) as f64)).collect()
}

mod join {
    use super::*;

    pub type Orders = Vec<(u32, f64)>;
    pub type Customers = Vec<(u32, u8)>;

    /// 10M orders `(customer, amount)` and 1M customers `(customer, segment)`.
    pub fn data(scale: f64) -> (Orders, Customers) {
        let mut rng = StdRng::seed_from_u64(5);
        let customers = (1_000_000.0 * scale) as u32;
        let orders = (0..(10_000_000.0 * scale) as usize)
            .map(|_| (rng.random_range(0..customers), rng.random_range(1..100) as f64))
            .collect();
        let customers = (0..customers).map(|c| (c, (c % 10) as u8)).collect();
        (orders, customers)
    }

    pub fn pipeline(orders: &[(u32, f64)], customers: &[(u32, u8)]) -> Vec<(u8, f64)> {
        let out = pipeline! {
            orders = from_slice(orders);
            customers = from_slice(customers);
            per_segment = (orders, customers)
                -> join()
                -> map(|(_, (amount, segment)): (u32, (f64, u8))| (segment, amount))
                -> sum_per_key()
                -> collect();
        }
        .run()
        .expect("join runs");
        sorted(out.per_segment)
    }

    /// A hash map of customers, probed by the orders in parallel, slices claimed as
    /// threads finish, into one map of segment totals per thread, merged at the end.
    pub fn baseline(orders: &[(u32, f64)], customers: &[(u32, u8)]) -> Vec<(u8, f64)> {
        let segments: FastMap<u32, u8> = customers.iter().copied().collect();
        let slices: Vec<&[(u32, f64)]> = orders.chunks(4096).collect();
        let maps = super::common::per_thread(&slices, FastMap::default, |totals: &mut FastMap<u8, f64>, orders| {
            for (customer, amount) in *orders {
                if let Some(&segment) = segments.get(customer) {
                    *totals.entry(segment).or_insert(0.0) += amount;
                }
            }
        });
        let totals = maps.into_iter().reduce(merge_maps).unwrap_or_default();
        sorted(totals.into_iter().collect())
    }
}
