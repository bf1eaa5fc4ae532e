//! Workers waiting for a slow `from_iter` iterator sleep instead of spinning. In a
//! test binary of its own, so the process's CPU time is this test's alone.

use std::time::{Duration, Instant};

use beam::prelude::*;

/// CPU time this process has used (user and system), from `/proc/self/stat`.
#[cfg(target_os = "linux")]
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name; utime and stime are the 14th and 15th.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

#[cfg(target_os = "linux")]
#[test]
fn workers_waiting_for_a_slow_iterator_do_not_spin() {
    let slow = (0..40_000u64).inspect(|x| {
        if x % 100 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let (cpu, wall) = (cpu_time(), Instant::now());
    let out = pipeline! {
        xs = from_iter(slow);
        total = xs -> combine_globally(Sum) -> collect();
    }
    .threads(4)
    .run()
    .unwrap();
    let (cpu, wall) = (cpu_time() - cpu, wall.elapsed());
    assert_eq!(out.total, vec![(0..40_000u64).sum::<u64>()]);
    // Three of the four workers wait the whole run: spinning, they would burn about
    // three times the wall time.
    assert!(cpu < wall / 2, "{cpu:?} of CPU in {wall:?}");
}
