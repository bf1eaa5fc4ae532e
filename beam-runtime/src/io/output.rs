//! Output files, written so that a failed run leaves nothing behind.
//!
//! Every worker writes its own part file into a temporary directory beside the
//! destination. Only when the whole pipeline has succeeded is the output published
//! (see [`publish`](super::publish)); when the run fails it is deleted. An existing
//! destination is an error unless the user asked to overwrite it; that check runs
//! before any work, and again, atomically, when the output is published.

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
}

impl FileOutput {
    /// Writes to `path`: a directory of part files, or a file with
    /// [`single_file`](Self::single_file).
    pub fn new(path: impl AsRef<Path>) -> Self {
        FileOutput { path: path.as_ref().to_owned(), single_file: false, gzip: false, overwrite: false }
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
}

impl OutputFiles {
    pub fn new(output: FileOutput, extension: &'static str) -> Self {
        OutputFiles { output, extension, header_lines: Arc::new(AtomicUsize::new(0)), temp: OnceLock::new() }
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
            gzip: self.output.gzip,
            header_lines: self.header_lines.clone(),
            overwrite: self.output.overwrite,
            created_dirs,
        });
        Ok(())
    }

    /// A worker's part file. An error opening it is kept and reported by `finish`.
    pub fn part(&self, worker: Worker) -> PartFile<Writer> {
        let temp = self.temp.get().cloned().unwrap_or_default();
        // Parts of a single file are concatenated (and compressed) at the end.
        let gzip = self.output.gzip && !self.output.single_file;
        let name = format!(
            "part-{:05}-of-{:05}{}{}",
            worker.index,
            worker.count,
            self.extension,
            if gzip { ".gz" } else { "" }
        );
        let path = temp.join(name);
        let out = File::create(&path).map(|file| {
            let file = BufWriter::with_capacity(1 << 16, file);
            if gzip {
                Writer::Gzip(flate2::write::GzEncoder::new(file, flate2::Compression::default()))
            } else {
                Writer::Plain(file)
            }
        });
        PartFile { path, out }
    }

    /// Flushes and syncs a worker's part; an error fails the run. Its size is
    /// charged to the sink's stage, the stage of `scope`.
    pub fn finish(&self, part: PartFile<Writer>, scope: &Scope) -> Result<()> {
        let PartFile { path, out } = part;
        // Named by the destination: the temporary path means nothing to the user.
        out.and_then(Writer::finish).map_err(|e| Error::io(&self.output.path, e))?;
        scope.add_bytes_written(fs::metadata(&path).map(|m| m.len()).unwrap_or(0));
        Ok(())
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
