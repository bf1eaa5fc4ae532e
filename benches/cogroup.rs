//! `co_group_by_key` against the sequential Rust a user would otherwise write (one
//! hash map, with a fast hasher, from key to the lists of each input's values), in
//! one run:
//!
//! - **events and users** (2-way): 5M events `(user, amount)` over 1M users, and
//!   the 1M users `(user, region)`; per user the number of events, their total
//!   and the region;
//! - **people** (3-way): 2M people's names, emails and phone numbers keyed by
//!   person, a tenth missing from each input, as Beam's `mergecontacts.py` joins
//!   them; per person how many of each.
//!
//! Groups are lists of values, so both sides allocate and free millions of small
//! blocks, and the allocator's state left by one run slows the next: each run is
//! a fresh process (this binary with `--only <case>`), the pipeline's and the
//! baseline's alternating, timed from when the data is ready; the medians are
//! printed, with each side's peak RSS.
//!
//! ```text
//! cargo bench --bench cogroup
//! BEAM_BENCH_SCALE=0.1 cargo bench --bench cogroup
//! cargo bench --bench cogroup -- --only people-repeat   # four runs in one process (also people-sequential-repeat)
//! ```
use std::process::Command;
use std::time::Instant;

use beam::prelude::*;

type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

const RUNS: usize = 5;

/// Per user: events, their total, and the region (0 if the user has none).
type UserRow = (u32, u64, u64, u32);
/// Per person: how many names, emails and phones.
type PersonRow = (u32, usize, usize, usize);

fn main() {
    let scale: f64 = std::env::var("BEAM_BENCH_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--only") {
        run_one(args.get(i + 1).map_or("", String::as_str), scale);
        return;
    }
    let agree = Command::new(std::env::current_exe().unwrap()).args(["--only", "check"]).status();
    assert!(agree.is_ok_and(|s| s.success()), "the pipelines and their sequential versions disagree");
    println!("threads: {}, scale {scale}", rayon::current_num_threads());
    println!();
    println!("| case | pipeline | sequential | ratio | peak RSS, pipeline | peak RSS, sequential |");
    println!("|---|---|---|---|---|---|");
    for (name, case) in [("events and users, 2-way", "users"), ("people, 3-way", "people")] {
        let (mut pipeline, mut sequential) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            pipeline.push(child(case));
            sequential.push(child(&format!("{case}-sequential")));
        }
        let (p, s) = (median(pipeline), median(sequential));
        println!(
            "| {name} | {:.0} ms | {:.0} ms | {:.2}x | {} MB | {} MB |",
            p.0,
            s.0,
            s.0 / p.0,
            p.1 / 1024,
            s.1 / 1024
        );
    }
}

/// Runs `case` in a fresh process: (milliseconds, peak RSS in KB).
fn child(case: &str) -> (f64, u64) {
    let out = Command::new(std::env::current_exe().unwrap()).args(["--only", case]).output().expect("bench child");
    assert!(out.status.success(), "{case}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    let ms = words.next().and_then(|w| w.parse().ok()).expect("milliseconds");
    let rss = words.next().and_then(|w| w.parse().ok()).expect("peak RSS");
    (ms, rss)
}

fn median(mut runs: Vec<(f64, u64)>) -> (f64, u64) {
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let time = runs[runs.len() / 2].0;
    (time, runs.iter().map(|r| r.1).max().unwrap_or(0))
}

/// Times one case, prints `milliseconds peak-RSS-KB`, and checks it against its
/// other side on a small input.
fn run_one(case: &str, scale: f64) {
    let start;
    let rows = match case {
        "users" | "users-sequential" => {
            let (events, users) = events_and_users(scale);
            start = Instant::now();
            if case == "users" { per_user(&events, &users) } else { per_user_sequential(&events, &users) }.len()
        }
        "people" | "people-sequential" => {
            let people = people(scale);
            start = Instant::now();
            if case == "people" { per_person(&people).len() } else { per_person_sequential(&people).len() }
        }
        "people-repeat" | "people-sequential-repeat" => {
            let people = people(scale);
            for _ in 0..4 {
                let t = Instant::now();
                let n = if case == "people-repeat" {
                    per_person(&people).len()
                } else {
                    per_person_sequential(&people).len()
                };
                eprintln!("{n} in {:.0} ms", t.elapsed().as_secs_f64() * 1000.0);
            }
            return;
        }
        "check" => {
            let (events, users) = events_and_users(0.01);
            assert_eq!(per_user(&events, &users), per_user_sequential(&events, &users));
            let people = people(0.01);
            assert_eq!(per_person(&people), per_person_sequential(&people));
            return;
        }
        _ => panic!(
            "--only users | users-sequential | people | people-sequential | people-repeat | people-sequential-repeat | check"
        ),
    };
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    std::hint::black_box(rows);
    println!("{ms:.1} {}", peak_rss_kb());
}

/// The process's peak resident memory, from `/proc` (0 where there is none).
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Events `(user, amount)` and users `(user, region)`.
type EventsAndUsers = (Vec<(u32, u64)>, Vec<(u32, u32)>);

fn events_and_users(scale: f64) -> EventsAndUsers {
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    let users = ((1_000_000.0 * scale) as u32).max(1);
    let events =
        (0..(5_000_000.0 * scale) as u64).map(|_| ((next() % u64::from(users)) as u32, next() % 1000)).collect();
    let users = (0..users).map(|u| (u, (next() % 50) as u32 + 1)).collect();
    (events, users)
}

type People = (Vec<(u32, String)>, Vec<(u32, String)>, Vec<(u32, String)>);
/// A person's names, emails and phones.
type Lists = (Vec<String>, Vec<String>, Vec<String>);

fn people(scale: f64) -> People {
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    let n = (2_000_000.0 * scale) as u32;
    let mut some = |field: &str| -> Vec<(u32, String)> {
        (0..n).filter(|_| !next().is_multiple_of(10)).map(|p| (p, format!("{field}-{p}"))).collect()
    };
    (some("name"), some("email"), some("phone"))
}

fn per_user(events: &[(u32, u64)], users: &[(u32, u32)]) -> Vec<UserRow> {
    let out = pipeline! {
        e = from_slice(events);
        u = from_slice(users);
        rows = (e, u)
            -> co_group_by_key()
            -> map(|(user, (amounts, regions)): (u32, (Vec<u64>, Vec<u32>))| {
                (user, amounts.len() as u64, amounts.iter().sum::<u64>(), regions.first().copied().unwrap_or(0))
            })
            -> collect();
    }
    .run()
    .expect("co-group runs");
    sorted(out.rows)
}

/// What a user writes without a pipeline: one map, both inputs pushed into it.
fn per_user_sequential(events: &[(u32, u64)], users: &[(u32, u32)]) -> Vec<UserRow> {
    let mut groups: FastMap<u32, (Vec<u64>, Vec<u32>)> = FastMap::default();
    for &(user, amount) in events {
        groups.entry(user).or_default().0.push(amount);
    }
    for &(user, region) in users {
        groups.entry(user).or_default().1.push(region);
    }
    let rows = groups
        .into_iter()
        .map(|(user, (amounts, regions))| {
            (user, amounts.len() as u64, amounts.iter().sum::<u64>(), regions.first().copied().unwrap_or(0))
        })
        .collect();
    sorted(rows)
}

fn per_person((names, emails, phones): &People) -> Vec<PersonRow> {
    let out = pipeline! {
        n = from_slice(names);
        e = from_slice(emails);
        p = from_slice(phones);
        rows = (n, e, p)
            -> co_group_by_key()
            -> map(|(id, (n, e, p)): (u32, Lists)| (id, n.len(), e.len(), p.len()))
            -> collect();
    }
    .run()
    .expect("co-group runs");
    sorted(out.rows)
}

fn per_person_sequential((names, emails, phones): &People) -> Vec<PersonRow> {
    let mut groups: FastMap<u32, Lists> = FastMap::default();
    for (id, name) in names {
        groups.entry(*id).or_default().0.push(name.clone());
    }
    for (id, email) in emails {
        groups.entry(*id).or_default().1.push(email.clone());
    }
    for (id, phone) in phones {
        groups.entry(*id).or_default().2.push(phone.clone());
    }
    sorted(groups.into_iter().map(|(id, (n, e, p))| (id, n.len(), e.len(), p.len())).collect())
}

fn sorted<T: Ord>(mut rows: Vec<T>) -> Vec<T> {
    rows.sort_unstable();
    rows
}
