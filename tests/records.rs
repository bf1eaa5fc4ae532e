//! Typed records in and out: JSON Lines (and CSV), bad records as errors or as a
//! dead-letter output, round trips, and atomic output.

use std::fs;

use beam::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Sale {
    region: String,
    amount: u64,
}

fn sales(n: u64) -> Vec<Sale> {
    (0..n).map(|i| Sale { region: format!("r{}", i % 7), amount: i }).collect()
}

fn sorted_sales(mut v: Vec<Sale>) -> Vec<Sale> {
    v.sort_by(|a, b| (a.amount, &a.region).cmp(&(b.amount, &b.region)));
    v
}

#[test]
fn jsonl_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sales");
    let data = sales(10_000);
    pipeline! {
        xs = from_iter(data.clone());
        xs -> write_jsonl(&out);
    }
    .run()
    .unwrap();
    let back = pipeline! {
        xs = read_jsonl::<Sale>(TextInput::new(&out).split_bytes(4096));
        all = xs -> collect();
    }
    .run()
    .unwrap();
    assert_eq!(sorted_sales(back.all), sorted_sales(data));
}

#[test]
fn a_bad_record_stops_the_run_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sales.jsonl");
    fs::write(&path, "{\"region\":\"a\",\"amount\":1}\n\n{\"region\":\"b\",\"amount\":\"two\"}\n").unwrap();
    let err = pipeline! {
        xs = read_jsonl::<Sale>(&path);
        _all = xs -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.stage().unwrap().op, "read_jsonl");
    let at = err.input().unwrap();
    assert_eq!((at.line, at.column.is_some()), (Some(3), true), "{err}");
    assert!(err.to_string().contains("sales.jsonl:3:"), "{err}");
    assert!(err.message().contains("invalid type"), "{err}");
    // The file's line, once: not serde's line within the record as well.
    assert!(!err.to_string().contains("at line"), "{err}");
}

#[test]
fn bad_records_go_to_a_dead_letter_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sales.jsonl");
    let mut text = String::new();
    for i in 0..5000 {
        if i % 1000 == 7 {
            text.push_str(&format!("garbage {i}\n"));
        } else {
            text.push_str(&format!("{{\"region\":\"r{}\",\"amount\":{i}}}\n", i % 3));
        }
    }
    fs::write(&path, &text).unwrap();
    let bad_dir = dir.path().join("bad");
    let out = pipeline! {
        (rows, bad) = read_jsonl::<Sale>(TextInput::new(&path).split_bytes(10_000));
        total = rows -> map(|s: Sale| s.amount) -> combine_globally(Sum) -> collect();
        bad -> write_jsonl(&bad_dir);
        lines = bad -> map(|b: BadRecord| b.line) -> collect();
    }
    .run()
    .unwrap();
    let mut lines = out.lines;
    lines.sort();
    assert_eq!(lines, vec![8, 1008, 2008, 3008, 4008]);
    let bad_total: u64 = (0..5000u64).filter(|i| i % 1000 == 7).sum();
    assert_eq!(out.total, vec![(0..5000u64).sum::<u64>() - bad_total]);
    // The dead letters were written like any collection, and read back.
    let back = pipeline! {
        xs = read_jsonl::<BadRecord>(&bad_dir);
        all = xs -> collect();
    }
    .run()
    .unwrap();
    assert_eq!(back.all.len(), 5);
    assert!(back.all.iter().all(|b| b.raw.starts_with("garbage") && b.path == path));
}

#[test]
fn a_failed_run_leaves_the_destination_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let result = pipeline! {
        xs = from_iter(0..100_000u32);
        xs -> map(|x: u32| { assert!(x != 77_777, "boom"); x }) -> write_jsonl(&out);
    }
    .run();
    assert!(result.is_err());
    assert!(!out.exists(), "no output after a failed run");
    let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // An existing output is refused before any work, and kept as it was.
    fs::create_dir(&out).unwrap();
    fs::write(out.join("keep.txt"), "precious").unwrap();
    let err = pipeline! {
        xs = from_iter(0..10u32);
        xs -> write_jsonl(&out);
    }
    .run()
    .unwrap_err();
    assert!(err.message().contains("already exists"), "{err}");
    assert_eq!(fs::read_to_string(out.join("keep.txt")).unwrap(), "precious");

    // A later stage failing after the sink's stage finished still leaves nothing.
    let other = dir.path().join("other");
    let result = pipeline! {
        xs = from_iter(0..1000u32);
        xs -> write_jsonl(&other);
        _n = xs -> combine_globally(Sum) -> map(|s: u32| { assert!(s == 0, "late failure"); s }) -> collect();
    }
    .run();
    assert!(result.is_err());
    assert!(!other.exists());

    // Overwriting is allowed when asked for.
    pipeline! {
        xs = from_iter(0..10u32);
        xs -> write_jsonl(FileOutput::new(&out).overwrite());
    }
    .run()
    .unwrap();
    assert!(!out.join("keep.txt").exists());
}

#[test]
fn single_file_and_gzip_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = sales(3000);
    let single = dir.path().join("all.jsonl");
    let zipped = dir.path().join("zipped");
    pipeline! {
        xs = from_iter(data.clone());
        xs -> write_jsonl(FileOutput::new(&single).single_file());
        xs -> write_jsonl(FileOutput::new(&zipped).gzip());
    }
    .threads(3)
    .run()
    .unwrap();
    assert!(single.is_file());
    assert!(fs::read_dir(&zipped).unwrap().all(|e| e.unwrap().path().extension().unwrap() == "gz"));
    for input in [TextInput::new(&single), TextInput::new(&zipped)] {
        let back = pipeline! {
            xs = read_jsonl::<Sale>(input.clone());
            all = xs -> collect();
        }
        .run()
        .unwrap();
        assert_eq!(sorted_sales(back.all), sorted_sales(data.clone()));
    }
}

fn csv_text(data: &[Sale]) -> String {
    let mut text = String::from("region,amount\n");
    for s in data {
        text.push_str(&format!("{},{}\n", s.region, s.amount));
    }
    text
}

#[test]
fn csv_round_trip_and_every_split_size() {
    let dir = tempfile::tempdir().unwrap();
    let data = sales(300);
    let out = dir.path().join("out");
    pipeline! {
        xs = from_iter(data.clone());
        xs -> write_csv(&out);
    }
    .threads(3)
    .run()
    .unwrap();
    for split in [1, 7, 64, 1000, 100_000] {
        let back = pipeline! {
            xs = read_csv::<Sale>(CsvInput::new(&out).split_bytes(split));
            all = xs -> collect();
        }
        .run()
        .unwrap();
        assert_eq!(sorted_sales(back.all), sorted_sales(data.clone()), "split {split}");
    }
}

#[test]
fn csv_header_must_match_the_record_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sales.csv");
    fs::write(&path, "region,amt,extra\nnorth,3,x\n").unwrap();
    let err = pipeline! {
        xs = read_csv::<Sale>(&path);
        _all = xs -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.stage().unwrap().op, "read_csv");
    assert_eq!(
        err.message(),
        "the CSV header does not match `Sale`: missing `amount`; the header has `region`, `amt`, `extra`"
    );
    assert_eq!(err.input().unwrap().line, Some(1));

    let err = pipeline! {
        xs = read_csv::<Sale>(CsvInput::new(&path).exact_columns());
        _all = xs -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.message(), "the CSV header does not match `Sale`: missing `amount`; unexpected `amt`, `extra`");
}

/// A struct that names some of a wide file's columns reads just those, in
/// whatever order the file has them, however the file is split; with
/// `exact_columns()` the extra columns are an error.
#[test]
fn csv_projections_read_the_columns_a_struct_names() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let mut rng = StdRng::seed_from_u64(11);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.csv");
    let mut text = String::from("station_number,amount,rain,region,note\n");
    let mut expected = Vec::new();
    for i in 0..20_000u64 {
        let sale = Sale { region: format!("r{}", rng.random_range(0..50)), amount: rng.random() };
        let note = if i % 1000 == 0 { "\"a, quoted\"".to_owned() } else { format!("n{i}") };
        text.push_str(&format!("{i},{},{},{},{note}\n", sale.amount, rng.random_range(0.0..9.0f64), sale.region));
        expected.push(sale);
    }
    fs::write(&path, &text).unwrap();
    for split in [1 << 12, 1 << 16, 1 << 30] {
        let out = pipeline! {
            xs = read_csv::<Sale>(CsvInput::new(&path).split_bytes(split)) -> collect();
        }
        .run()
        .unwrap();
        assert_eq!(sorted_sales(out.xs), sorted_sales(expected.clone()), "split {split}");
    }
    let err = pipeline! {
        xs = read_csv::<Sale>(CsvInput::new(&path).exact_columns());
        _all = xs -> collect();
    }
    .run()
    .unwrap_err();
    assert_eq!(err.message(), "the CSV header does not match `Sale`: unexpected `station_number`, `rain`, `note`");
}

#[test]
fn csv_bad_rows_error_or_go_to_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sales.csv");
    let mut text = csv_text(&sales(2000));
    text.push_str("south,not-a-number\nwest,5,surplus\n");
    fs::write(&path, &text).unwrap();

    let err = pipeline! {
        xs = read_csv::<Sale>(CsvInput::new(&path).split_bytes(500));
        _all = xs -> collect();
    }
    .run()
    .unwrap_err();
    let at = err.input().unwrap();
    assert_eq!((at.line, at.column), (Some(2002), Some(2)), "{err}");
    assert!(err.to_string().contains("sales.csv:2002:2"), "{err}");

    let out = pipeline! {
        (rows, bad) = read_csv::<Sale>(CsvInput::new(&path).split_bytes(500));
        n = rows -> count() -> collect();
        bad_rows = bad -> collect();
    }
    .run()
    .unwrap();
    assert_eq!(out.n, vec![2000]);
    let mut bad = out.bad_rows;
    bad.sort_by_key(|b| b.line);
    assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![2002, 2003]);
    assert_eq!(bad[0].raw, "south,not-a-number");
    assert!(bad[1].reason.contains("found 3 fields"), "{}", bad[1].reason);
}

#[test]
fn csv_options_delimiter_no_headers_and_multiline_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("semi.csv");
    fs::write(&path, "a;1\nb;2\n").unwrap();
    let out = pipeline! {
        xs = read_csv::<(String, u32)>(CsvInput::new(&path).delimiter(b';').no_headers());
        all = xs -> collect();
    }
    .run()
    .unwrap();
    let mut all = out.all;
    all.sort();
    assert_eq!(all, vec![("a".to_owned(), 1), ("b".to_owned(), 2)]);

    // A quoted field with a line break: the file is read whole, whether asked for
    // or found by the scan at the start, and parsed right.
    let path = dir.path().join("notes.csv");
    let mut text = String::from("region,amount\n");
    for i in 0..200 {
        text.push_str(&format!("\"north\nline two {i}\",{i}\n"));
    }
    fs::write(&path, &text).unwrap();
    let out = pipeline! {
        xs = read_csv::<Sale>(CsvInput::new(&path).multiline_records());
        all = xs -> collect();
    }
    .run()
    .unwrap();
    assert_eq!(out.all.len(), 200);
    assert!(out.all.iter().all(|s| s.region.starts_with("north\nline two")));
    let out = pipeline! {
        (rows, bad) = read_csv::<Sale>(CsvInput::new(&path).split_bytes(100));
        parsed = rows -> collect();
        bad_count = bad -> count() -> collect();
    }
    .run()
    .unwrap();
    assert_eq!(out.bad_count, vec![0]);
    assert_eq!(out.parsed.len(), 200);
    assert!(out.parsed.iter().all(|s| s.region.starts_with("north\nline two")), "no wrong records");
}

#[test]
fn a_single_csv_file_of_tuples_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pairs.csv");
    let data: Vec<(String, u32)> = (0..5000).map(|i| (format!("k{i}"), i)).collect();
    pipeline! {
        xs = from_iter(data.clone());
        xs -> write_csv(FileOutput::new(&out).single_file());
    }
    .threads(3)
    .run()
    .unwrap();
    let back = pipeline! {
        xs = read_csv::<(String, u32)>(CsvInput::new(&out).no_headers());
        all = xs -> collect();
    }
    .run()
    .unwrap();
    assert_eq!(back.all.len(), 5000, "no row taken for a header");
}

#[test]
fn two_sinks_cannot_write_to_one_place() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let err = pipeline! {
        xs = from_iter(0..10u32);
        xs -> write_jsonl(&out);
        xs -> write_text(&out, |x: &u32| *x);
    }
    .run()
    .unwrap_err();
    assert!(err.message().contains("same place"), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_malformed_first_row_of_a_byte_range_does_not_spoil_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sales.csv");
    let mut text = String::from("region,amount\n");
    for i in 0..2000 {
        text.push_str(if i % 100 == 50 { "bad,row,extra\n" } else { "r,1\n" });
    }
    fs::write(&path, &text).unwrap();
    let out = pipeline! {
        (rows, bad) = read_csv::<Sale>(CsvInput::new(&path).split_bytes(300));
        n = rows -> count() -> collect();
        bad_n = bad -> count() -> collect();
    }
    .run()
    .unwrap();
    assert_eq!((out.n[0], out.bad_n[0]), (1980, 20));
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Note {
    id: u64,
    note: String,
}

#[test]
fn an_unterminated_quote_is_a_bad_record_not_a_swallowed_file() {
    let dir = tempfile::tempdir().unwrap();
    // Row 2's quote is never closed: the parser would read rows 3.. into its note.
    let cases = [
        ("middle.csv", "id,note\n1,ok\n2,\"oops\n3,fine\n4,fine\n", 3, 3),
        ("last-line.csv", "id,note\n1,ok\n2,also ok\n3,\"tail", 4, 1),
    ];
    for (name, text, line, lines) in cases {
        let path = dir.path().join(name);
        // Large enough to be cut into ranges where the quote allows it.
        let mut big = String::from("id,note\n");
        for i in 100..3000 {
            big.push_str(&format!("{i},row {i} with \"a quote\" inside\n"));
        }
        let text = text.replacen("id,note\n", &big, 1);
        let line = line + 2900;
        fs::write(&path, &text).unwrap();

        let err = pipeline! {
            xs = read_csv::<Note>(CsvInput::new(&path).split_bytes(4096));
            _all = xs -> collect();
        }
        .run()
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.input().unwrap().line, Some(line), "{err}");
        assert!(err.message().contains("never closed"), "{err}");

        let out = pipeline! {
            (rows, bad) = read_csv::<Note>(CsvInput::new(&path).split_bytes(4096));
            ids = rows -> map(|n: Note| n.id) -> collect();
            bad_rows = bad -> collect();
        }
        .run()
        .unwrap();
        let mut ids = out.ids;
        ids.sort();
        // Every row before the bad one, none of those after it.
        let mut before: Vec<u64> = text
            .lines()
            .skip(1)
            .take(line as usize - 2)
            .map(|l| l.split(',').next().unwrap().parse().unwrap())
            .collect();
        before.sort();
        assert_eq!(text.lines().count() as u64, line - 1 + lines, "{name}: the test's own arithmetic");
        assert!(ids == before, "{name}: {} rows read, {} expected", ids.len(), before.len());
        assert_eq!(out.bad_rows.len(), 1, "{name}");
        let bad = &out.bad_rows[0];
        assert_eq!((bad.line, &bad.path), (line, &path));
        let counted = if lines == 1 { "(1 line)".to_owned() } else { format!("({lines} lines)") };
        assert!(bad.reason.contains(&counted), "{}", bad.reason);
    }

    // Quotes that the CSV rules read as plain characters are not unterminated.
    let path = dir.path().join("fine.csv");
    fs::write(&path, "id,note\n1,it's \"so\" fine\n2,\"two\nlines\"\n3,\"\"\"quoted\"\"\"\n").unwrap();
    let out = pipeline! {
        xs = read_csv::<Note>(&path);
        all = xs -> collect();
    }
    .run()
    .unwrap();
    let mut all = out.all;
    all.sort_by_key(|n| n.id);
    let notes: Vec<&str> = all.iter().map(|n| n.note.as_str()).collect();
    assert_eq!(notes, ["it's \"so\" fine", "two\nlines", "\"quoted\""]);
}

#[test]
fn a_csv_line_over_the_limit_names_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = csv_text(&sales(50));
    text.push_str(&format!("{},1\n", "x".repeat(5_000)));
    text.push_str(&csv_text(&sales(50))[14..]);
    let plain = dir.path().join("long.csv");
    fs::write(&plain, &text).unwrap();
    let zipped = dir.path().join("long.csv.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    fs::write(&zipped, gz.finish().unwrap()).unwrap();
    for (path, split) in [(&plain, 1 << 20), (&plain, 300), (&zipped, 1 << 20)] {
        let err = pipeline! {
            xs = read_csv::<Sale>(CsvInput::new(path).max_line_bytes(1000).split_bytes(split));
            all = xs -> collect();
        }
        .run()
        .map(|out| out.all.len())
        .expect_err(&format!("{} in splits of {split}", path.display()));
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.input().unwrap(), &beam::InputPosition::new(path, Some(52)), "{err}");
        assert!(err.message().contains("longer than the limit of 1000 bytes"), "{err}");
        assert_eq!(err.stage().unwrap().op, "read_csv");
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
enum Tier {
    Gold,
    Silver,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Wide {
    id: u64,
    delta: i32,
    small: u8,
    ratio: f64,
    flag: bool,
    #[serde(rename = "label")]
    name: String,
    note: Option<u32>,
    tier: Tier,
    initial: char,
}

/// Every kind of field a record holds, the columns in another order than the
/// struct's, checked against the csv crate's own deserialization of each line.
#[test]
fn csv_fields_of_every_kind_read_as_the_csv_crate_reads_them() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let mut rng = StdRng::seed_from_u64(3);
    let header = "label,tier,ratio,id,note,flag,delta,initial,small";
    let mut text = format!("{header}\n");
    for i in 0..5_000u64 {
        let note = if rng.random_bool(0.3) { String::new() } else { rng.random_range(0..1000u32).to_string() };
        let delta = if i == 0 {
            i32::MIN
        } else if i == 1 {
            i32::MAX
        } else {
            rng.random_range(-5000..5000)
        };
        text.push_str(&format!(
            "\"name, {i}\",{},{},{},{note},{},{delta},{},{}\n",
            if rng.random_bool(0.5) { "Gold" } else { "Silver" },
            rng.random_range(-1e6..1e6f64),
            if i == 2 { u64::MAX } else { rng.random::<u64>() >> rng.random_range(0..64) },
            rng.random_bool(0.5),
            if rng.random_bool(0.5) { 'é' } else { 'x' },
            rng.random::<u8>(),
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.csv");
    fs::write(&path, &text).unwrap();
    let out = pipeline! {
        rows = read_csv::<Wide>(CsvInput::new(&path).split_bytes(20_000)) -> collect();
    }
    .run()
    .unwrap();
    let mut expected: Vec<Wide> = csv::Reader::from_reader(text.as_bytes()).deserialize().map(|r| r.unwrap()).collect();
    let mut got = out.rows;
    expected.sort_by_key(|w| w.name.clone());
    got.sort_by_key(|w| w.name.clone());
    assert_eq!(got, expected);
}

/// Files whose lines are their records are split on bytes, block by block, and
/// a block with quotes or a lone `\r` goes through the CSV parser: whatever the
/// mix (CRLF, blank lines, a byte order mark, no final line break, lines across
/// the 1 MiB blocks, with or without a struct's named fields), the records are
/// those the csv crate reads, and a bad one is at its line.
#[test]
fn csv_read_as_lines_reads_what_the_csv_crate_reads() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    struct Row {
        id: u64,
        name: String,
        score: i32,
    }
    let dir = tempfile::tempdir().unwrap();
    for seed in 0..6u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        // Sparse quotes in some files (some blocks plain, some parsed), none in others.
        let quote_rate = [0.0, 0.00005, 0.3][seed as usize % 3];
        let rows = if seed < 3 { 60_000 } else { rng.random_range(0..40) };
        let mut text = String::new();
        if seed == 1 {
            text.push('\u{FEFF}');
        }
        text.push_str("id,name,score\n");
        for id in 0..rows {
            let name = match rng.random_range(0..4) {
                _ if rng.random_bool(quote_rate) => format!("\"n, \"\"{id}\"\"\""),
                0 => String::new(),
                _ => format!("n{}", rng.random_range(0..100_000)),
            };
            text.push_str(&format!("{id},{name},{}", rng.random_range(-9999..9999)));
            text.push_str(match rng.random_range(0..100) {
                0 => "\n\n",
                1 => "\r\n\r\n",
                2 if quote_rate > 0.0 => "\r",
                3..50 => "\r\n",
                _ => "\n",
            });
        }
        if rng.random_bool(0.5) {
            text.truncate(text.trim_end().len());
        }
        let path = dir.path().join(format!("rows-{seed}.csv"));
        fs::write(&path, &text).unwrap();
        let expected: Vec<Row> = csv::Reader::from_reader(text.as_bytes()).deserialize().map(|r| r.unwrap()).collect();
        let expected_tuples: Vec<(u64, String, i32)> =
            expected.iter().map(|r| (r.id, r.name.clone(), r.score)).collect();
        for split in [4_096, 100_000, 64 << 20] {
            let out = pipeline! {
                rows = read_csv::<Row>(CsvInput::new(&path).split_bytes(split)) -> collect();
                tuples = read_csv::<(u64, String, i32)>(CsvInput::new(&path).split_bytes(split)) -> collect();
            }
            .run()
            .unwrap();
            let (mut rows, mut tuples) = (out.rows, out.tuples);
            rows.sort_by_key(|r| r.id);
            tuples.sort_by_key(|r| r.0);
            assert!(rows == expected, "seed {seed}, split {split}: {} rows, {} expected", rows.len(), expected.len());
            assert!(tuples == expected_tuples, "seed {seed}, split {split}");
        }
    }

    // A bad record far into a file of plain blocks is reported at its line.
    let mut text = String::from("id,name,score\n");
    for id in 0..100_000 {
        text.push_str(&format!("{id},n{id},{}\n", if id == 77_777 { "x".to_owned() } else { id.to_string() }));
    }
    let path = dir.path().join("bad.csv");
    fs::write(&path, &text).unwrap();
    let out = pipeline! {
        (rows, bad) = read_csv::<Row>(CsvInput::new(&path).split_bytes(300_000));
        n = rows -> count() -> collect();
        bad_rows = bad -> collect();
    }
    .run()
    .unwrap();
    assert_eq!(out.n, [99_999]);
    assert_eq!(out.bad_rows.len(), 1);
    let bad = &out.bad_rows[0];
    assert_eq!((bad.line, bad.column, bad.raw.as_str()), (77_779, Some(3), "77777,n77777,x"), "{bad:?}");
    assert!(bad.reason.contains("column `score`"), "{}", bad.reason);
}

/// Ranges are read as lines until a worker finds a quote; where a quoted field
/// then holds a line break, the first range with a quote reads the rest of its file
/// with the csv crate's reader. Wherever that field lies (the header, the first
/// record, one range or another, across a range boundary, the last line), in one
/// file of several, on several threads and with ranges of every size, the records
/// are those the csv crate reads, each once.
#[test]
fn csv_quoted_line_breaks_anywhere_are_read_as_the_csv_crate_reads_them() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    #[derive(Debug, Clone, PartialEq, PartialOrd, Deserialize)]
    struct Note {
        id: u64,
        text: String,
    }
    let mut rng = StdRng::seed_from_u64(17);
    let dir = tempfile::tempdir().unwrap();
    let rows = 3_000;
    // Where the one field with line breaks goes, by record (`None`: nowhere; the
    // header's, at `Some(0)` with a quoted header).
    let places = [None, Some(0), Some(1), Some(700), Some(1_500), Some(2_999)];
    let mut expected = Vec::new();
    for (f, place) in places.iter().enumerate() {
        let quoted_header = *place == Some(0);
        let mut text = String::from(if quoted_header { "id,\"te\nxt\"\n" } else { "id,text\n" });
        for id in 0..rows {
            let note = match rng.random_range(0..50) {
                _ if *place == Some(id) && !quoted_header => format!("\"a\nlong\r\n\"\"note\"\" {id}\n\""),
                // Quotes without line breaks, here and there.
                0 => format!("\"say \"\"{id}\"\"\""),
                _ => format!("t{}", rng.random_range(0..1_000)),
            };
            text.push_str(&format!("{id},{note}\n"));
        }
        let path = dir.path().join(format!("notes-{f}.csv"));
        fs::write(&path, &text).unwrap();
        let reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        if quoted_header {
            // The header names `te\nxt`: read by position.
            let records = reader.into_records().map(|r| r.unwrap());
            expected.extend(records.map(|r| Note { id: r[0].parse().unwrap(), text: r[1].to_owned() }));
        } else {
            expected.extend(reader.into_deserialize::<Note>().map(|r| r.unwrap()));
        }
    }
    expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
    for split in [64, 1_000, 4_096, 20_000, 1 << 20] {
        for threads in [1, 2, 3] {
            let out = pipeline! {
                notes = read_csv::<(u64, String)>(CsvInput::new(dir.path()).split_bytes(split)) -> collect();
            }
            .threads(threads)
            .run()
            .unwrap();
            let mut notes: Vec<Note> = out.notes.into_iter().map(|(id, text)| Note { id, text }).collect();
            notes.sort_by(|a, b| a.partial_cmp(b).unwrap());
            assert!(
                notes == expected,
                "split {split}, {threads} threads: {} notes, {} expected",
                notes.len(),
                expected.len()
            );
        }
    }
}

/// Integer columns in a struct's order are split off each line as their digits
/// are read, in one pass: every integer type, at and past its limits, with
/// signs, leading zeros, 16 and 17 digits, spaces and junk, is read (or refused)
/// as the csv crate reads (or refuses) it.
#[test]
fn csv_integers_read_as_the_csv_crate_reads_them() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    #[derive(Debug, Clone, PartialEq, Deserialize)]
    struct Ints {
        line: u32,
        a: u8,
        b: u16,
        c: u32,
        d: u64,
        e: i8,
        f: i16,
        g: i32,
        h: i64,
    }
    let odd = [
        "0",
        "00",
        "007",
        "+7",
        "-0",
        "-7",
        " 7",
        "7 ",
        "",
        "x",
        "7x",
        "255",
        "256",
        "65535",
        "65536",
        "-128",
        "-129",
        "4294967295",
        "4294967296",
        "2147483647",
        "-2147483648",
        "-2147483649",
        "9999999999999999",
        "10000000000000000",
        "18446744073709551615",
        "18446744073709551616",
        "9223372036854775807",
        "-9223372036854775808",
        "-9223372036854775809",
        "12345678",
        "123456789",
        "--1",
        "1.0",
    ];
    let mut rng = StdRng::seed_from_u64(11);
    let mut text = String::from("line,a,b,c,d,e,f,g,h\n");
    for line in 2..20_000u32 {
        text.push_str(&line.to_string());
        for column in 0..8 {
            let value = if rng.random_bool(0.05) {
                odd[rng.random_range(0..odd.len())].to_owned()
            } else {
                let bits = [8, 16, 32, 64][column % 4] - u32::from(column >= 4);
                let magnitude = rng.random::<u64>() >> (64 - rng.random_range(1..=bits));
                if column >= 4 && rng.random_bool(0.5) { format!("-{magnitude}") } else { magnitude.to_string() }
            };
            text.push(',');
            text.push_str(&value);
        }
        text.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ints.csv");
    fs::write(&path, &text).unwrap();
    type Tuple = (u32, u8, u16, u32, u64, i8, i16, i32, i64);
    let out = pipeline! {
        (rows, bad) = read_csv::<Ints>(CsvInput::new(&path).split_bytes(50_000));
        good = rows -> collect();
        refused = bad -> collect();
        // The same columns as a tuple, read by position.
        (tuples, bad_tuples) = read_csv::<Tuple>(CsvInput::new(&path).split_bytes(50_000));
        good_tuples = tuples -> collect();
        refused_tuples = bad_tuples -> collect();
    }
    .run()
    .unwrap();
    let (mut expected, mut expected_bad) = (Vec::new(), Vec::new());
    for (i, record) in csv::Reader::from_reader(text.as_bytes()).deserialize::<Ints>().enumerate() {
        match record {
            Ok(ints) => expected.push(ints),
            Err(e) => match e.kind() {
                csv::ErrorKind::Deserialize { err, .. } => {
                    expected_bad.push((i as u64 + 2, err.field().map(|f| f + 1)))
                }
                kind => panic!("{kind:?}"),
            },
        }
    }
    let mut good = out.good;
    good.sort_by_key(|r| r.line);
    let mut refused: Vec<(u64, Option<u64>)> = out.refused.iter().map(|b| (b.line, b.column)).collect();
    refused.sort();
    assert!(expected_bad.len() > 1000, "the odd values make some records bad");
    let first_difference = refused.iter().zip(&expected_bad).find(|(a, b)| a != b);
    assert!(refused == expected_bad, "refused (line, column) vs expected: {first_difference:?}");
    assert!(good == expected, "{} read, {} expected", good.len(), expected.len());
    let mut good_tuples = out.good_tuples;
    good_tuples.sort_by_key(|r| r.0);
    let expected_tuples: Vec<Tuple> =
        expected.iter().map(|r| (r.line, r.a, r.b, r.c, r.d, r.e, r.f, r.g, r.h)).collect();
    assert!(good_tuples == expected_tuples, "tuples: {} read, {} expected", good_tuples.len(), expected_tuples.len());
    let mut refused: Vec<(u64, Option<u64>)> = out.refused_tuples.iter().map(|b| (b.line, b.column)).collect();
    refused.sort();
    assert!(refused == expected_bad, "tuples: the same records refused, at the same columns");
}

/// Float columns in a struct's order: a plain decimal is read as it is split off
/// the line, by one division where that is exact; every value, plain or not
/// (exponents, `inf`, `NaN`, 17 and 25 digits, 22 and 23 decimals, around 2^53,
/// signs, junk), reads to the same bits as the csv crate reads it, or is refused
/// as the csv crate refuses it.
#[test]
fn csv_floats_read_as_the_csv_crate_reads_them() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    #[derive(Debug, Clone, Deserialize)]
    struct Floats {
        line: u32,
        a: f64,
        b: f64,
    }
    let odd = [
        "0",
        "-0",
        "0.0",
        "-0.0",
        "00.50",
        "1.",
        ".5",
        "-.5",
        "+1.5",
        "1e5",
        "1E-3",
        "-2.5e+10",
        "inf",
        "-inf",
        "NaN",
        "infinity",
        " 1",
        "1 ",
        "",
        "-",
        ".",
        "1.2.3",
        "--1",
        "x",
        "0x10",
        "9007199254740992",
        "9007199254740993",
        "9007199254740992.5",
        "900719925474099.3",
        "0.1",
        "0.3",
        "2.2250738585072014",
        "1234567890123456789",
        "12345678901234567890",
        "0.0000000000000000000001",
        "0.00000000000000000000001",
        "1.0000000000000000000000001",
        "17976931348623157",
        "4.35",
        "1_000",
    ];
    let mut rng = StdRng::seed_from_u64(12);
    let mut text = String::from("line,a,b\n");
    for line in 2..30_000u32 {
        text.push_str(&line.to_string());
        for _ in 0..2 {
            let value = if rng.random_bool(0.1) {
                odd[rng.random_range(0..odd.len())].to_owned()
            } else {
                let digits: String =
                    (0..rng.random_range(1..=20)).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
                let point = rng.random_range(0..=digits.len());
                let sign = if rng.random_bool(0.3) { "-" } else { "" };
                if point == 0 || point == digits.len() {
                    format!("{sign}{digits}")
                } else {
                    format!("{sign}{}.{}", &digits[..point], &digits[point..])
                }
            };
            text.push(',');
            text.push_str(&value);
        }
        text.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("floats.csv");
    fs::write(&path, &text).unwrap();
    let out = pipeline! {
        (rows, bad) = read_csv::<Floats>(CsvInput::new(&path).split_bytes(100_000));
        good = rows -> collect();
        refused = bad -> collect();
        (tuples, bad_tuples) = read_csv::<(u32, f64, f64)>(CsvInput::new(&path).split_bytes(100_000));
        good_tuples = tuples -> collect();
        refused_tuples = bad_tuples -> collect();
    }
    .run()
    .unwrap();
    let bits = |(line, a, b): (u32, f64, f64)| (line, a.to_bits(), b.to_bits());
    let (mut expected, mut expected_bad) = (Vec::new(), Vec::new());
    for (i, record) in csv::Reader::from_reader(text.as_bytes()).deserialize::<Floats>().enumerate() {
        match record {
            Ok(f) => expected.push(bits((f.line, f.a, f.b))),
            Err(e) => match e.kind() {
                csv::ErrorKind::Deserialize { err, .. } => {
                    expected_bad.push((i as u64 + 2, err.field().map(|f| f + 1)))
                }
                kind => panic!("{kind:?}"),
            },
        }
    }
    assert!(expected_bad.len() > 100, "the odd values make some records bad");
    for (read, refused) in [
        (out.good.into_iter().map(|f| bits((f.line, f.a, f.b))).collect::<Vec<_>>(), out.refused),
        (out.good_tuples.into_iter().map(bits).collect(), out.refused_tuples),
    ] {
        let mut read = read;
        read.sort();
        let first_difference = read.iter().zip(&expected).find(|(a, b)| a != b);
        assert!(
            read == expected,
            "{} read, {} expected; first difference {first_difference:?}",
            read.len(),
            expected.len()
        );
        let mut refused: Vec<(u64, Option<u64>)> = refused.iter().map(|b| (b.line, b.column)).collect();
        refused.sort();
        assert!(refused == expected_bad, "refused (line, column) vs expected");
    }
}

/// A tuple element that takes several fields (a nested tuple, a `Vec` taking the
/// rest of the record) is read as the csv crate reads it, as are flat tuples.
#[test]
fn csv_tuples_of_compound_elements_read_as_the_csv_crate_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("compound.csv");
    let mut text = String::from("a,b,c,d\n");
    for i in 0..3_000u64 {
        text.push_str(&format!("{i},{},{}.5,{}\n", i * 2, i % 7, i % 3));
    }
    text.push_str("x,1,2.5,3\n");
    fs::write(&path, &text).unwrap();
    type Nested = ((u64, u64), f64, u64);
    type Rest = (u64, Vec<f64>);
    let out = pipeline! {
        (nested, bad_nested) = read_csv::<Nested>(CsvInput::new(&path).split_bytes(10_000));
        nested_rows = nested -> collect();
        nested_bad = bad_nested -> collect();
        (rest, bad_rest) = read_csv::<Rest>(CsvInput::new(&path).split_bytes(10_000));
        rest_rows = rest -> collect();
        rest_bad = bad_rest -> collect();
    }
    .run()
    .unwrap();
    fn expected<T: serde::de::DeserializeOwned>(text: &str) -> (Vec<T>, Vec<u64>) {
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        for (i, record) in csv::Reader::from_reader(text.as_bytes()).deserialize::<T>().enumerate() {
            match record {
                Ok(row) => good.push(row),
                Err(_) => bad.push(i as u64 + 2),
            }
        }
        (good, bad)
    }
    let (good, bad) = expected::<Nested>(&text);
    let mut rows = out.nested_rows;
    rows.sort_by_key(|r| r.0);
    assert!(good.len() == 3_000 && rows == good, "nested: {} read, {} expected", rows.len(), good.len());
    assert_eq!(out.nested_bad.iter().map(|b| b.line).collect::<Vec<_>>(), bad);
    let (good, bad) = expected::<Rest>(&text);
    let mut rows = out.rest_rows;
    rows.sort_by_key(|r| r.0);
    assert!(good.len() == 3_000 && rows == good, "rest: {} read, {} expected", rows.len(), good.len());
    assert_eq!(out.rest_bad.iter().map(|b| b.line).collect::<Vec<_>>(), bad);
}

/// A bad value names its column and shows the value; the record goes to the dead
/// letters at its line and column.
#[test]
fn csv_bad_fields_name_their_column_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("readings.csv");
    let mut text =
        b"station,temp,count\noslo,3.5,4\nrome,n/a,2\nbern,1.0,-3\nlima,2.0,\nnuuk,1.5,99999999999999999999\n".to_vec();
    text.extend_from_slice(b"kyiv\xff,1.0,2\n");
    fs::write(&path, text).unwrap();
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Reading {
        station: String,
        temp: f64,
        count: u32,
    }
    let out = pipeline! {
        (rows, bad) = read_csv::<Reading>(&path);
        n = rows -> count() -> collect();
        bad_rows = bad -> collect();
    }
    .run()
    .unwrap();
    assert_eq!(out.n, vec![1]);
    let mut bad = out.bad_rows;
    bad.sort_by_key(|b| b.line);
    let got: Vec<(u64, Option<u64>, &str)> = bad.iter().map(|b| (b.line, b.column, b.reason.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (3, Some(2), "column `temp`: `n/a` is not a number (`f64`)"),
            (4, Some(3), "column `count`: `-3` is not an integer from 0 to 4294967295 (`u32`)"),
            (5, Some(3), "column `count`: empty, but must be an integer from 0 to 4294967295 (`u32`)"),
            (6, Some(3), "column `count`: `99999999999999999999` is not an integer from 0 to 4294967295 (`u32`)"),
            (7, Some(1), "column `station`: `kyiv\u{FFFD}` is not valid UTF-8"),
        ]
    );
}

/// CSV and JSON Lines records with the path of their file, from files cut into
/// ranges; a bad record still goes to the dead letters at its file and line.
#[test]
fn records_with_the_path_of_their_file() {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let (csv_dir, jsonl_dir) = (dir.path().join("csv"), dir.path().join("jsonl"));
    fs::create_dir_all(&csv_dir).unwrap();
    fs::create_dir_all(&jsonl_dir).unwrap();
    let mut expect: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (f, rows) in [("a", 3_000u64), ("b", 1), ("c", 0), ("d", 12_000)] {
        let sales: Vec<Sale> = (0..rows).map(|i| Sale { region: format!("{f}{}", i % 3), amount: i }).collect();
        fs::write(csv_dir.join(format!("{f}.csv")), csv_text(&sales)).unwrap();
        let jsonl: String = sales.iter().map(|s| serde_json::to_string(s).unwrap() + "\n").collect();
        fs::write(jsonl_dir.join(format!("{f}.jsonl")), jsonl).unwrap();
        expect.insert(f.to_owned(), (0..rows).collect());
    }
    // One bad row in `b.csv`, line 3.
    fs::write(csv_dir.join("b.csv"), "region,amount\nb0,0\nb1,oops\n").unwrap();
    let out = pipeline! {
        (csv_rows, bad) = read_csv_with_filename::<Sale>(CsvInput::new(&csv_dir).split_bytes(2048));
        from_csv = csv_rows -> collect();
        bad_rows = bad -> collect();
        from_jsonl = read_jsonl_with_filename::<Sale>(TextInput::new(&jsonl_dir).split_bytes(2048)) -> collect();
    }
    .run()
    .unwrap();
    let by_file = |rows: Vec<(Arc<Path>, Sale)>| {
        let mut files: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (path, sale) in rows {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(sale.region.starts_with(&stem), "{} came from {}", sale.region, path.display());
            files.entry(stem).or_default().push(sale.amount);
        }
        files.values_mut().for_each(|v| v.sort());
        files
    };
    let mut from_jsonl = by_file(out.from_jsonl);
    from_jsonl.entry("c".to_owned()).or_default();
    assert_eq!(from_jsonl, expect);
    let mut from_csv = by_file(out.from_csv);
    from_csv.entry("c".to_owned()).or_default();
    let mut expect_csv = expect.clone();
    expect_csv.insert("b".to_owned(), vec![0]);
    assert_eq!(from_csv, expect_csv);
    assert_eq!(out.bad_rows.len(), 1);
    assert_eq!((out.bad_rows[0].path.clone(), out.bad_rows[0].line), (csv_dir.join("b.csv"), 3));
}
