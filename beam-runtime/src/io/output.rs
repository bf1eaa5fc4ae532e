//! Output files, written so that a failed run leaves nothing behind.
//!
//! Every worker writes its own part file into a temporary directory beside the
//! destination. Only when the whole pipeline has succeeded is the output published
//! (see [`publish`](super::publish)); when the run fails it is deleted. An existing
//! destination is an error unless the user asked to overwrite it; that check runs
//! before any work, and again, atomically, when the output is published.

use crate::runner::Share;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::context::{Scope, Worker};

use crate::error::{Error, ErrorKind, InputPosition, Result};
use crate::io::publish::{self, Publication};

/// Where and how a sink writes: by default a directory of part files, one per worker
/// (`part-00000-of-00002`, as Beam names shards), written atomically.
///
/// A path converts into a `FileOutput` with the defaults, so `write_jsonl("out")`
/// and `write_jsonl(FileOutput::new("out.jsonl.gz").single_file().gzip())` both work.
///
/// ```
/// use beam::prelude::*;
/// # let dir = tempfile::tempdir().unwrap();
/// let out = dir.path().join("squares.txt");
/// pipeline! {
///     xs = from_iter(1..=3u32);
///     xs -> write_text(FileOutput::new(&out).single_file(), |x: &u32| x * x);
/// }
/// .run()?;
/// let mut lines: Vec<String> = std::fs::read_to_string(&out)?.lines().map(String::from).collect();
/// lines.sort();
/// assert_eq!(lines, ["1", "4", "9"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileOutput {
    path: PathBuf,
    single_file: bool,
    gzip: bool,
    overwrite: bool,
    shards: Option<usize>,
    prefix: String,
    suffix: Option<String>,
}

impl FileOutput {
    /// Writes to `path`: a directory of part files, or a file with
    /// [`single_file`](Self::single_file).
    pub fn new(path: impl AsRef<Path>) -> Self {
        FileOutput {
            path: path.as_ref().to_owned(),
            single_file: false,
            gzip: false,
            overwrite: false,
            shards: None,
            prefix: "part".to_owned(),
            suffix: None,
        }
    }

    /// Writes exactly `n` part files (Beam's `withNumShards`), however many
    /// workers there are: each shard is written by a fixed set of workers, a
    /// worker dealing its elements out among its shards in turn, so the shards
    /// are as even as the workers' shares of the input and no more than
    /// `max(n, workers)` files are open at once. By default each worker writes one.
    ///
    /// ```
    /// use beam::prelude::*;
    /// # let dir = tempfile::tempdir().unwrap();
    /// let out = dir.path().join("tfidf");
    /// pipeline! {
    ///     xs = from_iter(1..=10u32);
    ///     xs -> write_text(FileOutput::new(&out).shards(4).prefix("scores").suffix(".csv"), |x: &u32| x * 10);
    /// }
    /// .run()?;
    /// let mut names: Vec<String> =
    ///     std::fs::read_dir(&out)?.map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    /// names.sort();
    /// assert_eq!(names, ["scores-00000-of-00004.csv", "scores-00001-of-00004.csv",
    ///                    "scores-00002-of-00004.csv", "scores-00003-of-00004.csv"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shards(mut self, n: usize) -> Self {
        self.shards = Some(n);
        self
    }

    /// Names the part files `prefix-00000-of-00004` (Beam's shard names) instead
    /// of `part-00000-of-00004`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Ends each part file's name with `suffix` (`.csv`, say) instead of the
    /// format's own (`.jsonl` for JSON Lines, `.csv` for CSV, none for text).
    pub fn suffix(mut self, suffix: impl Into<String>) -> Self {
        self.suffix = Some(suffix.into());
        self
    }

    /// Writes one file at `path` instead of a directory of parts.
    pub fn single_file(mut self) -> Self {
        self.single_file = true;
        self
    }

    /// Compresses the output with gzip (part files get a `.gz` extension).
    pub fn gzip(mut self) -> Self {
        self.gzip = true;
        self
    }

    /// Replaces an existing output instead of failing the run.
    pub fn overwrite(mut self) -> Self {
        self.overwrite = true;
        self
    }
}

macro_rules! file_output_from {
    ($($t:ty),*) => {$(
        impl From<$t> for FileOutput {
            fn from(path: $t) -> Self {
                FileOutput::new(path)
            }
        }
    )*};
}
file_output_from!(&str, String, &String, &Path, PathBuf, &PathBuf);

/// The shared machinery of file sinks: the temporary directory, part files, and
/// handing the finished output to the run to publish (see [`publish`](super::publish)).
pub struct OutputFiles {
    output: FileOutput,
    extension: &'static str,
    /// For formats with a header line (CSV): a single file keeps only the first.
    /// Known only once the parts are written (a CSV of tuples has no header).
    header_lines: Arc<AtomicUsize>,
    temp: OnceLock<PathBuf>,
    /// This process's share of the run: with several processes, part names say
    /// which process wrote them.
    share: OnceLock<Share>,
}

impl OutputFiles {
    pub fn new(output: FileOutput, extension: &'static str) -> Self {
        OutputFiles {
            output,
            extension,
            header_lines: Arc::new(AtomicUsize::new(0)),
            temp: OnceLock::new(),
            share: OnceLock::new(),
        }
    }

    /// How many header lines each non-empty part starts with.
    pub fn set_header_lines(&self, lines: usize) {
        self.header_lines.store(lines, Ordering::Relaxed);
    }

    /// Checks the destination and creates the temporary directory, before any work;
    /// registers the output with the run, which publishes it when the whole run has
    /// succeeded and removes it otherwise.
    pub fn prepare(&self, scope: &Scope) -> Result<()> {
        let ctx = scope.context();
        let stage = *ctx.stage(scope.stage().get());
        let dest = self.output.path.clone();
        let at_dest = |e: Error| e.at(InputPosition::new(&dest, None));
        if dest.as_os_str().is_empty() {
            return Err(Error::new(ErrorKind::InvalidInput, "the output path is empty"));
        }
        // Part names stay inside the output: no separators, no `..`, and a
        // prefix does not start with `.` (hidden names are the run's own pieces).
        let escapes = |name: &str| name.contains(['/', '\\']) || name.contains("..");
        let suffix = self.output.suffix.as_deref().unwrap_or("");
        if escapes(&self.output.prefix)
            || escapes(suffix)
            || self.output.prefix.is_empty()
            || self.output.prefix.starts_with('.')
        {
            let message = format!(
                "part names must stay inside the output: prefix `{}` and suffix `{suffix}` may not contain `/`, `\\` or `..`, and the prefix may not be empty or start with `.`",
                self.output.prefix
            );
            return Err(at_dest(Error::new(ErrorKind::InvalidInput, message)));
        }
        match self.output.shards {
            Some(0) => {
                return Err(at_dest(Error::new(ErrorKind::InvalidInput, "`shards(0)`: an output needs a shard")));
            }
            Some(_) if self.output.single_file => {
                let message = "`single_file()` and `shards(n)` contradict each other: one file, or `n`";
                return Err(at_dest(Error::new(ErrorKind::InvalidInput, message)));
            }
            _ => {}
        }
        let share = ctx.share();
        if share.count > 1 && (self.output.single_file || self.output.shards.is_some()) {
            let message =
                "`single_file()` and `shards(n)` cannot be written by several processes yet: write part files";
            return Err(at_dest(Error::new(ErrorKind::Runner, message)));
        }
        let _ = self.share.set(share);
        ctx.claim_output(&dest)?;
        let (parent, name) = publish::parent_and_name(&dest);
        let created_dirs = create_parents(&parent).map_err(at_dest)?;
        publish::clean_up_after_killed_runs(&parent, &name, &dest);
        if fs::symlink_metadata(&dest).is_ok() && !self.output.overwrite {
            return Err(publish::output_exists(&dest, "output already exists."));
        }
        let temp = match publish::TempDir::create(&parent, &name) {
            Ok(temp) => temp,
            Err(e) => {
                publish::remove_created(created_dirs);
                return Err(at_dest(Error::io(&dest, e)));
            }
        };
        let _ = self.temp.set(temp.path.clone());
        ctx.publish_at_end(Publication {
            stage,
            dest,
            temp,
            single_file: self.output.single_file,
            shards: self.output.shards.map(|n| (n, self.shard_name_stem())),
            gzip: self.output.gzip,
            header_lines: self.header_lines.clone(),
            overwrite: self.output.overwrite,
            created_dirs,
        });
        Ok(())
    }

    /// A worker's part files: its own, or with `shards(n)` a piece of each shard,
    /// joined into the shards when the output is published. An error opening one
    /// is kept and reported by `finish`.
    pub fn parts(&self, worker: Worker) -> Parts<Writer> {
        let temp = self.temp.get().cloned().unwrap_or_default();
        // Parts of a single file, and pieces of shards, are concatenated (and
        // compressed) at the end.
        let joined = self.output.single_file || self.output.shards.is_some();
        let gzip = self.output.gzip && !joined;
        let files: Vec<PathBuf> = match self.output.shards {
            Some(n) => shards_of(worker, n)
                .map(|shard| temp.join(shard_piece(&self.shard_name_stem(), shard, n, worker.index)))
                .collect(),
            None => {
                let (index, count) = (worker.index, worker.count);
                let process = match self.share.get() {
                    Some(share) if share.count > 1 => format!("p{:05}-", share.index),
                    _ => String::new(),
                };
                let name = format!("{}-{process}{index:05}-of-{count:05}{}", self.output.prefix, self.suffix(gzip));
                vec![temp.join(name)]
            }
        };
        let files = files.into_iter().map(|path| {
            let out = File::create(&path).map(|file| {
                let file = BufWriter::with_capacity(1 << 16, file);
                if gzip {
                    Writer::Gzip(flate2::write::GzEncoder::new(file, flate2::Compression::default()))
                } else {
                    Writer::Plain(file)
                }
            });
            PartFile { path, out }
        });
        Parts { files: files.collect(), next: 0 }
    }

    /// The name of the `s`-th of `n` shards up to its shard number: the prefix;
    /// `"{stem}-{s:05}-of-{n:05}{suffix}"` is the shard's name.
    fn shard_name_stem(&self) -> (String, String) {
        (self.output.prefix.clone(), self.suffix(self.output.gzip))
    }

    fn suffix(&self, gzip: bool) -> String {
        let suffix = self.output.suffix.as_deref().unwrap_or(self.extension);
        format!("{suffix}{}", if gzip { ".gz" } else { "" })
    }

    /// Flushes and syncs a worker's parts; an error fails the run. Their size is
    /// charged to the sink's stage, the stage of `scope`.
    pub fn finish(&self, parts: Parts<Writer>, scope: &Scope) -> Result<()> {
        for PartFile { path, out } in parts.files {
            // Named by the destination: the temporary path means nothing to the user.
            out.and_then(Writer::finish).map_err(|e| Error::io(&self.output.path, e))?;
            scope.add_bytes_written(fs::metadata(&path).map(|m| m.len()).unwrap_or(0));
        }
        Ok(())
    }
}

/// The shards `worker` writes pieces of, of `n`: with as many shards as workers
/// or more, each shard is one worker's (`s % workers == worker`), and a worker
/// deals its elements out among its shards in turn; with fewer, each worker writes
/// one shard (`worker % n`). So the files open at once are `max(n, workers)`, not
/// `n * workers`, and shards are as even as the workers' shares of the input.
fn shards_of(worker: Worker, n: usize) -> impl Iterator<Item = usize> {
    let workers = worker.count.max(1);
    let first = worker.index % workers.min(n);
    (first..n).step_by(if n >= workers { workers } else { n })
}

/// The name of worker `worker`'s piece of shard `shard` of `n`, whose stem and
/// suffix are `name`: hidden, and joined into the shard at the end.
pub(crate) fn shard_piece((prefix, suffix): &(String, String), shard: usize, n: usize, worker: usize) -> String {
    format!(".{prefix}-{shard:05}-of-{n:05}{suffix}.piece-{worker:05}")
}

/// The name of shard `shard` of `n`.
pub(crate) fn shard_name((prefix, suffix): &(String, String), shard: usize, n: usize) -> String {
    format!("{prefix}-{shard:05}-of-{n:05}{suffix}")
}

/// A worker's part files, elements dealt out among them in turn.
pub struct Parts<W> {
    files: Vec<PartFile<W>>,
    next: usize,
}

impl<W> Parts<W> {
    /// Runs `write` on the next part file, unless an earlier write to it failed.
    #[inline]
    pub fn write_with(&mut self, write: impl FnOnce(&mut W) -> io::Result<()>) {
        if let [only] = self.files.as_mut_slice() {
            return only.write_with(write);
        }
        let at = self.next;
        self.next = if at + 1 == self.files.len() { 0 } else { at + 1 };
        self.files[at].write_with(write);
    }

    /// The same files written through another writer (a CSV writer around each).
    pub fn map<U>(self, mut f: impl FnMut(W) -> io::Result<U>) -> Parts<U> {
        Parts { files: self.files.into_iter().map(|part| part.map(&mut f)).collect(), next: self.next }
    }
}

/// Creates the missing directories of `dir`, returning them outermost first so a
/// failed run can remove them. A file in the way is said in words.
fn create_parents(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(path) = at.filter(|p| !p.as_os_str().is_empty()) {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => break,
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("cannot write below `{}`: it is a file, not a directory", path.display()),
                ));
            }
            Err(_) => missing.push(path.to_owned()),
        }
        at = path.parent();
    }
    missing.reverse();
    let mut created = Vec::new();
    for path in missing {
        match fs::create_dir(&path) {
            Ok(()) => created.push(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
    Ok(created)
}

/// A part file being written through `W`; the first error is kept and reported by
/// `finish`.
pub struct PartFile<W> {
    path: PathBuf,
    out: io::Result<W>,
}

impl<W> PartFile<W> {
    /// Runs `write` on the file unless an earlier write failed.
    #[inline]
    pub fn write_with(&mut self, write: impl FnOnce(&mut W) -> io::Result<()>) {
        if let Ok(out) = &mut self.out
            && let Err(e) = write(out)
        {
            self.out = Err(e);
        }
    }

    /// The same file written through another writer (a CSV writer around it, say).
    pub fn map<U>(self, f: impl FnOnce(W) -> io::Result<U>) -> PartFile<U> {
        PartFile { path: self.path, out: self.out.and_then(f) }
    }
}

/// A plain or gzip-compressed buffered file.
pub enum Writer {
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
}

impl Writer {
    /// Flushes everything to the file and syncs it: a published output is on disk.
    pub(crate) fn finish(self) -> io::Result<()> {
        let mut file = match self {
            Writer::Plain(out) => out,
            Writer::Gzip(out) => out.finish()?,
        };
        file.flush()?;
        file.get_ref().sync_all()
    }
}

impl Write for Writer {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Writer::Plain(out) => out.write(buf),
            Writer::Gzip(out) => out.write(buf),
        }
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Writer::Plain(out) => out.write_all(buf),
            Writer::Gzip(out) => out.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Writer::Plain(out) => out.flush(),
            Writer::Gzip(out) => out.flush(),
        }
    }
}
