//! Input files: expanding a path, glob or directory into files, cutting them into
//! byte ranges that workers read in parallel, and reading the lines of one range.
//!
//! A line belongs to the range its first byte is in. A reader of a range that does
//! not start at 0 first skips to just past the first `\n` at or after `start - 1`
//! (the line before belongs to the previous range), then reads every line that
//! starts before `end`, the last one past `end` if it must. So every line is read
//! exactly once, wherever the cuts fall.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, InputPosition, Result};
use crate::io::newlines::Newlines;

/// How a file is compressed, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Compression::Gzip,
            Some("zst") => Compression::Zstd,
            _ => Compression::None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub len: u64,
    pub compression: Compression,
}

/// The files a path names: the file itself, every file of a directory (not
/// recursing, skipping hidden files), or every file a glob pattern matches; sorted.
/// No file at all is an error: a typo should not look like an empty input.
pub fn expand(pattern: &Path) -> Result<Vec<InputFile>> {
    let text = pattern.to_string_lossy();
    // A path that exists is read as it is, even if it has glob characters.
    let mut paths: Vec<PathBuf> = if text.contains(['*', '?', '[']) && !pattern.exists() {
        let matches = glob::glob(&text)
            .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("invalid glob pattern `{text}`: {e}")))?;
        let mut paths = Vec::new();
        for entry in matches {
            let path = entry.map_err(|e| {
                let path = e.path().to_owned();
                Error::io(path, e.into())
            })?;
            if path.is_file() {
                paths.push(path);
            }
        }
        paths
    } else if pattern.is_dir() {
        let entries = std::fs::read_dir(pattern).map_err(|e| Error::io(pattern, e))?;
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(pattern, e))?;
            let hidden = entry.file_name().to_string_lossy().starts_with(['.', '_']);
            if !hidden && entry.path().is_file() {
                paths.push(entry.path());
            }
        }
        paths
    } else {
        std::fs::metadata(pattern).map_err(|e| Error::io(pattern, e))?;
        vec![pattern.to_owned()]
    };
    if paths.is_empty() {
        return Err(Error::new(ErrorKind::Io, format!("no input file matches `{text}`"))
            .at(InputPosition::new(pattern.to_owned(), None)));
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let len = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?.len();
            let compression = Compression::of(&path);
            Ok(InputFile { path, len, compression })
        })
        .collect()
}

/// A byte range of one file that one worker reads.
#[derive(Debug, Clone, Copy)]
pub struct Split {
    pub file: usize,
    pub start: u64,
    pub end: u64,
}

/// Cuts files into ranges of about `target` bytes. Compressed files cannot be cut
/// and are one range each; so are files read whole on request (`whole_files`).
pub fn split(files: &[InputFile], target: u64, whole_files: bool) -> Vec<Split> {
    let mut splits = Vec::new();
    for (i, file) in files.iter().enumerate() {
        if whole_files || file.compression != Compression::None || file.len <= target {
            splits.push(Split { file: i, start: 0, end: u64::MAX });
            continue;
        }
        let mut start = 0;
        while start < file.len {
            let end = (start + target).min(file.len);
            splits.push(Split { file: i, start, end });
            start = end;
        }
    }
    splits
}

/// The size of ranges for `total` bytes on `threads` workers: many ranges per
/// worker, because the run ends when the last range does (with 4 per worker, a
/// worker was seen alone for the last tenth of a run), but large enough that
/// opening one and skipping to a line start is noise.
pub fn split_size(total: u64, threads: usize) -> u64 {
    (total / (threads as u64 * 16).max(1)).clamp(1 << 20, 64 << 20)
}

/// The size of ranges to cut `total` bytes of input into, unless the user chose
/// one: for this process's threads, or, when a group of processes shares the
/// input, the same in every process (each cuts the same list of ranges and reads
/// its share of it), as for four threads each.
pub fn default_split_size(total: u64, share: crate::runner::Share) -> u64 {
    if share.count > 1 { split_size(total, 4 * share.count) } else { split_size(total, rayon::current_num_threads()) }
}

/// Reads the lines of one split.
pub struct LineReader {
    reader: Box<dyn BufRead + Send>,
    path: PathBuf,
    /// The file's index in its input's list.
    file: usize,
    compression: Compression,
    /// The file's length when the run listed it (uncompressed files): reaching its
    /// end before that means it shrank while being read.
    listed_len: Option<u64>,
    /// Offset in the file of the next unread byte (uncompressed files), or bytes
    /// decompressed so far.
    pos: u64,
    /// The split's range: a line read past it (or skipped before it) is another
    /// split's bytes, not counted as read here.
    start: u64,
    end: u64,
    /// The line number of the next line, where it is known (the range starts at the
    /// beginning of its file); otherwise found by counting, on error only.
    next_line: Option<u64>,
    max_line_bytes: usize,
    /// Bytes read and not yet reported by `take_bytes_read`.
    bytes_read: u64,
}

/// One line as read: where it starts, for error messages.
pub struct LineStart {
    pub offset: u64,
    pub line: Option<u64>,
}

impl LineReader {
    pub fn open(file: &InputFile, split: Split, max_line_bytes: usize) -> Result<Self> {
        // A range that does not start the file is read from the byte before it.
        let reader = open_bytes(&file.path, file.compression, split.start.saturating_sub(1))?;
        let mut lines = LineReader {
            reader,
            path: file.path.clone(),
            file: split.file,
            compression: file.compression,
            listed_len: (file.compression == Compression::None).then_some(file.len),
            pos: split.start,
            start: split.start,
            end: split.end,
            next_line: (split.start == 0).then_some(1),
            max_line_bytes,
            bytes_read: 0,
        };
        if split.start > 0 {
            // We are at `start - 1`: skip through the first newline from there.
            lines.pos = split.start - 1;
            lines.skip_line()?;
        }
        Ok(lines)
    }

    /// Reads the next line that starts in this split into `line`, without its `\n`
    /// or `\r\n`. `None` when the split has no more lines.
    pub fn next(&mut self, line: &mut Vec<u8>) -> Result<Option<LineStart>> {
        line.clear();
        self.append_next(line)
    }

    /// Appends the split's next lines to `block`, each with its line end: every
    /// line that ends in the reader's buffer, up to `max_lines` in `lines`, and at
    /// least one if the split has one left. Each line's range in `block` (without
    /// its `\n` or `\r\n`) goes to `lines`, where it starts in the file to
    /// `starts`. `false` when the split has no more lines.
    ///
    /// The lines in the buffer are found in one pass and copied in one piece, not
    /// a line at a time with four calls each; a line with anything to handle (a
    /// byte order mark, the buffer's end, the length limit, the file's end without
    /// a `\n`) is read by [`append_next`](Self::append_next).
    pub fn append_lines(
        &mut self,
        block: &mut Vec<u8>,
        lines: &mut Vec<(usize, usize)>,
        starts: &mut Vec<LineStart>,
        max_lines: usize,
    ) -> Result<bool> {
        if self.pos >= self.end {
            return Ok(false);
        }
        if self.pos > 0 {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) => return Err(self.read_error(self.pos, e)),
            };
            let base = block.len();
            let mut taken = 0;
            let mut newlines = Newlines::default();
            while let Some(newline) = newlines.next(available, taken) {
                let offset = self.pos + taken as u64;
                if offset >= self.end || lines.len() == max_lines || newline - taken > self.max_line_bytes {
                    break;
                }
                let end = if newline > taken && available[newline - 1] == b'\r' { newline - 1 } else { newline };
                lines.push((base + taken, base + end));
                starts.push(LineStart { offset, line: self.next_line });
                self.next_line = self.next_line.map(|n| n + 1);
                taken = newline + 1;
            }
            if taken > 0 {
                block.extend_from_slice(&available[..taken]);
                self.consume(taken);
                return Ok(true);
            }
        }
        let base = block.len();
        let Some(start) = self.append_next(block)? else { return Ok(false) };
        lines.push((base, block.len()));
        block.push(b'\n');
        starts.push(start);
        Ok(true)
    }

    /// Appends whole lines of the split to `block` as they are in the file, each
    /// with its line end: all that end in the reader's buffer, or at least one.
    /// Gives where the first starts and how many there are; `None` at the split's
    /// end. Nothing looks for each line's end: for a reader of words, which never
    /// span lines, such a block is as good as its lines. A line with anything to
    /// handle (a byte order mark, the buffer's end, the file's end without a `\n`,
    /// a length limit below the buffer's size) is read by
    /// [`append_next`](Self::append_next), and given a `\n`.
    pub fn append_line_block(&mut self, block: &mut Vec<u8>) -> Result<Option<(LineStart, u64)>> {
        if self.pos >= self.end {
            return Ok(None);
        }
        if self.pos > 0 {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) => return Err(self.read_error(self.pos, e)),
            };
            // The lines that end before the split's end (the one running past it,
            // the split's last, is read by `append_next`).
            let ours = usize::try_from(self.end - self.pos).map_or(available.len(), |n| n.min(available.len()));
            let cut = memchr::memrchr(b'\n', &available[..ours]).map_or(0, |i| i + 1);
            if cut > 0 && available.len() <= self.max_line_bytes {
                let lines = newlines_in(&available[..cut]);
                let start = LineStart { offset: self.pos, line: self.next_line };
                block.extend_from_slice(&available[..cut]);
                self.consume(cut);
                self.next_line = self.next_line.map(|n| n + lines);
                return Ok(Some((start, lines)));
            }
        }
        let Some(start) = self.append_next(block)? else { return Ok(None) };
        block.push(b'\n');
        Ok(Some((start, 1)))
    }

    /// Like [`next`](Self::next), but appends the line to what `block` holds (a
    /// chunk's lines, read into one buffer).
    pub fn append_next(&mut self, block: &mut Vec<u8>) -> Result<Option<LineStart>> {
        let base = block.len();
        if self.pos >= self.end {
            return Ok(None);
        }
        let start = LineStart { offset: self.pos, line: self.next_line };
        let mut saw_any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) => return Err(self.read_error(start.offset, e)),
            };
            if available.is_empty() {
                self.check_whole()?;
                if !saw_any {
                    return Ok(None);
                }
                break;
            }
            saw_any = true;
            let (taken, done) = match memchr::memchr(b'\n', available) {
                Some(i) => {
                    block.extend_from_slice(&available[..i]);
                    (i + 1, true)
                }
                None => {
                    block.extend_from_slice(available);
                    (available.len(), false)
                }
            };
            self.consume(taken);
            if block.len() - base > self.max_line_bytes {
                let line_number = self.line_of(&start);
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("line is longer than the limit of {} bytes", self.max_line_bytes),
                )
                .at(InputPosition::new(self.path.clone(), Some(line_number))));
            }
            if done {
                break;
            }
        }
        if block.len() > base && block.last() == Some(&b'\r') {
            block.pop();
        }
        // A UTF-8 byte order mark is not part of the first line.
        if start.offset == 0 && block[base..].starts_with(b"\xEF\xBB\xBF") {
            block.drain(base..base + 3);
        }
        self.next_line = self.next_line.map(|n| n + 1);
        Ok(Some(start))
    }

    fn skip_line(&mut self) -> Result<()> {
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) => return Err(self.read_error(self.pos, e)),
            };
            if available.is_empty() {
                return self.check_whole();
            }
            let (taken, done) = match memchr::memchr(b'\n', available) {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            self.consume(taken);
            if done {
                return Ok(());
            }
        }
    }

    /// Moves past `taken` bytes of the buffer. Only those inside the split's range
    /// count as read: a long line that several splits skip through is read once.
    fn consume(&mut self, taken: usize) {
        self.reader.consume(taken);
        let (from, to) = (self.pos, self.pos + taken as u64);
        self.pos = to;
        self.bytes_read += to.min(self.end).saturating_sub(from.max(self.start));
    }

    /// At the end of the file: an error if it is shorter than when the run listed
    /// it (it was truncated while being read, and lines are missing).
    fn check_whole(&self) -> Result<()> {
        match self.listed_len {
            Some(listed) if self.pos < listed => Err(Error::new(
                ErrorKind::Io,
                format!("the file shrank while it was being read: it had {listed} bytes, now it ends at {}", self.pos),
            )
            .at(InputPosition::new(self.path.clone(), None))),
            _ => Ok(()),
        }
    }

    /// An error reading at `offset`: the file system's (an I/O error), or, from a
    /// decompressor, corrupt or truncated data (bad input, not worth a retry).
    fn read_error(&self, offset: u64, e: std::io::Error) -> Error {
        if self.compression == Compression::None || is_os_error(&e) {
            return error_at(&self.path, offset, e);
        }
        let format = if self.compression == Compression::Gzip { "gzip" } else { "zstd" };
        Error::new(ErrorKind::InvalidInput, format!("corrupt or truncated {format} data: {e}"))
            .at(InputPosition::new(self.path.clone(), None))
            .with_source(e)
    }

    /// The 1-based line number of the line starting at `offset`, counted on error
    /// only (decompressing again for a compressed file).
    fn line_at(&self, offset: u64) -> Option<u64> {
        let bytes = open_bytes(&self.path, self.compression, 0).ok()?;
        count_newlines(bytes.take(offset)).ok().map(|n| n + 1)
    }

    /// The 1-based line number of a line read from this split.
    pub fn line_of(&self, start: &LineStart) -> u64 {
        start.line.unwrap_or_else(|| count_lines_before(&self.path, start.offset).unwrap_or(0) + 1)
    }

    pub fn position(&self, start: &LineStart) -> InputPosition {
        InputPosition::new(self.path.clone(), Some(self.line_of(start)))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The index of its file in the input's list of files.
    pub fn file(&self) -> usize {
        self.file
    }

    /// Bytes read since the last call (decompressed bytes for compressed files).
    pub fn take_bytes_read(&mut self) -> u64 {
        std::mem::take(&mut self.bytes_read)
    }
}

/// The (decompressed) bytes of `path`, from offset `from` of an uncompressed file.
fn open_bytes(path: &Path, compression: Compression, from: u64) -> Result<Box<dyn BufRead + Send>> {
    let mut raw = File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(match compression {
        Compression::None => {
            if from > 0 {
                raw.seek(SeekFrom::Start(from)).map_err(|e| Error::io(path, e))?;
            }
            Box::new(BufReader::with_capacity(1 << 18, raw))
        }
        Compression::Gzip => {
            Box::new(BufReader::with_capacity(1 << 18, flate2::read::MultiGzDecoder::new(BufReader::new(raw))))
        }
        Compression::Zstd => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(BufReader::new(raw)).map_err(|e| {
                Error::new(ErrorKind::InvalidInput, format!("not a zstd file: {e}"))
                    .at(InputPosition::new(path.to_owned(), None))
            })?;
            Box::new(BufReader::with_capacity(1 << 18, decoder))
        }
    })
}

/// Whether the operating system failed, rather than the data being bad, however
/// deep a decompressor wrapped its error (zstd wraps them in `io::Error::other`).
fn is_os_error(e: &std::io::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = cause {
        let io = error.downcast_ref::<std::io::Error>();
        if io.is_some_and(|io| io.raw_os_error().is_some()) {
            return true;
        }
        // An `io::Error`'s `source` skips the error it wraps; `get_ref` is that one.
        cause = match io.and_then(std::io::Error::get_ref) {
            Some(inner) => Some(inner),
            None => error.source(),
        };
    }
    false
}

/// A read error at `offset` of `path`, with the line it happened on.
fn error_at(path: &Path, offset: u64, e: std::io::Error) -> Error {
    let line = count_lines_before(path, offset).ok().map(|n| n + 1);
    Error::io(path, e).at(InputPosition::new(path, line))
}

/// How many `\n` the file has before `offset`: the line number of a range's line,
/// found only when an error needs it.
fn count_lines_before(path: &Path, offset: u64) -> std::io::Result<u64> {
    count_newlines(BufReader::with_capacity(1 << 20, File::open(path)?).take(offset))
}

/// How many `\n`s `bytes` holds, counted 255 bytes at a time into a byte, which
/// the compiler turns into wide compares and adds (`filter(..).count()` became a
/// loop over single bytes: a sixth of a file word count's instructions).
fn newlines_in(bytes: &[u8]) -> u64 {
    bytes.chunks(255).map(|piece| u64::from(piece.iter().map(|&b| u8::from(b == b'\n')).sum::<u8>())).sum()
}

fn count_newlines(mut reader: impl BufRead) -> std::io::Result<u64> {
    let mut count = 0u64;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(count);
        }
        count += memchr::memchr_iter(b'\n', buf).count() as u64;
        let len = buf.len();
        reader.consume(len);
    }
}

/// The bytes of a split's lines as a `Read`: what a parser that needs a byte stream
/// (CSV) reads from a split. It hands out the underlying buffer in bulk, up to the
/// split's end and then through the end of the line that straddles it. Remembers
/// where the split's first line starts, to number lines in errors.
pub struct SplitBytes {
    lines: LineReader,
    first: LineStart,
    at_line_start: bool,
    /// Bytes since the last line break, held to the line length limit.
    line_len: usize,
}

impl SplitBytes {
    pub fn new(lines: LineReader) -> Self {
        let first = LineStart { offset: lines.pos, line: lines.next_line };
        SplitBytes { lines, first, at_line_start: true, line_len: 0 }
    }

    /// The 1-based file line number of the split's `n`-th line (1-based).
    pub fn file_line(&self, n: u64) -> u64 {
        self.lines.line_of(&self.first) + n.saturating_sub(1)
    }

    /// Bytes read since the last call.
    pub fn take_bytes_read(&mut self) -> u64 {
        self.lines.take_bytes_read()
    }
}

impl Read for SplitBytes {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let lines = &mut self.lines;
        if lines.pos >= lines.end && self.at_line_start {
            return Ok(0);
        }
        let pos = lines.pos;
        let buf = match lines.reader.fill_buf() {
            Ok(buf) => buf,
            // Ours, with file and line, carried through the parser.
            Err(e) => return Err(std::io::Error::other(lines.read_error(pos, e))),
        };
        if buf.is_empty() {
            lines.check_whole().map_err(std::io::Error::other)?;
            return Ok(0);
        }
        let limit = buf.len().min(out.len());
        let n = if lines.pos < lines.end {
            limit.min((lines.end - lines.pos) as usize)
        } else {
            // Past the end: only the rest of the line that straddles it.
            memchr::memchr(b'\n', &buf[..limit]).map_or(limit, |i| i + 1)
        };
        let chunk = &buf[..n];
        // Only when the bytes since the last line break could hold a line over the
        // limit are the chunk's lines measured one by one (never, at the default).
        if self.line_len + n > lines.max_line_bytes {
            let mut line_start = lines.pos - self.line_len as u64;
            for end in memchr::memchr_iter(b'\n', chunk).chain(std::iter::once(n)) {
                let end = lines.pos + end as u64;
                if end - line_start > lines.max_line_bytes as u64 {
                    let error = Error::new(
                        ErrorKind::InvalidInput,
                        format!("line is longer than the limit of {} bytes", lines.max_line_bytes),
                    )
                    .at(InputPosition::new(lines.path.clone(), lines.line_at(line_start)));
                    return Err(std::io::Error::other(error));
                }
                line_start = end + 1;
            }
        }
        self.line_len = match memchr::memrchr(b'\n', chunk) {
            Some(i) => n - i - 1,
            None => self.line_len + n,
        };
        out[..n].copy_from_slice(chunk);
        lines.consume(n);
        self.at_line_start = out[n - 1] == b'\n';
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    /// A decompressor's error carrying the read error that stopped it.
    #[derive(Debug)]
    struct FrameError(io::Error);

    impl std::fmt::Display for FrameError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "frame could not be read")
        }
    }

    impl std::error::Error for FrameError {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn an_os_error_wrapped_by_a_decompressor_is_not_taken_for_corrupt_data() {
        const EIO: i32 = 5;
        assert!(is_os_error(&io::Error::from_raw_os_error(EIO)));
        assert!(is_os_error(&io::Error::other(io::Error::from_raw_os_error(EIO))));
        assert!(is_os_error(&io::Error::other(FrameError(io::Error::from_raw_os_error(EIO)))));
        assert!(!is_os_error(&io::Error::other("bad magic number")));
        assert!(!is_os_error(&io::Error::other(FrameError(io::Error::from(io::ErrorKind::UnexpectedEof)))));
    }
}
