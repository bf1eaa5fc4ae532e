//! Word count, the main example: counts the words of text files and prints the most
//! frequent ones.
//!
//!     cargo run --release --example wordcount
//!         counts the text this project ships (examples/data/)
//!     cargo run --release --example wordcount -- --input 'logs/*.txt' --output counts/
//!         counts your files (a file, a directory or a glob; .gz and .zst too) and
//!         writes `word<TAB>count` lines as part files into counts/
//!
//! The same binary runs on several processes (built with `--features timely`):
//! start it on each with `BEAM_PROCESSES`, `BEAM_PROCESS_INDEX` and `BEAM_HOSTS`
//! set, or on one machine with `beam-launch -n 3 -- target/release/examples/wordcount`.
//! Each process reads its share of the input; process 0 prints the result.

use beam::prelude::*;
use beam::text::Word;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut input = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/pipelines.txt").to_owned();
    let mut output = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--input" => input = args.next().ok_or("--input needs a path")?,
            "--output" => output = Some(args.next().ok_or("--output needs a directory")?),
            other => return Err(format!("unknown argument `{other}`; use --input PATH and --output DIR").into()),
        }
    }

    // The lines are `&str` slices of the worker's buffer and the words `&str` slices
    // of those: nothing is allocated per line or per word. A word is made owned (a
    // `Word`, stored inline up to 24 bytes) only when the count first sees it.
    let pipeline = pipeline! {
        lines  = read_text(&input);
        words  = lines
                 -> split: flat_map(|line: &str| line.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()))
                 -> lower: map(|word: &str| lowercase(word));
        counts = words -> count_per_element();
        // Ranked by count, ties by word, so the listing is the same every run.
        top    = counts -> top(10, |(w, n): &(Word, u64)| (*n, std::cmp::Reverse(w.clone()))) -> collect();
        total  = words -> count() -> collect();
        distinct = counts -> count() -> collect();
        all    = counts -> collect();
    };
    let out = pipeline.run()?;
    if beam::process_index() != 0 {
        // One of a group: process 0 has the results.
        return Ok(());
    }

    println!("{input}: {} words, {} distinct", out.total[0], out.distinct[0]);
    for (word, n) in &out.top {
        println!("{n:>8}  {word}");
    }
    if let Some(dir) = output {
        // A second small pipeline writes what the first computed: the counts are
        // already in memory, and the output is published only if the write succeeds.
        pipeline! {
            counts = from_iter(out.all);
            counts -> write_text(&dir, |(word, n): &(Word, u64)| format!("{word}\t{n}"));
        }
        .alone()
        .run()?;
        println!("counts written to {dir}/");
    }
    Ok(())
}

/// `word` in lower case, as an inline `Word`: no allocation for a short word.
fn lowercase(word: &str) -> Word {
    if word.is_ascii() {
        let mut lower = Word::from(word);
        lower.make_ascii_lowercase();
        lower
    } else {
        Word::from(word.to_lowercase())
    }
}
