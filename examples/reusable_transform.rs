//! A reusable transform (Beam's composite `PTransform`): a named chain of stages
//! defined once with `beam::transform!` and used in pipelines like a built-in.
//!
//!     cargo run --example reusable_transform

use beam::prelude::*;
use beam::text::{Word, words};

beam::transform! {
    /// Lower-cased words of lines of text, counted.
    count_words() = flat_map(words)
        -> map(|w: Word| Word::from(w.to_lowercase()))
        -> count_per_element()
}

beam::transform! {
    /// The `n` most frequent words.
    top_words(n) = count_words!() -> top($n, |(_, count): &(Word, u64)| *count)
}

fn main() -> Result<(), beam::Error> {
    let text = include_str!("data/pipelines.txt");
    let out = pipeline! {
        lines = from_iter(text.lines().map(str::to_owned));
        top   = lines -> top_words!(5) -> collect();
        total = lines -> count_words!() -> values() -> combine_globally(Sum) -> collect();
    }
    .run()?;
    if beam::process_index() != 0 {
        return Ok(()); // one of a group of processes: process 0 has the results
    }
    println!("{} words; the most frequent:", out.total[0]);
    for (word, n) in out.top {
        println!("{n:>5}  {word}");
    }
    Ok(())
}
