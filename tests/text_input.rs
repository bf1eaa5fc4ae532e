//! `read_text`: every line exactly once whatever the split points, compressed
//! files, globs and directories, and the errors for bad input.

use std::fs;
use std::io::Write;
use std::path::Path;

use beam::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn read_all(input: TextInput) -> Result<Vec<String>, beam::Error> {
    let out = pipeline! {
        lines = read_text(input.clone());
        all = lines -> collect();
    }
    .threads(3)
    .run()?;
    let mut all = out.all;
    all.sort();
    Ok(all)
}

/// What `str::lines` gives, the reference: `\n` or `\r\n` endings, no empty last line.
fn expected(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn every_split_point_reads_every_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let texts = [
        "a\nbb\n\nccc\r\ndddd\n",
        "no trailing newline\nsecond",
        "\n\n\n",
        "x",
        "one very long line with no end at all, longer than many of the splits",
        "crlf\r\nonly\r\n",
    ];
    for (i, text) in texts.iter().enumerate() {
        let path = dir.path().join(format!("t{i}.txt"));
        fs::write(&path, text).unwrap();
        for split in 1..=text.len() as u64 + 1 {
            let got = read_all(TextInput::new(&path).split_bytes(split)).unwrap();
            assert_eq!(got, expected(text), "text {i} split into ranges of {split} bytes");
        }
    }
}

#[test]
fn random_text_in_random_splits() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    for round in 0..20 {
        let mut text = String::new();
        for _ in 0..rng.random_range(0..300) {
            let len = if rng.random_bool(0.05) { rng.random_range(100..2000) } else { rng.random_range(0..20) };
            text.extend((0..len).map(|_| rng.random_range(b'a'..=b'z') as char));
            text.push_str(if rng.random_bool(0.2) { "\r\n" } else { "\n" });
        }
        if rng.random_bool(0.5) {
            text.push_str("tail without newline");
        }
        let path = dir.path().join(format!("r{round}.txt"));
        fs::write(&path, &text).unwrap();
        let split = rng.random_range(1..200);
        assert_eq!(read_all(TextInput::new(&path).split_bytes(split)).unwrap(), expected(&text), "round {round}");
    }
}

#[test]
fn directories_globs_empty_and_many_small_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = String::new();
    for i in 0..150 {
        let text = if i % 10 == 0 { String::new() } else { format!("file {i} line 1\nfile {i} line 2\n") };
        fs::write(dir.path().join(format!("part-{i:03}.txt")), &text).unwrap();
        all.push_str(&text);
    }
    fs::write(dir.path().join(".hidden"), "not read\n").unwrap();
    assert_eq!(read_all(TextInput::new(dir.path())).unwrap(), expected(&all));
    assert_eq!(read_all(TextInput::new(dir.path().join("part-*.txt"))).unwrap(), expected(&all));
    let only_empty = dir.path().join("part-000.txt");
    assert_eq!(read_all(TextInput::new(&only_empty)).unwrap(), Vec::<String>::new());
}

fn gzip(text: &str) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

fn zstd(text: &str) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(text.as_bytes(), ruzstd::encoding::CompressionLevel::Fastest)
}

#[test]
fn gzip_and_zstd_files_are_decompressed() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..5000).map(|i| format!("line {i}\n")).collect();
    fs::write(dir.path().join("a.txt.gz"), gzip(&text)).unwrap();
    fs::write(dir.path().join("b.txt.zst"), zstd(&text)).unwrap();
    let got = read_all(TextInput::new(dir.path()).split_bytes(100)).unwrap();
    let mut twice = expected(&text);
    twice.extend(expected(&text));
    twice.sort();
    assert_eq!(got, twice);
}

fn error_of(input: TextInput) -> beam::Error {
    read_all(input).unwrap_err()
}

#[test]
fn bad_input_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    // Invalid UTF-8 on line 4, found by a worker that starts mid-file.
    let path = dir.path().join("bad.txt");
    fs::write(&path, b"aaaa\nbbbb\ncccc\nd\xffd\neeee\n").unwrap();
    let err = error_of(TextInput::new(&path).split_bytes(7));
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.stage().unwrap().op, "read_text");
    assert_eq!(err.input().unwrap().line, Some(4), "{err}");
    assert!(err.to_string().contains("bad.txt:4: line is not valid UTF-8"), "{err}");
    // The same file reads with replacement characters when asked.
    let lossy = read_all(TextInput::new(&path).lossy_utf8()).unwrap();
    assert!(lossy.contains(&"d\u{FFFD}d".to_owned()));

    // A line over the limit is an error, not an allocation of the whole line.
    let path = dir.path().join("long.txt");
    fs::write(&path, format!("short\n{}\nshort\n", "x".repeat(10_000))).unwrap();
    let err = error_of(TextInput::new(&path).max_line_bytes(1000).split_bytes(4));
    assert_eq!(err.input().unwrap().line, Some(2), "{err}");
    assert!(err.message().contains("longer than the limit of 1000 bytes"), "{err}");

    // No file matches: an error naming the pattern, not an empty result.
    let err = error_of(TextInput::new(dir.path().join("nothing-*.txt")));
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.message().contains("no input file matches"), "{err}");
    let err = error_of(TextInput::new(Path::new("/definitely/not/here.txt")));
    assert_eq!(err.kind(), ErrorKind::Io);
}

#[test]
fn text_round_trip_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (0..20_000).map(|i| format!("line {i} \u{e9}")).collect();
    let plain = dir.path().join("plain");
    let zipped = dir.path().join("all.txt.gz");
    pipeline! {
        xs = from_iter(lines.clone());
        xs -> write_text(&plain, |l: &String| l.clone());
        xs -> write_text(FileOutput::new(&zipped).single_file().gzip(), |l: &String| l.clone());
    }
    .threads(3)
    .run()
    .unwrap();
    let mut expect = lines;
    expect.sort();
    assert_eq!(read_all(TextInput::new(&plain)).unwrap(), expect);
    assert_eq!(read_all(TextInput::new(&zipped)).unwrap(), expect);
}

#[test]
fn a_byte_order_mark_and_glob_characters_in_a_real_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes [draft].txt");
    fs::write(&path, b"\xEF\xBB\xBFfirst\nsecond\n").unwrap();
    assert_eq!(read_all(TextInput::new(&path)).unwrap(), vec!["first".to_owned(), "second".to_owned()]);
}

#[test]
fn corrupt_or_truncated_compressed_files_are_bad_input_not_retryable_io() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..50_000).map(|i| format!("line {i}\n")).collect();
    let (gz, zst) = (gzip(&text), zstd(&text));
    let mut corrupt_gz = gz.clone();
    let middle = corrupt_gz.len() / 2;
    corrupt_gz[middle..middle + 64].iter_mut().for_each(|b| *b = !*b);
    let cases = [
        ("truncated.txt.gz", gz[..gz.len() / 2].to_vec(), "gzip"),
        ("corrupt.txt.gz", corrupt_gz, "gzip"),
        ("truncated.txt.zst", zst[..zst.len() / 2].to_vec(), "zstd"),
    ];
    for (name, bytes, format) in cases {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let err = error_of(TextInput::new(&path));
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name}: {err}");
        assert!(err.message().contains(&format!("corrupt or truncated {format} data")), "{name}: {err}");
        assert_eq!(err.input().unwrap().path, path);
    }
}

#[test]
fn a_file_that_shrinks_while_it_is_read_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinking.txt");
    let text: String = (0..400_000).map(|i| format!("line {i}\n")).collect();
    fs::write(&path, &text).unwrap();
    let truncate = path.clone();
    // The first line through the loop cuts the file to a tenth: reading goes on
    // from the bytes already buffered and then finds the end early.
    let err = pipeline! {
        lines = read_text(TextInput::new(&path).split_bytes(1 << 40));
        n = lines
            -> map(move |l: String| {
                if l == "line 0" {
                    fs::OpenOptions::new().write(true).open(&truncate).unwrap().set_len(text.len() as u64 / 10).unwrap();
                }
                l
            })
            -> count()
            -> collect();
    }
    .threads(1)
    .run()
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(err.message().contains("shrank while it was being read"), "{err}");
    assert_eq!(err.input().unwrap().path, path);
}

#[test]
fn bytes_read_count_each_byte_once_when_a_long_line_spans_splits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.txt");
    let text = format!("short\n{}\nshort\n{}\nend\n", "x".repeat(9_000), "y".repeat(3_000));
    fs::write(&path, &text).unwrap();
    for split in [100, 1000, 4096, 1 << 20] {
        let out = pipeline! {
            lines = read_text(TextInput::new(&path).split_bytes(split));
            n = lines -> count() -> collect();
        }
        .threads(2)
        .run()
        .unwrap();
        assert_eq!(out.n, vec![5]);
        assert_eq!(out.metrics.stages[0].bytes_read, text.len() as u64, "splits of {split} bytes");
    }
}

/// Each line with the path of its file, from plain files cut into ranges and a
/// gzip file read whole: the lines of every file are exactly its own, and a
/// per-document word count (TfIdf's first step) matches one file at a time.
#[test]
fn lines_with_the_path_of_their_file() {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let mut texts: BTreeMap<std::path::PathBuf, String> = BTreeMap::new();
    for i in 0..6 {
        let lines = [0, 1, 50, 2_000, 30_000, 7][i];
        let text: String =
            (0..lines).map(|_| format!("w{} w{}\n", rng.random_range(0..20), rng.random_range(0..20))).collect();
        let path = dir.path().join(format!("doc-{i}.txt"));
        fs::write(&path, &text).unwrap();
        texts.insert(path, text);
    }
    let gz = dir.path().join("doc-gz.txt.gz");
    fs::write(&gz, gzip("w1 w2\nw2\n")).unwrap();
    texts.insert(gz, "w1 w2\nw2\n".to_owned());
    for split in [64, 4096, 1 << 30] {
        let out = pipeline! {
            lines = read_text_with_filename(TextInput::new(dir.path()).split_bytes(split));
            all = lines -> collect();
            words = lines
                -> flat_map(|(doc, line): (Arc<std::path::Path>, String)| {
                    line.split_whitespace().map(|w| (Arc::clone(&doc), w.to_owned())).collect::<Vec<_>>()
                })
                -> count_per_element()
                -> collect();
        }
        .run()
        .unwrap();
        let mut by_file: BTreeMap<std::path::PathBuf, Vec<String>> = BTreeMap::new();
        for (path, line) in out.all {
            by_file.entry(path.to_path_buf()).or_default().push(line);
        }
        let expect: BTreeMap<std::path::PathBuf, Vec<String>> = texts
            .iter()
            .filter(|(_, text)| !text.is_empty())
            .map(|(path, text)| (path.clone(), expected(text)))
            .collect();
        let got: BTreeMap<_, _> = by_file.into_iter().map(|(p, lines)| (p, sorted(lines))).collect();
        assert_eq!(got, expect, "split {split}");
        let mut counts: BTreeMap<(std::path::PathBuf, String), u64> = BTreeMap::new();
        for (path, text) in &texts {
            for word in text.split_whitespace() {
                *counts.entry((path.clone(), word.to_owned())).or_default() += 1;
            }
        }
        let got: BTreeMap<_, _> = out.words.into_iter().map(|((p, w), n)| ((p.to_path_buf(), w), n)).collect();
        assert_eq!(got, counts, "split {split}");
    }
}

fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

/// `read_all_text()` reads the files named by paths the pipeline computed (here,
/// listed in a manifest): plain files cut into ranges, a gzip file, a directory
/// and a glob, every line once; a path with no file is the stage's error naming it,
/// and a line that is not UTF-8 an error at its file and line.
#[test]
fn paths_computed_in_the_pipeline_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(9);
    let mut all = String::new();
    let mut listed = Vec::new();
    for i in 0..4 {
        let text: String = (0..[0, 3, 5_000, 200_000][i]).map(|_| format!("{}\n", rng.random::<u32>())).collect();
        let path = dir.path().join(format!("part-{i}.txt"));
        fs::write(&path, &text).unwrap();
        all.push_str(&text);
        listed.push(path.display().to_string());
    }
    fs::write(dir.path().join("z.txt.gz"), gzip("zipped\nlines\n")).unwrap();
    all.push_str("zipped\nlines\n");
    listed.push(dir.path().join("*.gz").display().to_string());
    let sub = dir.path().join("sub");
    fs::create_dir(&sub).unwrap();
    fs::write(sub.join("a.txt"), "in a directory\n").unwrap();
    all.push_str("in a directory\n");
    listed.push(sub.display().to_string());
    let manifest = dir.path().join("manifest");
    fs::write(&manifest, listed.join("\n")).unwrap();
    let out = pipeline! {
        paths = read_text(&manifest);
        lines = paths -> read_all_text() -> collect();
    }
    .run()
    .unwrap();
    let mut lines = out.lines;
    lines.sort();
    assert_eq!(lines, expected(&all));
    // Its bytes are in its metrics: the plain files' and the gzip file's decompressed.
    let read = out.metrics.stage("read_all_text").unwrap().bytes_read;
    assert_eq!(read, all.len() as u64);

    let missing = dir.path().join("missing.txt");
    let err = pipeline! {
        paths = from_iter(vec![missing.clone()]);
        _lines = paths -> read_all_text() -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.stage().unwrap().op, "read_all_text");
    assert!(err.to_string().contains("missing.txt"), "{err}");

    let bad = dir.path().join("bad.txt");
    fs::write(&bad, b"fine\nno\xff\n").unwrap();
    let err = pipeline! {
        paths = from_iter(vec![bad.clone()]);
        _lines = paths -> read_all_text() -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.input().unwrap().line, Some(2), "{err}");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// Lines are found a buffer of the file at a time: lines that cross from one
/// buffer to the next, lines longer than a buffer, `\r\n` split between buffers,
/// and characters of several bytes all read as `str::lines` gives them, as owned
/// and as lent lines; an invalid line deep in the file is an error at its line.
#[test]
fn lines_across_the_readers_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(17);
    let mut text = String::new();
    while text.len() < 3_000_000 {
        let len = if rng.random_bool(0.0002) { rng.random_range(200_000..400_000) } else { rng.random_range(0..120) };
        text.extend(
            (0..len).map(|_| if rng.random_bool(0.05) { '\u{e9}' } else { rng.random_range(b'a'..=b'z') as char }),
        );
        text.push_str(if rng.random_bool(0.3) { "\r\n" } else { "\n" });
    }
    text.push_str("tail without newline");
    let path = dir.path().join("big.txt");
    fs::write(&path, &text).unwrap();
    for split in [None, Some(1 << 20), Some(777_777)] {
        let input = match split {
            Some(bytes) => TextInput::new(&path).split_bytes(bytes),
            None => TextInput::new(&path),
        };
        assert!(read_all(input.clone()).unwrap() == expected(&text), "owned lines, split {split:?}");
        let out = pipeline! {
            lent = read_text(input.clone()) -> map(|line: &str| line.to_owned()) -> collect();
        }
        .threads(3)
        .run()
        .unwrap();
        let mut lent = out.lent;
        lent.sort();
        assert!(lent == expected(&text), "lent lines, split {split:?}");
    }

    let mut bad = text.into_bytes();
    let at = 2_500_000 + bad[2_500_000..].iter().position(|&b| b == b'a').unwrap();
    let line = 1 + bad[..at].iter().filter(|&&b| b == b'\n').count();
    bad[at] = 0xff;
    let path = dir.path().join("bad.txt");
    fs::write(&path, &bad).unwrap();
    let err = error_of(TextInput::new(&path).split_bytes(1 << 20));
    assert_eq!(err.input().unwrap().line, Some(line as u64), "{err}");
}
