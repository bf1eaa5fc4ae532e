//! Typed CSV in, sales per region and product out as CSV, with a dead-letter output for the
//! rows that do not parse. Generates its input (with a few broken rows) first.
//!
//!     cargo run --release --example csv_aggregate            # 1M generated rows
//!     cargo run --release --example csv_aggregate -- 100000  # another row count

use std::io::Write;

use beam::prelude::*;
use serde::{Deserialize, Serialize};

/// One row of the input.
#[derive(Debug, Clone, Deserialize)]
struct Sale {
    region: String,
    product: String,
    amount: f64,
}

/// One row of the output.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RegionTotal {
    region: String,
    product: String,
    sales: u64,
    total: f64,
    mean: f64,
}

/// Sum and count of amounts, pre-combined per thread like any combiner.
struct SumCount;

impl CombineFn<f64> for SumCount {
    type Acc = (f64, u64);
    type Out = (f64, u64);
    fn create_accumulator(&self) -> (f64, u64) {
        (0.0, 0)
    }
    fn add_input(&self, acc: &mut (f64, u64), amount: f64) {
        acc.0 += amount;
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("beam-csv-aggregate-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("sales.csv");
    generate(&input, rows)?;
    let totals_out = dir.join("totals.csv");
    let bad_out = dir.join("bad-rows.jsonl");

    let out = pipeline! {
        (sales, bad) = read_csv::<Sale>(&input);
        totals = sales
            -> map(|s: Sale| ((s.region, s.product), s.amount))
            -> combine_per_key(SumCount)
            -> map(|((region, product), (total, sales)): ((String, String), (f64, u64))| {
                   RegionTotal { region, product, sales, total, mean: total / sales as f64 }
               });
        totals -> write_csv(FileOutput::new(&totals_out).single_file());
        bad -> write_jsonl(FileOutput::new(&bad_out).single_file());
        shown = totals -> top(5, |t: &RegionTotal| t.sales) -> collect();
    }
    .run()?;
    if beam::process_index() != 0 {
        return Ok(()); // one of a group of processes: process 0 has the results
    }

    println!("read {} ({} rows)", input.display(), rows);
    println!("{:<10} {:<9} {:>9} {:>14} {:>9}", "region", "product", "sales", "total", "mean");
    for t in &out.shown {
        println!("{:<10} {:<9} {:>9} {:>14.2} {:>9.2}", t.region, t.product, t.sales, t.total, t.mean);
    }
    println!("totals per region and product: {}", totals_out.display());
    println!("{} bad rows, with file, line and reason: {}", out.metrics.bad_records(), bad_out.display());
    println!("\n{}", out.metrics);
    Ok(())
}

/// `rows` sales over 50 regions, one row in 100,000 broken on purpose.
fn generate(path: &std::path::Path, rows: usize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "region,product,amount")?;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..rows {
        // xorshift: a fixed, repeatable sequence.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let region = state % 50;
        let amount = (state >> 20) % 100_000;
        if i % 100_000 == 99_999 {
            writeln!(out, "region-{region},widget,not-a-number")?;
        } else {
            writeln!(out, "region-{region},widget-{},{}.{:02}", state % 7, amount / 100, amount % 100)?;
        }
    }
    out.flush()
}
