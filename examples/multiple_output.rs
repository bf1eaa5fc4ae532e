//! Several outputs of different types from one stage, ported from Apache Beam's
//! `multiple_output_pardo.py` (Python `examples/cookbook`): each line is split
//! into words once, and the one stage sends its character count to one output,
//! its short words (three letters or fewer) to a second, and its other words to a
//! third, each of its own type, all inside one fused loop.
//!
//!     cargo run --release --example multiple_output
//!         splits the text this project ships (examples/data/)
//!     cargo run --release --example multiple_output -- --input 'logs/*.txt' --output out/
//!         also writes out/characters, out/short-words and out/words as text,
//!         as the Beam example does

use beam::prelude::*;

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

    let out = pipeline! {
        lines = read_text(&input);
        // Beam's SplitLinesToWordsFn: the character count to one tagged output,
        // short words to another, the other words to the main one.
        (characters, short_words, words) = lines -> multi_output(|line: String, out| {
            out.0.emit(line.len() as u64);
            for word in line.split(|c: char| !(c.is_alphabetic() || c == '\'')).filter(|w| !w.is_empty()) {
                if word.chars().count() <= 3 {
                    out.1.emit(word.to_owned());
                } else {
                    out.2.emit(word.to_owned());
                }
            }
        });
        total_characters = characters -> sum() -> collect();
        short_counts = short_words -> count_per_element() -> collect();
        word_counts = words -> count_per_element() -> collect();
    }
    .run()?;
    if beam::process_index() != 0 {
        return Ok(()); // one of a group of processes: process 0 has the results
    }

    let (mut short, mut long) = (out.short_counts, out.word_counts);
    short.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    long.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("{input}: {} characters in lines", out.total_characters[0]);
    println!("short words, most frequent: {:?}", &short[..short.len().min(5)]);
    println!("other words, most frequent: {:?}", &long[..long.len().min(5)]);
    if let Some(dir) = output {
        let dir = std::path::Path::new(&dir);
        pipeline! {
            chars = from_iter(out.total_characters);
            chars -> write_text(FileOutput::new(dir.join("characters")).single_file(), |n: &u64| *n);
            shorts = from_iter(short);
            shorts -> write_text(dir.join("short-words"), |(w, n): &(String, u64)| format!("{w}: {n}"));
            others = from_iter(long);
            others -> write_text(dir.join("words"), |(w, n): &(String, u64)| format!("{w}: {n}"));
        }
        .run()?;
        println!("written to {}/", dir.display());
    }
    Ok(())
}
