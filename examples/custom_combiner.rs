//! A user-defined `CombineFn`: the spread (max - min) of readings per sensor,
//! pre-combined on every thread before the shuffle like the built-in combiners.
//!
//!     cargo run --example custom_combiner

use beam::prelude::*;

/// Keeps the smallest and largest reading seen.
struct Spread;

impl CombineFn<f64> for Spread {
    type Acc = (f64, f64);
    type Out = f64;

    fn create_accumulator(&self) -> (f64, f64) {
        (f64::INFINITY, f64::NEG_INFINITY)
    }
    fn add_input(&self, acc: &mut (f64, f64), reading: f64) {
        acc.0 = acc.0.min(reading);
        acc.1 = acc.1.max(reading);
    }
    fn merge_accumulators(&self, acc: &mut (f64, f64), other: (f64, f64)) {
        acc.0 = acc.0.min(other.0);
        acc.1 = acc.1.max(other.1);
    }
    fn extract_output(&self, (lo, hi): (f64, f64)) -> f64 {
        hi - lo
    }
}

fn main() -> Result<(), beam::Error> {
    // One million readings from 100 sensors, generated.
    let readings = (0..1_000_000u64)
        .map(|i| (format!("sensor-{:02}", i % 100), ((i * 7919) % (100 + (i % 100) * 10)) as f64 / 10.0));
    let out = pipeline! {
        readings = from_iter(readings);
        spreads = readings -> combine_per_key(Spread) -> collect();
    }
    .run()?;
    if beam::process_index() != 0 {
        return Ok(()); // one of a group of processes: process 0 has the results
    }
    let mut spreads = out.spreads;
    spreads.sort_by(|a, b| a.0.cmp(&b.0));
    for (sensor, spread) in spreads.iter().take(5) {
        println!("{sensor}: {spread:.1}");
    }
    Ok(())
}
