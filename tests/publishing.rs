//! Publishing outputs: nothing at the destination is removed unless `overwrite()`
//! was asked; an overwrite swaps old for new in one step, even under SIGKILL;
//! several sinks publish together or not at all; leftovers of killed runs and
//! directories of failed runs are cleaned up.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use beam::prelude::*;

/// Every line of every part file under `dest` (or of the file `dest`), sorted.
fn lines_of(dest: &Path) -> Vec<String> {
    let files: Vec<PathBuf> = if dest.is_dir() {
        fs::read_dir(dest).unwrap().map(|e| e.unwrap().path()).collect()
    } else {
        vec![dest.to_owned()]
    };
    let mut lines: Vec<String> = files
        .iter()
        .flat_map(|f| fs::read_to_string(f).unwrap().lines().map(String::from).collect::<Vec<_>>())
        .collect();
    lines.sort();
    lines
}

fn expected_lines(n: u32) -> Vec<String> {
    let mut lines: Vec<String> = (0..n).map(|x| x.to_string()).collect();
    lines.sort();
    lines
}

/// Names of the entries of `dir` that a run left beside its destination.
fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".beam-"))
        .collect()
}

#[test]
fn an_output_that_appears_during_the_run_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    for single_file in [false, true] {
        let dest = dir.path().join(format!("out-{single_file}"));
        let output = if single_file { FileOutput::new(&dest).single_file() } else { FileOutput::new(&dest) };
        let appear = dest.clone();
        // Another program creates the destination while the run works.
        let err = pipeline! {
            xs = from_iter(0..10_000u32);
            xs -> map(move |x: u32| {
                if x == 5_000 {
                    fs::create_dir_all(&appear).unwrap();
                    fs::write(appear.join("theirs.txt"), "precious").unwrap();
                }
                x
            }) -> write_text(output, |x: &u32| *x);
        }
        .threads(1)
        .run()
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OutputExists, "{err}");
        assert!(err.message().contains("appeared while the run was working"), "{err}");
        assert_eq!(err.stage().unwrap().op, "write_text", "{err}");
        assert_eq!(err.input().unwrap().path, dest, "the error names the destination, not a temporary path");
        assert_eq!(fs::read_to_string(dest.join("theirs.txt")).unwrap(), "precious");
        assert_eq!(fs::read_dir(&dest).unwrap().count(), 1);
    }
    // Not even an empty directory is replaced.
    let dest = dir.path().join("empty");
    let appear = dest.clone();
    let err = pipeline! {
        xs = from_iter(0..100u32);
        xs -> map(move |x: u32| { let _ = fs::create_dir(&appear); x }) -> write_text(&dest, |x: &u32| *x);
    }
    .run()
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutputExists, "{err}");
    assert_eq!(fs::read_dir(&dest).unwrap().count(), 0);
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[test]
fn of_two_concurrent_runs_to_one_destination_one_fails() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    // Both runs pass the check before their work, then both finish their work.
    let both_working = Arc::new(Barrier::new(2));
    let results: Vec<(u32, beam::Result<()>)> = std::thread::scope(|threads| {
        let runs: Vec<_> = [1_000u32, 2_000]
            .into_iter()
            .map(|n| {
                let (dest, both_working) = (dest.clone(), both_working.clone());
                threads.spawn(move || {
                    let result = pipeline! {
                        xs = from_iter(0..n);
                        xs -> map(move |x: u32| { if x == 0 { both_working.wait(); } x })
                           -> write_text(&dest, |x: &u32| *x);
                    }
                    .threads(1)
                    .run()
                    .map(|_| ());
                    (n, result)
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let winners: Vec<u32> = results.iter().filter(|(_, r)| r.is_ok()).map(|(n, _)| *n).collect();
    assert_eq!(winners.len(), 1, "exactly one run publishes: {results:?}");
    let loser = results.iter().find_map(|(_, r)| r.as_ref().err()).unwrap();
    assert_eq!(loser.kind(), ErrorKind::OutputExists, "{loser}");
    assert_eq!(lines_of(&dest), expected_lines(winners[0]), "the winner's output, whole");
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[test]
fn when_one_sink_cannot_publish_no_sink_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second, third) = (dir.path().join("first"), dir.path().join("second.txt"), dir.path().join("third"));
    fs::create_dir(&third).unwrap();
    fs::write(third.join("old.txt"), "old").unwrap();
    let appear = second.clone();
    let err = pipeline! {
        xs = from_iter(0..1_000u32);
        xs -> write_text(&first, |x: &u32| *x);
        xs -> write_text(FileOutput::new(&third).overwrite(), |x: &u32| *x);
        xs -> map(move |x: u32| { if x == 1 { fs::write(&appear, "theirs").unwrap(); } x })
           -> write_text(FileOutput::new(&second).single_file(), |x: &u32| *x);
    }
    .run()
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutputExists, "{err}");
    assert!(!first.exists(), "the first sink's output was taken back");
    assert_eq!(fs::read_to_string(&second).unwrap(), "theirs");
    assert_eq!(lines_of(&third), ["old"], "the overwritten sink has its old output back");
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[test]
fn overwrite_replaces_files_and_directories_whatever_was_there() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    // A directory replaced by a single file, then the file by a directory.
    fs::create_dir(&dest).unwrap();
    fs::write(dest.join("old.txt"), "old").unwrap();
    for single_file in [true, false, false] {
        let output = FileOutput::new(&dest).overwrite();
        let output = if single_file { output.single_file() } else { output };
        pipeline! {
            xs = from_iter(0..500u32);
            xs -> write_text(output, |x: &u32| *x);
        }
        .run()
        .unwrap();
        assert_eq!(dest.is_file(), single_file);
        assert_eq!(lines_of(&dest), expected_lines(500));
    }
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

/// The run that `overwrite_is_atomic_under_sigkill` kills: a child process running
/// this test binary with `BEAM_PUBLISH_CHILD` set. Without it this does nothing.
#[test]
fn child_process_overwriting_an_output() {
    let Ok(dest) = std::env::var("BEAM_PUBLISH_CHILD") else { return };
    pipeline! {
        xs = from_iter(0..20_000u32);
        xs -> write_text(FileOutput::new(&dest).overwrite(), |x: &u32| *x);
    }
    .threads(2)
    .run()
    .unwrap();
}

/// Enough files that removing them takes a while: a kill lands inside that.
const OLD_FILES: usize = 5_000;

/// An old output of `OLD_FILES` files, made as links to one `template` file
/// (creating thousands of files is slow on some file systems; linking is not).
fn write_old_output(dest: &Path, template: &Path) {
    if dest.exists() {
        fs::remove_dir_all(dest).unwrap();
    }
    fs::create_dir(dest).unwrap();
    for i in 0..OLD_FILES {
        fs::hard_link(template, dest.join(format!("old-{i:05}"))).unwrap();
    }
}

fn spawn_child(dest: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process_overwriting_an_output", "--nocapture", "--test-threads=1"])
        .env("BEAM_PUBLISH_CHILD", dest)
        .env("BEAM_PROGRESS", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Whole old output, or whole new output: never a mix, never nothing.
fn assert_old_or_new(dest: &Path, after: Duration) -> bool {
    let names: Vec<String> =
        fs::read_dir(dest).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    if names.iter().all(|n| n.starts_with("old-")) {
        assert_eq!(names.len(), OLD_FILES, "part of the old output is gone after a kill at {after:?}");
        return false;
    }
    assert!(names.iter().all(|n| n.starts_with("part-")), "a mix after a kill at {after:?}: {names:?}");
    assert_eq!(lines_of(dest), expected_lines(20_000), "a partial new output after a kill at {after:?}");
    true
}

#[test]
fn overwrite_is_atomic_under_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out");
    let template = dir.path().join("template");
    fs::write(&template, "old").unwrap();
    // How long a whole run takes, to spread the kills over it.
    write_old_output(&dest, &template);
    let started = Instant::now();
    assert!(spawn_child(&dest).wait().unwrap().success());
    let whole_run = started.elapsed();
    assert!(assert_old_or_new(&dest, whole_run));

    let mut saw = [0, 0];
    for i in 0..12u32 {
        write_old_output(&dest, &template);
        let after = whole_run.mul_f64(f64::from(i) / 10.0);
        let mut child = spawn_child(&dest);
        std::thread::sleep(after);
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        saw[usize::from(assert_old_or_new(&dest, after))] += 1;
    }
    println!("old after {} kills, new after {}", saw[0], saw[1]);

    // The next run removes what the killed ones left, and publishes.
    assert!(spawn_child(&dest).wait().unwrap().success());
    assert!(assert_old_or_new(&dest, Duration::ZERO));
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    assert_eq!(lines_of(&template), ["old"]);
}

#[cfg(target_os = "linux")]
mod leftovers_of_killed_runs {
    use super::*;

    /// The host name as the runtime writes it in temporary names.
    fn host() -> String {
        let name = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let keep = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        name.trim().chars().map(|c| if keep(c) { c } else { '_' }).collect()
    }

    /// The pid of a process that has exited.
    fn dead_pid() -> u32 {
        let mut child = Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        child.id()
    }

    #[test]
    fn are_removed_when_their_process_is_gone_and_kept_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let (host, dead, alive) = (host(), dead_pid(), std::process::id());
        let stale = dir.path().join(format!(".out.beam-tmp-{host}-{dead}-3"));
        let running = dir.path().join(format!(".out.beam-tmp-{host}-{alive}-999"));
        let elsewhere = dir.path().join(format!(".out.beam-tmp-otherhost-{dead}-3"));
        let unrelated = dir.path().join(format!(".other.beam-tmp-{host}-{dead}-3"));
        for d in [&stale, &running, &elsewhere, &unrelated] {
            fs::create_dir(d).unwrap();
            fs::write(d.join("part-00000-of-00001"), "x").unwrap();
        }
        pipeline! {
            xs = from_iter(0..10u32);
            xs -> write_text(&dest, |x: &u32| *x);
        }
        .run()
        .unwrap();
        assert!(!stale.exists(), "a dead process's temporary directory is removed");
        assert!(running.exists(), "a live process's is kept");
        assert!(elsewhere.exists(), "another host's process may be alive: kept");
        assert!(unrelated.exists(), "another destination's: kept");
    }

    /// A process of another PID namespace on this host has a pid this one cannot
    /// see: its run is alive while it holds its lock file.
    #[test]
    fn a_locked_run_is_kept_whatever_its_pid_says() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let (host, dead) = (host(), dead_pid());
        let entry = |kind: &str, n: u32| dir.path().join(format!(".out.beam-{kind}-{host}-{dead}-{n}"));
        for n in [1, 2] {
            fs::write(entry("lock", n), "").unwrap();
            fs::create_dir(entry("tmp", n)).unwrap();
            fs::write(entry("tmp", n).join("part-00000-of-00001"), "x").unwrap();
        }
        let held = fs::File::options().write(true).open(entry("lock", 1)).unwrap();
        held.lock().unwrap();
        pipeline! {
            xs = from_iter(0..10u32);
            xs -> write_text(&dest, |x: &u32| *x);
        }
        .run()
        .unwrap();
        assert!(entry("tmp", 1).exists() && entry("lock", 1).exists(), "a locked run's entries are kept");
        assert!(!entry("tmp", 2).exists() && !entry("lock", 2).exists(), "an unlocked dead run's are removed");
        assert_eq!(lines_of(&dest), expected_lines(10));
    }

    #[test]
    fn an_old_output_moved_aside_comes_back_when_the_new_one_never_arrived() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let aside = dir.path().join(format!(".out.beam-old-{}-{}-0", host(), dead_pid()));
        fs::create_dir(&aside).unwrap();
        fs::write(aside.join("old.txt"), "old").unwrap();
        let err = pipeline! {
            xs = from_iter(0..10u32);
            xs -> write_text(&dest, |x: &u32| *x);
        }
        .run()
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::OutputExists, "the old output is back, and not replaced: {err}");
        assert_eq!(fs::read_to_string(dest.join("old.txt")).unwrap(), "old");
        assert_eq!(leftovers(dir.path()), Vec::<String>::new());
    }
}

#[test]
fn a_failed_run_removes_the_directories_it_created() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a/b/out");
    let result = pipeline! {
        xs = from_iter(0..100u32);
        xs -> map(|x: u32| { assert!(x != 50, "boom"); x }) -> write_text(&dest, |x: &u32| *x);
    }
    .run();
    assert!(result.is_err());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "`a/b` is gone too");

    // Two sinks below one new directory: it goes once both are discarded.
    let (x, y) = (dir.path().join("new/x"), dir.path().join("new/y"));
    let result = pipeline! {
        xs = from_iter(0..100u32);
        ys = xs -> map(|x: u32| { assert!(x != 50, "boom"); x });
        ys -> write_text(&x, |x: &u32| *x);
        ys -> write_text(&y, |x: &u32| *x);
    }
    .run();
    assert!(result.is_err());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "`new` is gone too");

    // A directory that was there before stays.
    fs::create_dir(dir.path().join("a")).unwrap();
    let result = pipeline! {
        xs = from_iter(0..100u32);
        xs -> map(|x: u32| { assert!(x != 50, "boom"); x }) -> write_text(&dest, |x: &u32| *x);
    }
    .run();
    assert!(result.is_err());
    assert!(dir.path().join("a").is_dir());
    assert!(!dir.path().join("a/b").exists());
}

#[test]
fn a_destination_that_cannot_be_used_fails_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain.txt");
    fs::write(&file, "a file").unwrap();
    for dest in [file.join("out"), PathBuf::new()] {
        let worked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = worked.clone();
        let err = pipeline! {
            xs = from_iter(0..100u32);
            xs -> map(move |x: u32| { counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed); x })
               -> write_text(&dest, |x: &u32| *x);
        }
        .run()
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.stage().unwrap().op, "write_text", "{err}");
        assert_eq!(worked.load(std::sync::atomic::Ordering::Relaxed), 0, "no work before the error: {err}");
        let expected =
            if dest.as_os_str().is_empty() { "the output path is empty" } else { "is a file, not a directory" };
        assert!(err.message().contains(expected), "{err}");
    }
    assert_eq!(fs::read_to_string(&file).unwrap(), "a file");
}

/// `shards(n)` writes exactly `n` part files whatever the number of workers, each
/// from a fixed set of workers; `prefix` and `suffix` name them as Beam
/// names shards; CSV shards each have one header; gzip shards are whole gzip files.
#[test]
fn a_fixed_number_of_shards_named_as_asked() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    for (n, elements, threads) in [(4, 1000u32, 2), (1, 10, 2), (3, 0, 2), (5, 2, 1), (2, 100_000, 3)] {
        let text = dir.path().join(format!("text-{n}-{elements}"));
        let csv = dir.path().join(format!("csv-{n}-{elements}"));
        let gz = dir.path().join(format!("gz-{n}-{elements}"));
        pipeline! {
            xs = from_iter(0..elements);
            xs -> write_text(FileOutput::new(&text).shards(n).prefix("scores").suffix(".csv"), |x: &u32| *x);
            xs -> map(|x: u32| (x, x % 7)) -> write_csv(FileOutput::new(&csv).shards(n));
            xs -> write_text(FileOutput::new(&gz).shards(n).gzip(), |x: &u32| *x);
        }
        .threads(threads)
        .run()
        .unwrap();
        let names = |dest: &Path| {
            let mut names: Vec<String> =
                fs::read_dir(dest).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
            names.sort();
            names
        };
        let expect = |prefix: &str, suffix: &str| -> Vec<String> {
            (0..n).map(|s| format!("{prefix}-{s:05}-of-{n:05}{suffix}")).collect()
        };
        assert_eq!(names(&text), expect("scores", ".csv"), "{n} shards of {elements}");
        assert_eq!(names(&csv), expect("part", ".csv"));
        assert_eq!(names(&gz), expect("part", ".gz"));
        assert_eq!(lines_of(&text), expected_lines(elements));
        // Each shard is written by a fixed set of workers: as even as their shares.
        let sizes: Vec<usize> = fs::read_dir(&text)
            .unwrap()
            .map(|shard| fs::read_to_string(shard.unwrap().path()).unwrap().lines().count())
            .collect();
        assert_eq!(sizes.iter().sum::<usize>(), elements as usize);
        if elements >= 100_000 {
            let mean = elements as usize / n;
            assert!(sizes.iter().all(|&s| s <= 3 * mean), "{sizes:?}");
        }
        let mut rows = Vec::new();
        for shard in fs::read_dir(&csv).unwrap() {
            let content = fs::read_to_string(shard.unwrap().path()).unwrap();
            let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(content.as_bytes());
            let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
            // A tuple has no header: every line is a row.
            rows.extend(records.iter().map(|r| r[0].parse::<u32>().unwrap()));
        }
        rows.sort();
        assert_eq!(rows, (0..elements).collect::<Vec<_>>());
        let mut unzipped = Vec::new();
        for shard in fs::read_dir(&gz).unwrap() {
            let mut text = String::new();
            flate2::read::MultiGzDecoder::new(fs::File::open(shard.unwrap().path()).unwrap())
                .read_to_string(&mut text)
                .unwrap();
            unzipped.extend(text.lines().map(String::from));
        }
        unzipped.sort();
        assert_eq!(unzipped, expected_lines(elements));
    }

    // A struct's CSV shards each start with the one header (or are empty).
    #[derive(serde::Serialize)]
    struct Row {
        id: u32,
    }
    let with_header = dir.path().join("with-header");
    pipeline! {
        xs = from_iter(0..100u32);
        xs -> map(|id: u32| Row { id }) -> write_csv(FileOutput::new(&with_header).shards(3));
    }
    .threads(2)
    .run()
    .unwrap();
    let mut ids = Vec::new();
    for shard in fs::read_dir(&with_header).unwrap() {
        let content = fs::read_to_string(shard.unwrap().path()).unwrap();
        // A shard whose workers had no rows is empty, header and all.
        if content.is_empty() {
            continue;
        }
        assert!(content.starts_with("id\n"), "{content:?}");
        assert_eq!(content.matches("id").count(), 1);
        ids.extend(content.lines().skip(1).map(|l| l.parse::<u32>().unwrap()));
    }
    ids.sort();
    assert_eq!(ids, (0..100).collect::<Vec<_>>());

    // Contradictions are said before anything runs.
    for (output, message) in [
        (FileOutput::new(dir.path().join("zero")).shards(0), "`shards(0)`"),
        (FileOutput::new(dir.path().join("both")).shards(2).single_file(), "contradict"),
        (FileOutput::new(dir.path().join("up")).prefix("../x"), "stay inside the output"),
        (FileOutput::new(dir.path().join("hidden")).prefix(".x").single_file(), "stay inside the output"),
        (FileOutput::new(dir.path().join("down")).suffix("/../y"), "stay inside the output"),
    ] {
        let err = pipeline! {
            xs = from_iter(0..3u32);
            xs -> write_text(output, |x: &u32| *x);
        }
        .run()
        .unwrap_err();
        assert!(err.message().contains(message), "{err}");
    }
}
