//! `read_text` lending `&str` lines: when every stage reading the lines takes
//! `&str`, the loop works on slices of the worker's buffer, and barriers keep the
//! owned form. Each pipeline is checked against a sequential reference on the same
//! text, across split sizes and thread counts.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use beam::plan::Lending;
use beam::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Seeded text: lines of words from a skewed vocabulary, with empty lines, runs of
/// spaces and tabs, `\r\n` endings and multi-byte characters.
fn text(seed: u64, lines: usize) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let vocabulary: Vec<String> =
        (0..200).map(|i| format!("w{i}")).chain(["é", "naïve", "日本"].map(String::from)).collect();
    let mut text = String::new();
    for _ in 0..lines {
        for _ in 0..rng.random_range(0..12) {
            // Skewed: low indices far more often.
            let i = (rng.random_range(0.0f64..1.0).powi(3) * vocabulary.len() as f64) as usize;
            text.push_str(&vocabulary[i]);
            text.push_str(if rng.random_bool(0.1) { " \t " } else { " " });
        }
        text.push_str(if rng.random_bool(0.2) { "\r\n" } else { "\n" });
    }
    text
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn reference_counts(text: &str) -> Vec<(String, u64)> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word.to_owned()).or_default() += 1;
    }
    sorted(counts.into_iter().collect())
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn words_of_lent_lines_are_counted_as_a_sequential_count() {
    let dir = tempfile::tempdir().unwrap();
    let cases =
        [(String::new(), "empty"), ("one".to_owned(), "one word"), (text(1, 3000), "random"), (text(2, 40), "small")];
    for (text, what) in &cases {
        let path = write(dir.path(), "in.txt", text);
        for (threads, split) in [(1, 1 << 20), (2, 97), (3, 4096)] {
            let out = pipeline! {
                counts = read_text(TextInput::new(&path).split_bytes(split))
                    -> flat_map(|line: &str| line.split_whitespace())
                    -> count_per_element()
                    -> collect();
            }
            .threads(threads)
            .run()
            .unwrap();
            // A lent word reaching a barrier is kept as a `Word`, an inline string.
            let counts: Vec<(String, u64)> = out.counts.into_iter().map(|(w, n)| (w.to_string(), n)).collect();
            assert_eq!(sorted(counts), reference_counts(text), "{what}, {threads} threads, splits of {split}");
        }
    }
}

#[test]
fn lent_lines_through_map_filter_and_a_keyed_sum() {
    let dir = tempfile::tempdir().unwrap();
    let text = text(5, 5000);
    let path = write(dir.path(), "in.txt", &text);
    let min_len = 3;
    let out = pipeline! {
        lines = read_text(TextInput::new(&path).split_bytes(1000));
        // Per first word: the number of lines and the total length.
        firsts = lines
            -> filter(|line: &&str| line.len() >= min_len)
            -> filter_map(|line: &str| line.split_whitespace().next().map(|w| (w, line.len() as u64)))
            -> sum_per_key()
            -> collect();
        // Owned elements made from lent lines pass through as they are.
        lengths = lines -> map(|line: &str| line.chars().count()) -> sum() -> collect();
        // A lent line reaching `collect()` is kept as a `Word`.
        kept = lines -> filter(|line: &&str| line.contains("日本")) -> collect();
    }
    .threads(2)
    .run()
    .unwrap();

    let lines: Vec<&str> = text.lines().collect();
    let mut firsts: HashMap<String, u64> = HashMap::new();
    for line in lines.iter().filter(|l| l.len() >= min_len) {
        if let Some(w) = line.split_whitespace().next() {
            *firsts.entry(w.to_owned()).or_default() += line.len() as u64;
        }
    }
    let got: Vec<(String, u64)> = out.firsts.into_iter().map(|(w, n)| (w.to_string(), n)).collect();
    assert_eq!(sorted(got), sorted(firsts.into_iter().collect()));
    assert_eq!(out.lengths, vec![lines.iter().map(|l| l.chars().count()).sum::<usize>()]);
    let kept: Vec<String> = lines.iter().filter(|l| l.contains("日本")).map(|l| l.to_string()).collect();
    assert!(!kept.is_empty());
    assert_eq!(sorted(out.kept.iter().map(|w| w.to_string()).collect()), sorted(kept));
}

#[test]
fn a_function_held_in_a_variable_and_a_grouping_of_lent_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let text = text(9, 2000);
    let path = write(dir.path(), "in.txt", &text);
    let first_two = |line: &str| -> Option<(String, usize)> {
        let mut words = line.split_whitespace();
        Some((words.next()?.to_owned(), words.count()))
    };
    let out = pipeline! {
        groups = read_text(&path)
            -> filter_map(|line: &str| first_two(line))
            -> group_by_key()
            -> map(|(k, v): (String, Vec<usize>)| (k, v.into_iter().sum::<usize>()))
            -> collect();
        distinct = read_text(&path)
            -> flat_map(|line: &str| line.split_whitespace().map(|w| (w, w.len() as u8)))
            -> distinct()
            -> collect();
    }
    .run()
    .unwrap();

    let mut groups: HashMap<String, usize> = HashMap::new();
    let mut distinct = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some((k, n)) = first_two(line) {
            *groups.entry(k).or_default() += n;
        }
        distinct.extend(line.split_whitespace().map(|w| (w.to_owned(), w.len() as u8)));
    }
    assert_eq!(sorted(out.groups), sorted(groups.into_iter().collect()));
    let got: Vec<(String, u8)> = out.distinct.into_iter().map(|(w, n)| (w.to_string(), n)).collect();
    assert_eq!(sorted(got), sorted(distinct.into_iter().collect()));
}

#[test]
fn invalid_utf8_in_lent_lines_is_an_error_at_its_line_or_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.txt");
    fs::write(&path, b"fine\nalso fine\ncaf\xe9 au lait\nlast\n").unwrap();
    let err = pipeline! {
        n = read_text(&path) -> flat_map(|l: &str| l.split(' ')) -> count() -> collect();
    }
    .run()
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("not valid UTF-8"), "{message}");
    assert!(message.contains("bad.txt:3"), "{message}");

    let out = pipeline! {
        words = read_text(TextInput::new(&path).lossy_utf8()) -> flat_map(|l: &str| l.split(' ')) -> collect();
    }
    .run()
    .unwrap();
    let words: Vec<String> = out.words.iter().map(|w| w.to_string()).collect();
    assert_eq!(sorted(words), sorted(vec!["fine", "also", "fine", "caf\u{FFFD}", "au", "lait", "last"]));
}

#[test]
fn a_panic_in_a_stage_reading_lent_lines_names_the_stage() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "in.txt", &text(3, 500));
    let err = pipeline! {
        n = read_text(&path)
            -> map(|l: &str| if l.contains("w0 w0 w0") { panic!("three in a row") } else { l.len() })
            -> sum()
            -> collect();
    }
    .run()
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("map"), "{message}");
    assert!(message.contains("three in a row"), "{message}");
}

#[test]
fn a_character_split_across_two_lines_is_invalid_in_each() {
    // "é" is C3 A9: the first line ends with its first byte, the next starts with
    // its second. Each line is invalid, though the two together are not.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("split.txt");
    fs::write(&path, b"ok\nab\xc3\n\xa9cd\nlast\n").unwrap();
    let err = pipeline! {
        n = read_text(&path) -> map(|l: &str| l.len()) -> sum() -> collect();
    }
    .run()
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("not valid UTF-8") && message.contains("split.txt:2"), "{message}");

    let out = pipeline! {
        lines = read_text(TextInput::new(&path).lossy_utf8()) -> map(|l: &str| l.to_owned()) -> collect();
    }
    .run()
    .unwrap();
    assert_eq!(
        sorted(out.lines),
        sorted(vec!["ok".to_owned(), "ab\u{FFFD}".into(), "\u{FFFD}cd".into(), "last".into()])
    );
}

#[test]
fn lent_words_kept_for_later_loops_side_inputs_and_functions_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let text = text(13, 3000);
    let path = write(dir.path(), "in.txt", &text);
    let stop = String::from("w0");
    // Not `Copy` (it captures a `String`): lent by reference.
    let keep = move |w: &&str| **w != *stop;
    let out = pipeline! {
        lines = read_text(TextInput::new(&path).split_bytes(5000));
        // Kept for later loops: read again by a flatten, and as a side input.
        words = lines -> flat_map(|l: &str| l.split_whitespace()) -> filter(keep);
        again = (words, words) -> flatten() -> count_per_element() -> collect();
        total = read_text(&path) -> map(|l: &str| l.len() as u64) -> sum();
        share = read_text(&path)
            -> filter(|l: &&str| !l.is_empty())
            -> map_with(as_singleton(total), |l: &str, total: &u64| (l.len() as u64) * 1_000_000 / total.max(&1))
            -> sum()
            -> collect();
        firsts = read_text(&path)
            -> filter_map(|l: &str| l.split_whitespace().next())
            -> flat_map_with(as_list(words), |first: &str, words: &Vec<beam::text::Word>| {
                   std::iter::once((first, words.len() as u64))
               })
            -> sum_per_key()
            -> collect();
    }
    .threads(2)
    .run()
    .unwrap();

    let words: Vec<&str> = text.split_whitespace().filter(|w| *w != "w0").collect();
    let mut twice: HashMap<String, u64> = HashMap::new();
    for w in &words {
        *twice.entry(w.to_string()).or_default() += 2;
    }
    let again: Vec<(String, u64)> = out.again.into_iter().map(|(w, n)| (w.to_string(), n)).collect();
    assert_eq!(sorted(again), sorted(twice.into_iter().collect()));

    let lines: Vec<&str> = text.lines().collect();
    let total = lines.iter().map(|l| l.len() as u64).sum::<u64>().max(1);
    let share: u64 = lines.iter().filter(|l| !l.is_empty()).map(|l| (l.len() as u64) * 1_000_000 / total).sum();
    assert_eq!(out.share, vec![share]);

    let mut firsts: HashMap<String, u64> = HashMap::new();
    for first in lines.iter().filter_map(|l| l.split_whitespace().next()) {
        *firsts.entry(first.to_owned()).or_default() += words.len() as u64;
    }
    let got: Vec<(String, u64)> = out.firsts.into_iter().map(|(w, n)| (w.to_string(), n)).collect();
    assert_eq!(sorted(got), sorted(firsts.into_iter().collect()));
}

#[test]
fn lent_words_made_owned_join_a_table() {
    use beam::text::Word;
    let dir = tempfile::tempdir().unwrap();
    let text = text(21, 1500);
    let path = write(dir.path(), "in.txt", &text);
    let names: Vec<(Word, u32)> = (0..50).map(|i| (Word::from(format!("w{i}")), i)).collect();
    let out = pipeline! {
        table = from_iter(names.clone());
        words = read_text(&path)
            -> flat_map(|l: &str| l.split_whitespace())
            -> map(|w: &str| (Word::from(w), 1u64));
        pairs = (words, table)
            -> join()
            -> map(|(_, (n, i)): (Word, (u64, u32))| (i, n))
            -> sum_per_key()
            -> collect();
    }
    .run()
    .unwrap();
    let mut expected: HashMap<u32, u64> = HashMap::new();
    for w in text.split_whitespace() {
        if let Some((_, i)) = names.iter().find(|(n, _)| n == w) {
            *expected.entry(*i).or_default() += 1;
        }
    }
    assert!(!expected.is_empty());
    assert_eq!(sorted(out.pairs), sorted(expected.into_iter().collect()));
}

#[test]
fn lent_lines_counted_and_kept_whole_beside_a_reader_of_str() {
    let dir = tempfile::tempdir().unwrap();
    let text = text(17, 800);
    let path = write(dir.path(), "in.txt", &text);
    let out = pipeline! {
        lines = read_text(&path);
        words = lines -> flat_map(|l: &str| l.split_whitespace()) -> count() -> collect();
        n = lines -> count() -> collect();
        all = lines -> collect();
    }
    .threads(2)
    .run()
    .unwrap();
    assert_eq!(out.words, vec![text.split_whitespace().count() as u64]);
    assert_eq!(out.n, vec![text.lines().count() as u64]);
    let all: Vec<String> = out.all.iter().map(|w: &Word| w.to_string()).collect();
    assert_eq!(sorted(all), sorted(text.lines().map(str::to_owned).collect()));
}

#[test]
fn lent_arrays_and_wide_tuples_are_kept_owned() {
    let dir = tempfile::tempdir().unwrap();
    let text = text(19, 300);
    let path = write(dir.path(), "in.txt", &text);
    let out = pipeline! {
        pairs = read_text(&path)
            -> filter_map(|l: &str| {
                   let mut w = l.split_whitespace();
                   Some(([w.next()?, w.next()?], (l.len(), 1u8, 2u16, 3u32, l.is_empty())))
               })
            -> collect();
    }
    .run()
    .unwrap();
    let got: Vec<String> =
        out.pairs.iter().map(|(words, rest)| format!("{}-{}-{:?}", words[0], words[1], rest)).collect();
    let expected: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (a, b) = (w.next()?, w.next()?);
            Some(format!("{a}-{b}-{:?}", (l.len(), 1u8, 2u16, 3u32, l.is_empty())))
        })
        .collect();
    assert_eq!(sorted(got), sorted(expected));
}

#[test]
fn text_words_splits_lent_lines_beside_a_reader_of_str() {
    // `flat_map(beam::text::words)` takes lent lines as a `&str` closure does: the
    // second reader, which declares `&str`, compiles only because both lend.
    let dir = tempfile::tempdir().unwrap();
    for (text, what) in [(String::new(), "empty"), ("one".to_owned(), "one word"), (text(11, 4000), "random")] {
        let path = write(dir.path(), "in.txt", &text);
        for (threads, split) in [(1, 1 << 20), (2, 333)] {
            let out = pipeline! {
                lines = read_text(TextInput::new(&path).split_bytes(split));
                counts = lines -> flat_map(beam::text::words) -> count_per_element() -> collect();
                widths = lines -> map(|line: &str| line.len()) -> sum() -> collect();
            }
            .threads(threads)
            .run()
            .unwrap();
            let counts: Vec<(String, u64)> = out.counts.into_iter().map(|(w, n)| (w.to_string(), n)).collect();
            assert_eq!(sorted(counts), reference_counts(&text), "{what}, {threads} threads, splits of {split}");
            assert_eq!(out.widths, vec![text.lines().map(str::len).sum::<usize>()], "{what}");
        }
    }
}

/// `read_text(p) -> flat_map(beam::text::words)` alone lends blocks of whole lines,
/// not lines: the words, and the metrics' line and word counts, are those of the
/// lines, across split sizes, thread counts, a byte order mark, `\r\n`, Unicode
/// whitespace, lines longer than the reader's buffer and no final line break;
/// an invalid line is an error at its line, or replaced if the input is lossy.
#[test]
fn words_of_line_blocks_are_the_words_of_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut long = text(8, 20_000);
    long.push_str(&"x".repeat(300_000));
    long.push_str(" after\u{2028}the\u{85}long\u{3000}line\r\n");
    long.push_str(&text(9, 20_000));
    long.push_str("no final line break");
    let cases = [
        (String::new(), "empty"),
        ("\u{feff}bom first\nthen more\n".to_owned(), "byte order mark"),
        (text(7, 3000), "random"),
        (long, "long lines"),
    ];
    for (text, what) in &cases {
        let path = write(dir.path(), "in.txt", text);
        for (threads, split) in [(1, 1 << 30), (2, 97), (3, 100_003)] {
            let out = pipeline! {
                counts = read_text(TextInput::new(&path).split_bytes(split))
                    -> split: flat_map(beam::text::words)
                    -> count_per_element()
                    -> collect();
            }
            .threads(threads)
            .run()
            .unwrap();
            // The same closure as `str::split_whitespace` is read as blocks too.
            let with_closure = pipeline! {
                counts = read_text(TextInput::new(&path).split_bytes(split))
                    -> split: flat_map(|line: &str| line.split_whitespace())
                    -> count_per_element()
                    -> collect();
            };
            assert_eq!(with_closure.plan().segments[0].lends, Lending::LineBlocks);
            let by_closure = with_closure.threads(threads).run().unwrap();
            let expected = reference_counts(text.strip_prefix('\u{feff}').unwrap_or(text));
            let runs =
                [(out.counts, out.metrics, "beam::text::words"), (by_closure.counts, by_closure.metrics, "closure")];
            for (counts, metrics, form) in runs {
                let counts: Vec<(String, u64)> = counts.into_iter().map(|(w, n)| (w.to_string(), n)).collect();
                assert!(sorted(counts) == expected, "{form}: {what}, {threads} threads, splits of {split}");
                let read = metrics.stage("read_text").unwrap();
                let split_words = metrics.stage("split").unwrap();
                assert_eq!(read.elements_out, text.lines().count() as u64, "{form}: {what}: lines");
                assert_eq!(split_words.elements_in, read.elements_out, "{form}: {what}");
                let words = expected.iter().map(|(_, n)| n).sum::<u64>();
                assert_eq!(split_words.elements_out, words, "{form}: {what}: words");
            }
        }
    }

    let mut bad = text(10, 5000).into_bytes();
    let at = bad.len() / 2 + bad[bad.len() / 2..].iter().position(|&b| b == b'w').unwrap();
    bad[at] = 0xff;
    let line = 1 + bad[..at].iter().filter(|&&b| b == b'\n').count();
    let path = dir.path().join("bad.txt");
    fs::write(&path, &bad).unwrap();
    for split in [1 << 30, 10_007] {
        let err = pipeline! {
            counts = read_text(TextInput::new(&path).split_bytes(split)) -> flat_map(beam::text::words) -> count_per_element() -> collect();
        }
        .threads(2)
        .run()
        .unwrap_err();
        assert_eq!(err.input().unwrap().line, Some(line as u64), "{err}");
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
    }
    let out = pipeline! {
        counts = read_text(TextInput::new(&path).lossy_utf8()) -> flat_map(beam::text::words) -> count_per_element() -> collect();
    }
    .run()
    .unwrap();
    let counts: Vec<(String, u64)> = out.counts.into_iter().map(|(w, n)| (w.to_string(), n)).collect();
    assert!(sorted(counts) == reference_counts(&String::from_utf8_lossy(&bad)), "lossy");

    // Bad bytes before a `\r\n`: the same line and the same detail as reading lines.
    let path = dir.path().join("crlf.txt");
    fs::write(&path, b"ok\nx\xe2\x80\r\nmore\n").unwrap();
    let blocks = pipeline! {
        counts = read_text(&path) -> flat_map(beam::text::words) -> count_per_element() -> collect();
    }
    .run()
    .unwrap_err();
    let lines = pipeline! {
        n = read_text(&path) -> map(|l: String| l.len()) -> sum() -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(blocks.input().unwrap().line, Some(2), "{blocks}");
    let detail = |e: &beam::Error| std::error::Error::source(e).map(|s| s.to_string());
    assert_eq!(detail(&blocks), detail(&lines));

    // A line over the length limit is still an error at its line.
    let path = write(dir.path(), "long.txt", &format!("short\n{}\nshort\n", "x ".repeat(5_000)));
    let err = pipeline! {
        counts = read_text(TextInput::new(&path).max_line_bytes(1000)) -> flat_map(beam::text::words) -> count_per_element() -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.input().unwrap().line, Some(2), "{err}");
    assert!(err.message().contains("longer than the limit of 1000 bytes"), "{err}");
}

/// Only a closure that does nothing but split its line with `split_whitespace` is
/// handed blocks of lines: one that does more, or anything else, is handed each
/// line (a block would give it other results).
#[test]
fn a_closure_that_does_more_than_split_whitespace_is_handed_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = text(12, 3000);
    let path = write(dir.path(), "in.txt", &text);
    let firsts = pipeline! {
        counts = read_text(&path) -> flat_map(|line: &str| line.split_whitespace().take(1)) -> count_per_element() -> collect();
    };
    let trimmed = pipeline! {
        counts = read_text(&path) -> flat_map(|line: &str| line.trim_start_matches('w').split_whitespace()) -> count_per_element() -> collect();
    };
    let blocked = pipeline! {
        counts = read_text(&path) -> flat_map(|line: &str| { line.split_whitespace() }) -> count_per_element() -> collect();
    };
    assert_eq!(firsts.plan().segments[0].lends, Lending::Lines);
    assert_eq!(trimmed.plan().segments[0].lends, Lending::Lines);
    assert_eq!(blocked.plan().segments[0].lends, Lending::LineBlocks);
    let reference = |f: &dyn Fn(&str) -> Vec<&str>| {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for word in text.lines().flat_map(f) {
            *counts.entry(word.to_owned()).or_default() += 1;
        }
        sorted(counts.into_iter().collect())
    };
    let got =
        |counts: Vec<(beam::text::Word, u64)>| sorted(counts.into_iter().map(|(w, n)| (w.to_string(), n)).collect());
    assert_eq!(got(firsts.threads(2).run().unwrap().counts), reference(&|l| l.split_whitespace().take(1).collect()));
    assert_eq!(
        got(trimmed.threads(2).run().unwrap().counts),
        reference(&|l| l.trim_start_matches('w').split_whitespace().collect())
    );
    assert_eq!(got(blocked.threads(2).run().unwrap().counts), reference_counts(&text));
}

/// Only beam's own `words`, named by its whole path, is handed blocks of lines: a
/// function of the user's that is also called `text::words` is handed each line,
/// as a closure is.
#[test]
fn a_function_of_ones_own_named_text_words_is_handed_lines() {
    mod text {
        pub fn words(line: &str) -> impl Iterator<Item = &str> {
            line.split(' ').filter(|w| !w.is_empty())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "in.txt", "a b\nc d\r\nb\n");
    let out = pipeline! {
        counts = read_text(&path) -> flat_map(text::words) -> count_per_element() -> collect();
    }
    .run()
    .unwrap();
    let counts: Vec<(String, u64)> = out.counts.into_iter().map(|(w, n)| (w.to_string(), n)).collect();
    let expected: Vec<(String, u64)> = [("a", 1), ("b", 2), ("c", 1), ("d", 1)].map(|(w, n)| (w.to_owned(), n)).into();
    assert_eq!(sorted(counts), expected);
}
