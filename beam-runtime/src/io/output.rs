//! Output files, written so that a failed run leaves nothing behind.
//!
//! Every worker writes its own part file into a temporary directory beside the
//! destination. Only when the whole pipeline has succeeded is the directory renamed
//! into place (or, for a single file, the parts concatenated into it); when the run
//! fails it is deleted. An existing destination is an error unless the user asked to
//! overwrite it; that check runs before any work.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crate::context::{Scope, Worker};

use crate::error::{Error, ErrorKind, InputPosition, Result};

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
/// publishing at the end of the run.
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

    /// Checks the destination and creates the temporary directory; registers the
    /// end-of-run action that publishes or deletes it.
    pub fn prepare(&self, scope: &Scope) -> Result<()> {
        let ctx = scope.context();
        let dest = self.output.path.clone();
        ctx.claim_output(&dest)?;
        if dest.exists() && !self.output.overwrite {
            return Err(Error::new(
                ErrorKind::Io,
                "output already exists; remove it, write elsewhere, or ask for `FileOutput::new(..).overwrite()`",
            )
            .at(InputPosition::new(dest, None)));
        }
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let name = dest.file_name().map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
        let temp = unique_temp_dir(&parent, &name)?;
        let _ = self.temp.set(temp.clone());
        let (single, gzip, header_lines) = (self.output.single_file, self.output.gzip, self.header_lines.clone());
        ctx.at_end(move |succeeded| {
            let skip = header_lines.load(Ordering::Relaxed);
            let published = if succeeded { publish(&temp, &dest, single, gzip, skip) } else { Ok(()) };
            // Whatever happened, nothing temporary stays behind.
            if temp.exists() {
                let _ = fs::remove_dir_all(&temp);
            }
            published
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

    /// Flushes a worker's part; an error (with its file) fails the run. Its size is
    /// charged to the sink's stage, the stage of `scope`.
    pub fn finish(&self, part: PartFile<Writer>, scope: &Scope) -> Result<()> {
        let PartFile { path, out } = part;
        out.and_then(Writer::finish).map_err(|e| Error::io(&path, e))?;
        scope.add_bytes_written(fs::metadata(&path).map(|m| m.len()).unwrap_or(0));
        Ok(())
    }
}

fn unique_temp_dir(parent: &Path, name: &str) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = parent.join(format!(".{name}.beam-tmp-{}-{n}", std::process::id()));
        match fs::create_dir(&temp) {
            Ok(()) => return Ok(temp),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(&temp, e)),
        }
    }
}

/// Moves the finished output into place.
fn publish(temp: &Path, dest: &Path, single_file: bool, gzip: bool, header_lines: usize) -> Result<()> {
    let staged = if single_file {
        let staged = temp.join(".single");
        concatenate(temp, &staged, gzip, header_lines).map_err(|e| Error::io(&staged, e))?;
        staged
    } else {
        temp.to_owned()
    };
    if dest.is_dir() {
        fs::remove_dir_all(dest).map_err(|e| Error::io(dest, e))?;
    } else if dest.exists() {
        fs::remove_file(dest).map_err(|e| Error::io(dest, e))?;
    }
    fs::rename(&staged, dest).map_err(|e| Error::io(dest, e))
}

/// Concatenates the part files of `dir` in order into `to`, keeping the header
/// lines of the first non-empty part only.
fn concatenate(dir: &Path, to: &Path, gzip: bool, header_lines: usize) -> io::Result<()> {
    let mut parts: Vec<PathBuf> = fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<io::Result<_>>()?;
    parts.retain(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("part-")));
    parts.sort();
    let file = BufWriter::with_capacity(1 << 16, File::create(to)?);
    let mut out = if gzip {
        Writer::Gzip(flate2::write::GzEncoder::new(file, flate2::Compression::default()))
    } else {
        Writer::Plain(file)
    };
    let mut header_written = false;
    for part in parts {
        let mut reader = BufReader::with_capacity(1 << 16, File::open(&part)?);
        if header_lines > 0 {
            let mut header = Vec::new();
            for _ in 0..header_lines {
                reader.read_until(b'\n', &mut header)?;
            }
            if !header_written && !header.is_empty() {
                out.write_all(&header)?;
                header_written = true;
            }
        }
        io::copy(&mut reader, &mut out)?;
    }
    out.finish()
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
    fn finish(self) -> io::Result<()> {
        match self {
            Writer::Plain(mut out) => out.flush(),
            Writer::Gzip(out) => out.finish()?.flush(),
        }
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
