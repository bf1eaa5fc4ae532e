//! Word count, the main example: counts the words of a text file and prints the
//! most frequent ones.
//!
//!     cargo run --release --example wordcount                 # the text this project ships
//!     cargo run --release --example wordcount -- notes.txt    # your own file

use beam::prelude::*;

fn main() -> Result<(), beam::Error> {
    let input = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/pipelines.txt").to_owned());

    let out = pipeline! {
        lines  = read_text(&input);
        words  = lines
                 -> split: flat_map(|line: String| {
                        line.split(|c: char| !c.is_alphanumeric())
                            .filter(|w| !w.is_empty())
                            .map(str::to_lowercase)
                            .collect::<Vec<_>>()
                    });
        counts = words -> count_per_element();
        top    = counts -> top(10, |(_, n): &(String, u64)| *n) -> collect();
        total  = words -> count() -> collect();
        distinct = counts -> count() -> collect();
    }
    .run()?;

    println!("{input}: {} words, {} distinct", out.total[0], out.distinct[0]);
    for (word, n) in &out.top {
        println!("{n:>6}  {word}");
    }
    Ok(())
}
