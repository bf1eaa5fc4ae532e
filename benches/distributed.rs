//! The distributed runner against the local one, on this machine: the word count
//! of the ~200 MB text and the CSV group-by of `benches/files.rs` (same generated
//! files, in `target/bench-data/`), each on 2 processes of 1 thread (Timely, over
//! 127.0.0.1) against 1 process of 2 threads (the local runner). Every run is a
//! fresh process (or group) of this binary, timed from its start to the exit of
//! its last process, so connecting is included. Reports the medians of five
//! alternating runs, the throughput ratio (local time / group time), the set-up
//! time alone (a group running an empty pipeline) and the bytes sent between
//! processes per input record.
//!
//! ```text
//! cargo bench --features timely --bench distributed
//! BEAM_BENCH_SCALE=0.1 cargo bench --features timely --bench distributed
//! ```

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use beam::prelude::*;

mod common;

const RUNS: usize = 5;

/// Set in a child: which pipeline to run (`wordcount`, `csv` or `empty`) and on
/// how many threads; process 0 prints its figures on stdout.
const CHILD: &str = "BEAM_BENCH_CHILD";

/// What process 0 reports: distinct keys, input records, bytes exchanged.
fn child(which: &str, path: &Path, threads: usize) -> (usize, u64, u64) {
    match which {
        "wordcount" => {
            let out = pipeline! {
                counts = read_text(path) -> flat_map(beam::text::words) -> count_per_element() -> collect();
            }
            .threads(threads)
            .run()
            .expect("word count runs");
            (out.counts.len(), out.metrics.stages[0].elements_out, out.metrics.bytes_exchanged)
        }
        "csv" => {
            let out = pipeline! {
                pairs = read_csv::<(u64, f64)>(path);
                sums = pairs -> combine_per_key(common::SumCount) -> collect();
            }
            .threads(threads)
            .run()
            .expect("CSV group-by runs");
            (out.sums.len(), out.metrics.stages[0].elements_out, out.metrics.bytes_exchanged)
        }
        _ => {
            let out = pipeline! { n = from_iter(0..1u64) -> collect(); }.threads(threads).run().expect("runs");
            (out.n.len(), 0, out.metrics.bytes_exchanged)
        }
    }
}

/// Runs `which` as `processes` fresh processes of `threads` threads each; returns
/// the wall time from start to the last exit, and process 0's figures.
fn run(which: &str, path: &Path, processes: usize, threads: usize) -> (Duration, (usize, u64, u64)) {
    let listeners: Vec<_> = (0..processes).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let hosts: Vec<String> =
        listeners.iter().map(|l| format!("127.0.0.1:{}", l.local_addr().unwrap().port())).collect();
    drop(listeners);
    let start = Instant::now();
    let children: Vec<_> = (0..processes)
        .map(|i| {
            let mut command = Command::new(std::env::current_exe().unwrap());
            command
                .env(CHILD, format!("{which} {threads} {}", path.display()))
                .env("BEAM_PROGRESS", "0")
                .stdout(if i == 0 { Stdio::piped() } else { Stdio::null() });
            if processes > 1 {
                command
                    .env("BEAM_PROCESSES", processes.to_string())
                    .env("BEAM_PROCESS_INDEX", i.to_string())
                    .env("BEAM_HOSTS", hosts.join(","));
            }
            command.spawn().unwrap()
        })
        .collect();
    let mut figures = None;
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{which}: process {i} failed");
        if i == 0 {
            let text = String::from_utf8(out.stdout).unwrap();
            let v: Vec<u64> = text.split_whitespace().map(|n| n.parse().unwrap()).collect();
            figures = Some((v[0] as usize, v[1], v[2]));
        }
    }
    (start.elapsed(), figures.expect("process 0 reports"))
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        let mut parts = spec.splitn(3, ' ');
        let (which, threads, path) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let (distinct, records, bytes) = child(which, Path::new(path), threads.parse().unwrap());
        if beam::process_index() == 0 {
            println!("{distinct} {records} {bytes}");
        }
        return;
    }
    let (text, csv, _) = common::bench_files();
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    println!("medians of {RUNS} alternating runs, each a fresh process or group\n");
    println!(
        "| case | data | 1 process x 2 threads | 2 processes x 1 thread | throughput ratio | bytes exchanged per record |"
    );
    println!("|---|---|---|---|---|---|");
    for (which, path, data) in [("wordcount", &text, "text"), ("csv", &csv, "CSV")] {
        let mb = std::fs::metadata(path).unwrap().len() as f64 / 1e6;
        let (mut local, mut group) = (Vec::new(), Vec::new());
        let mut exchanged = (0, 0);
        for _ in 0..RUNS {
            let (t, here) = run(which, path, 1, 2);
            local.push(t);
            let (t, there) = run(which, path, 2, 1);
            group.push(t);
            assert_eq!(here.0, there.0, "{which}: the group found as many keys as one process");
            assert_eq!(here.1, there.1, "{which}: the group read as many records as one process");
            exchanged = (there.2, there.1);
        }
        let (local, group) = (median(local), median(group));
        println!(
            "| {which} | {mb:.0} MB {data} | {:.2} s | {:.2} s | {:.2}x | {:.2} ({} bytes for {} records) |",
            local.as_secs_f64(),
            group.as_secs_f64(),
            local.as_secs_f64() / group.as_secs_f64(),
            exchanged.0 as f64 / exchanged.1.max(1) as f64,
            exchanged.0,
            exchanged.1,
        );
    }
    let (mut alone, mut together) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        alone.push(run("empty", &text, 1, 1).0);
        together.push(run("empty", &text, 2, 1).0);
    }
    println!(
        "\nset-up: an empty pipeline takes {:.3} s as one process and {:.3} s as a group of two",
        median(alone).as_secs_f64(),
        median(together).as_secs_f64()
    );
}
