//! TfIdf, ported from Apache Beam's `TfIdf` example (Java `examples/complete/TfIdf`):
//! how characteristic each word is of each document. A word's term frequency in a
//! document is its share of the document's words; its document frequency is the
//! share of documents that contain it; its score is `tf * ln(1 / df)`.
//!
//!     cargo run --release --example tfidf
//!         scores the four short documents in examples/data/tfidf/ and prints
//!         each document's most characteristic words
//!     cargo run --release --example tfidf -- --input 'docs/*.txt' --output scores/
//!         scores your documents and writes `word,document,score` rows as four
//!         CSV shards, scores/tfidf-00000-of-00004.csv ..
//!
//! As in Beam's version, each line is read with the name of its document
//! (`read_text_with_filename`, Beam's `ReadFromTextWithFilename`), the number of
//! documents is a side input, and the two counts meet in joins.

use std::path::Path;
use std::sync::Arc;

use beam::prelude::*;

/// A document's name: its file's name without the directory.
fn document(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut input = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/tfidf").to_owned();
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
        lines = read_text_with_filename(&input);
        // (document, word) for every word of every line.
        words = lines -> flat_map(|(path, line): (Arc<Path>, String)| {
            let doc = document(&path);
            line.split(|c: char| !c.is_alphabetic())
                .filter(|w| !w.is_empty())
                .map(|w| (doc.clone(), w.to_lowercase()))
                .collect::<Vec<_>>()
        });
        documents = lines -> map(|(path, _): (Arc<Path>, String)| document(&path)) -> distinct() -> count();
        // How often each word occurs in each document, and how many words each has.
        per_document = words -> count_per_element();
        document_sizes = words -> keys() -> count_per_element();
        // Term frequency: (document, (word, count)) meets (document, size).
        tf = per_document -> map(|((doc, word), n): ((String, String), u64)| (doc, (word, n)));
        term_frequencies = (tf, document_sizes)
            -> join()
            -> map(|(doc, ((word, n), size)): (String, ((String, u64), u64))| (word, (doc, n as f64 / size as f64)));
        // Document frequency: how many documents contain each word.
        containing = per_document -> map(|((_, word), _): ((String, String), u64)| (word, 1u64)) -> sum_per_key();
        scores = (term_frequencies, containing)
            -> join()
            -> map_with(as_singleton(documents), |(word, ((doc, tf), containing)): (String, ((String, f64), u64)), documents: &u64| {
                (word, doc, tf * (*documents as f64 / containing as f64).ln())
            });
        best = scores -> collect();
    }
    .run()?;
    if beam::process_index() != 0 {
        return Ok(()); // one of a group of processes: process 0 has the results
    }

    // Each document's three most characteristic words.
    let mut best = out.best;
    best.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.total_cmp(&a.2)).then(a.0.cmp(&b.0)));
    for (i, (word, doc, score)) in best.iter().enumerate() {
        // Rows of one document are next to each other, best first.
        let rank = best[..i].iter().rev().take_while(|b| b.1 == *doc).count();
        if rank == 0 {
            println!("{doc}:");
        }
        if rank < 3 {
            println!("  {word:<12} {score:.4}");
        }
    }
    if let Some(dir) = output {
        pipeline! {
            rows = from_iter(best);
            rows -> write_csv(FileOutput::new(&dir).shards(4).prefix("tfidf").suffix(".csv"));
        }
        .run()?;
        println!("scores written to {dir}/tfidf-0000*-of-00004.csv");
    }
    Ok(())
}
