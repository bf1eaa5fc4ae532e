//! Text files: `read_text` (lines in, in parallel byte ranges) and `write_text`
//! (one line per element, published atomically).

use crate::runner::Share;
use crate::source::SplitCounter;
use std::fmt::Display;
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::__private::Witness;
use crate::barrier::{EachWorker, Leaf, PerWorker};
use crate::check::FilePath;
use crate::context::{Context, Scope, Worker};
use crate::error::{Error, ErrorKind, Result};
use crate::io::input::{self, InputFile, LineReader, LineStart, Split};
use crate::io::output::{FileOutput, OutputFiles, Parts, Writer};
use crate::lent::LentLine;
use crate::runner::CHUNK;
use crate::source::{Source, SourceCounters};

/// The files of an input and the byte ranges to read them in.
pub(crate) type InputPlan = (Vec<InputFile>, Vec<Split>);

/// What `read_text` reads: a file, a directory (its files) or a glob (`logs/*.txt`),
/// and how. `.gz` and `.zst` files are decompressed (each read whole by one worker;
/// other files are split into byte ranges read in parallel).
///
/// A path converts into a `TextInput` with the defaults, so `read_text("in.txt")`
/// and `read_text(TextInput::new("in.txt").lossy_utf8())` both work.
///
/// ```
/// use beam::prelude::*;
/// # let dir = tempfile::tempdir().unwrap();
/// # std::fs::write(dir.path().join("a.txt"), b"one\ntwo\r\n").unwrap();
/// # std::fs::write(dir.path().join("b.txt"), b"caf\xe9").unwrap();
/// let logs = dir.path().join("*.txt");
/// let out = pipeline! {
///     lines = read_text(TextInput::new(&logs).lossy_utf8().max_line_bytes(1 << 20));
///     all = lines -> collect();
/// }
/// .run()?;
/// let mut all = out.all;
/// all.sort();
/// assert_eq!(all, vec!["caf\u{FFFD}", "one", "two"]);
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TextInput {
    pattern: PathBuf,
    lossy: bool,
    max_line_bytes: usize,
    split_bytes: Option<u64>,
}

impl TextInput {
    /// The default longest line: 64 MiB. A longer one is an error, not an
    /// out-of-memory.
    pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 20;

    /// Reads the file, directory or glob `pattern`.
    pub fn new(pattern: impl AsRef<Path>) -> Self {
        TextInput {
            pattern: pattern.as_ref().to_owned(),
            lossy: false,
            max_line_bytes: Self::DEFAULT_MAX_LINE_BYTES,
            split_bytes: None,
        }
    }

    /// Replaces invalid UTF-8 with `U+FFFD` instead of failing the run.
    pub fn lossy_utf8(mut self) -> Self {
        self.lossy = true;
        self
    }

    /// Fails the run on a line longer than `bytes` (default 64 MiB).
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes;
        self
    }

    /// The files to read and the ranges to read them in.
    pub(crate) fn plan(&self, share: Share) -> Result<InputPlan> {
        let files = input::expand(&self.pattern)?;
        let total = files.iter().map(|f| f.len).sum();
        let size = self.split_bytes.unwrap_or_else(|| input::default_split_size(total, share));
        let splits = input::split(&files, size, false);
        Ok((files, splits))
    }

    /// A line read by `reader` as text: replaced where it is not UTF-8 if the input
    /// is lossy, else an error at its line.
    fn text(&self, reader: &LineReader, start: &LineStart, line: &[u8]) -> Result<String> {
        if self.lossy {
            return Ok(String::from_utf8_lossy(line).into_owned());
        }
        match std::str::from_utf8(line) {
            Ok(text) => Ok(text.to_owned()),
            Err(e) => Err(Error::new(ErrorKind::InvalidInput, "line is not valid UTF-8")
                .at(reader.position(start))
                .with_source(e)),
        }
    }

    /// Opens the next unread range of `plan`, if any is left.
    pub(crate) fn open_next(&self, plan: Option<&InputPlan>, next: &SplitCounter) -> Result<Option<LineReader>> {
        let Some((files, splits)) = plan else { return Ok(None) };
        let Some(&split) = splits.get(next.next()) else { return Ok(None) };
        LineReader::open(&files[split.file], split, self.max_line_bytes).map(Some)
    }

    /// Reads uncompressed files in byte ranges of about `bytes` each (default: a
    /// quarter of the input per thread, between 1 and 64 MiB).
    pub fn split_bytes(mut self, bytes: u64) -> Self {
        self.split_bytes = Some(bytes.max(1));
        self
    }
}

macro_rules! text_input_from {
    ($($t:ty),*) => {$(
        impl From<$t> for TextInput {
            fn from(path: $t) -> Self {
                TextInput::new(path)
            }
        }
    )*};
}
text_input_from!(&str, String, &String, &Path, PathBuf, &PathBuf);

/// The lines of an input's files, handed out split by split to the workers: what
/// every line-based source (text, JSON Lines) reads through.
#[doc(hidden)]
pub struct Lines {
    pub(crate) input: TextInput,
    plan: OnceLock<InputPlan>,
    /// Each file's path, shared by its lines where a source hands them out.
    names: OnceLock<Vec<Arc<Path>>>,
    next_split: SplitCounter,
    bytes_read: AtomicU64,
}

/// A worker's open split and its line buffer.
#[doc(hidden)]
#[derive(Default)]
pub struct LineState {
    reader: Option<LineReader>,
    line: Vec<u8>,
}

impl Lines {
    pub(crate) fn new(input: TextInput) -> Self {
        Lines {
            input,
            plan: OnceLock::new(),
            names: OnceLock::new(),
            next_split: SplitCounter::default(),
            bytes_read: AtomicU64::new(0),
        }
    }

    pub(crate) fn prepare(&self, share: Share) -> Result<()> {
        self.next_split.share(share);
        let plan = self.input.plan(share)?;
        let _ = self.names.set(plan.0.iter().map(|f| Arc::from(f.path.as_path())).collect());
        let _ = self.plan.set(plan);
        Ok(())
    }

    /// The path of the file `reader` reads, shared.
    pub(crate) fn file_of(&self, reader: &LineReader) -> Arc<Path> {
        let names = self.names.get().map(Vec::as_slice).unwrap_or_default();
        match names.get(reader.file()) {
            Some(name) => Arc::clone(name),
            None => Arc::from(reader.path()),
        }
    }

    /// The worker's next line, with the reader it came from (for its position);
    /// `None` when no split is left.
    #[allow(clippy::type_complexity)]
    pub(crate) fn next<'s>(&self, state: &'s mut LineState) -> Result<Option<(&'s LineReader, LineStart, &'s [u8])>> {
        loop {
            let Some(reader) = self.open_reader(&mut state.reader)? else { return Ok(None) };
            match reader.next(&mut state.line)? {
                Some(start) => {
                    let reader = state.reader.as_ref().expect("just read from it");
                    return Ok(Some((reader, start, &state.line)));
                }
                None => self.close_reader(&mut state.reader),
            }
        }
    }

    /// Reads up to `max_lines` lines of one split into `block`, as text, noting where
    /// each ends; `false` when no split is left. The block is checked as UTF-8 once,
    /// not line by line (an invalid line is an error at its line, or replaced if the
    /// input is lossy).
    pub(crate) fn next_block(&self, state: &mut LineState, block: &mut TextBlock, max_lines: usize) -> Result<bool> {
        block.clear();
        loop {
            let Some(reader) = self.open_reader(&mut state.reader)? else { return Ok(false) };
            while block.lines.len() < max_lines
                && reader.append_lines(&mut block.bytes, &mut block.lines, &mut block.starts, max_lines)?
            {}
            let read_any = !block.lines.is_empty();
            if read_any {
                block.check_utf8(&self.input, reader)?;
            }
            if block.lines.len() < max_lines {
                // The split is done: take the next one, unless this chunk has lines.
                self.close_reader(&mut state.reader);
            }
            if read_any {
                return Ok(true);
            }
        }
    }

    /// Reads whole lines of one split into `block`, as they are in the file, about
    /// [`LINE_BLOCK`] bytes of them; `false` when no split is left. The block is
    /// checked as UTF-8 at once (an invalid line is an error at its line, or
    /// replaced if the input is lossy).
    pub(crate) fn next_line_block(&self, state: &mut LineState, block: &mut LineBlock) -> Result<bool> {
        block.clear();
        loop {
            let Some(reader) = self.open_reader(&mut state.reader)? else { return Ok(false) };
            let mut split_done = false;
            while block.bytes.len() < LINE_BLOCK {
                let Some((start, lines)) = reader.append_line_block(&mut block.bytes)? else {
                    split_done = true;
                    break;
                };
                block.pieces.push((block.bytes.len(), start));
                block.lines += lines;
            }
            let read_any = !block.pieces.is_empty();
            if read_any {
                block.check_utf8(&self.input, reader)?;
            }
            if split_done {
                // The split is done: take the next one, unless this chunk has lines.
                self.close_reader(&mut state.reader);
            }
            if read_any {
                return Ok(true);
            }
        }
    }

    /// The worker's open split, or the next unread one; `None` when none is left.
    fn open_reader<'s>(&self, reader: &'s mut Option<LineReader>) -> Result<Option<&'s mut LineReader>> {
        Ok(match reader {
            Some(reader) => Some(reader),
            None => self.input.open_next(self.plan.get(), &self.next_split)?.map(|opened| reader.insert(opened)),
        })
    }

    /// Counts what the worker's finished split read, and closes it.
    fn close_reader(&self, reader: &mut Option<LineReader>) {
        if let Some(mut done) = reader.take() {
            self.bytes_read.fetch_add(done.take_bytes_read(), Ordering::Relaxed);
        }
    }

    /// Counts what the worker's open split has read so far (at the end of a chunk).
    pub(crate) fn count_bytes(&self, state: &mut LineState) {
        if let Some(reader) = &mut state.reader {
            self.bytes_read.fetch_add(reader.take_bytes_read(), Ordering::Relaxed);
        }
    }

    pub(crate) fn counters(&self, bad_records: u64) -> SourceCounters {
        SourceCounters {
            bytes_total: self.plan.get().map_or(0, |(files, _)| files.iter().map(|f| f.len).sum()),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bad_records,
        }
    }
}

/// The `read_text` source: lines of text files as `String`, read in parallel.
#[doc(hidden)]
pub struct ReadText {
    lines: Lines,
}

#[doc(hidden)]
pub fn read_text(input: impl Into<TextInput>) -> (ReadText, Witness<String>) {
    (ReadText { lines: Lines::new(input.into()) }, Witness::new())
}

impl Source for ReadText {
    type Item = String;
    type State = TextChunkState;

    fn prepare(&self, ctx: &Context) -> Result<()> {
        self.lines.prepare(ctx.share())
    }

    /// A chunk's lines are read into one buffer and checked as UTF-8 at once, then
    /// each copied into its `String`.
    fn next_chunk(&self, state: &mut TextChunkState, chunk: &mut Vec<String>) -> Result<bool> {
        if !self.lines.next_block(&mut state.lines, &mut state.block, CHUNK)? {
            return Ok(false);
        }
        state.block.for_each_line(|line| chunk.push(line.to_owned()));
        self.lines.count_bytes(&mut state.lines);
        Ok(true)
    }

    fn counters(&self) -> SourceCounters {
        self.lines.counters(0)
    }
}

/// A worker's chunk of lines, read into one buffer with their line ends:
/// `bytes[lines[i].0..lines[i].1]` is line `i`.
#[doc(hidden)]
#[derive(Default)]
pub struct TextBlock {
    bytes: Vec<u8>,
    lines: Vec<(usize, usize)>,
    /// Where each line starts in its file, for an error at one of them.
    starts: Vec<LineStart>,
}

impl TextBlock {
    fn clear(&mut self) {
        self.bytes.clear();
        self.lines.clear();
        self.starts.clear();
    }

    /// Checks the whole block as UTF-8 at once: each line ends at an ASCII line
    /// end, which no character spans, so each line is then valid too. Where that
    /// fails, the lines are checked one by one: the first invalid one is an error
    /// at its line, or, if the input is lossy, each is replaced where it is invalid.
    fn check_utf8(&mut self, input: &TextInput, reader: &LineReader) -> Result<()> {
        if std::str::from_utf8(&self.bytes).is_ok() {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(self.bytes.len());
        for (i, range) in self.lines.iter_mut().enumerate() {
            let line = &self.bytes[range.0..range.1];
            let start = bytes.len();
            match std::str::from_utf8(line) {
                Ok(text) => bytes.extend_from_slice(text.as_bytes()),
                Err(e) if !input.lossy => {
                    return Err(Error::new(ErrorKind::InvalidInput, "line is not valid UTF-8")
                        .at(reader.position(&self.starts[i]))
                        .with_source(e));
                }
                Err(_) => bytes.extend_from_slice(String::from_utf8_lossy(line).as_bytes()),
            }
            *range = (start, bytes.len());
            bytes.push(b'\n');
        }
        self.bytes = bytes;
        Ok(())
    }

    /// The block's lines, lent to the loop: valid until the block is next filled.
    fn lend_lines(&self, chunk: &mut Vec<LentLine>) {
        self.for_each_line(|line| chunk.push(LentLine::of(line)));
    }

    /// Calls `f` on each of the block's lines, in order.
    #[inline]
    fn for_each_line<'b>(&'b self, mut f: impl FnMut(&'b str)) {
        // SAFETY: `check_utf8` checked (or replaced) every byte.
        let text = unsafe { std::str::from_utf8_unchecked(&self.bytes) };
        for &(start, end) in &self.lines {
            f(&text[start..end]);
        }
    }
}

/// The `read_text` source when every stage reading it takes `&str`: lines lent to
/// the loop as slices of the worker's buffer (see [`crate::lent`]), with no
/// allocation per line.
#[doc(hidden)]
pub struct ReadTextLent {
    lines: Lines,
}

/// A worker's open split and the block its current chunk's lines are in.
#[doc(hidden)]
#[derive(Default)]
pub struct TextChunkState {
    lines: LineState,
    block: TextBlock,
}

#[doc(hidden)]
pub fn read_text_lent(input: impl Into<TextInput>) -> (ReadTextLent, Witness<&'static str>) {
    (ReadTextLent { lines: Lines::new(input.into()) }, Witness::new())
}

impl Source for ReadTextLent {
    type Item = LentLine;
    type State = TextChunkState;

    fn prepare(&self, ctx: &Context) -> Result<()> {
        self.lines.prepare(ctx.share())
    }

    /// The lines lent in `chunk` point into `state`'s block, which stays as it is
    /// until the next call: the loop runs every line of a chunk before it asks for
    /// the next one.
    fn next_chunk(&self, state: &mut TextChunkState, chunk: &mut Vec<LentLine>) -> Result<bool> {
        if !self.lines.next_block(&mut state.lines, &mut state.block, CHUNK)? {
            return Ok(false);
        }
        state.block.lend_lines(chunk);
        self.lines.count_bytes(&mut state.lines);
        Ok(true)
    }

    fn counters(&self) -> SourceCounters {
        self.lines.counters(0)
    }
}

/// How many bytes of whole lines a [`LineBlock`] holds at least.
const LINE_BLOCK: usize = 1 << 18;

/// A worker's chunk of whole lines, for a reader of words: pieces of the file as
/// they are, line ends and all, with no note of where each line ends.
#[doc(hidden)]
#[derive(Default)]
pub struct LineBlock {
    bytes: Vec<u8>,
    /// Each piece: where it ends in `bytes`, and where its first line starts in
    /// its file.
    pieces: Vec<(usize, LineStart)>,
    /// How many lines the pieces hold.
    lines: u64,
}

impl LineBlock {
    fn clear(&mut self) {
        self.bytes.clear();
        self.pieces.clear();
        self.lines = 0;
    }

    /// Checks the whole block as UTF-8 at once. If it is not valid, the first
    /// invalid line is an error at its line, or, if the input is lossy, each piece
    /// is replaced where it is invalid: as each of its lines would be, since no
    /// invalid sequence spans a line end.
    fn check_utf8(&mut self, input: &TextInput, reader: &LineReader) -> Result<()> {
        let Err(e) = std::str::from_utf8(&self.bytes) else { return Ok(()) };
        if input.lossy {
            let (mut bytes, mut begin) = (Vec::with_capacity(self.bytes.len()), 0);
            for (end, _) in &mut self.pieces {
                bytes.extend_from_slice(String::from_utf8_lossy(&self.bytes[begin..*end]).as_bytes());
                begin = *end;
                *end = bytes.len();
            }
            self.bytes = bytes;
            return Ok(());
        }
        let bad = e.valid_up_to();
        let piece = self.pieces.partition_point(|(end, _)| *end <= bad);
        let (begin, start) = match piece {
            0 => (0, &self.pieces[0].1),
            i => (self.pieces[i - 1].0, &self.pieces[i].1),
        };
        // A piece is the file's bytes as they are (or one line), so the bad line's
        // place in it is its place in the file.
        let before = &self.bytes[begin..bad];
        let line_begin = before.iter().rposition(|&b| b == b'\n').map_or(begin, |i| begin + i + 1);
        let mut line_end = bad + self.bytes[bad..].iter().position(|&b| b == b'\n').unwrap_or(self.bytes.len() - bad);
        // The line without its `\r\n`, as the line reader gives it, for the same detail.
        if line_end > bad && self.bytes[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        let newlines = before.iter().filter(|&&b| b == b'\n').count() as u64;
        let line_start =
            LineStart { offset: start.offset + (line_begin - begin) as u64, line: start.line.map(|n| n + newlines) };
        let source = std::str::from_utf8(&self.bytes[line_begin..line_end]).expect_err("the line is invalid");
        Err(Error::new(ErrorKind::InvalidInput, "line is not valid UTF-8")
            .at(reader.position(&line_start))
            .with_source(source))
    }

    /// The block's pieces, lent to the loop as `&str`s: valid until the block is
    /// next filled.
    fn lend_pieces(&self, chunk: &mut Vec<LentLine>) {
        // SAFETY: `check_utf8` checked (or replaced) every byte, and a piece ends
        // at a line end.
        let text = unsafe { std::str::from_utf8_unchecked(&self.bytes) };
        let mut begin = 0;
        for &(end, _) in &self.pieces {
            chunk.push(LentLine::of(&text[begin..end]));
            begin = end;
        }
    }
}

/// The `read_text` source when every reader splits lines on whitespace and does
/// nothing else (`flat_map(beam::text::words)`, or
/// `flat_map(|line: &str| line.split_whitespace())`, run as `words`): words never
/// span lines, so it lends blocks of whole lines, each as one `&str`,
/// and `words` splits a block into the same words as its lines; no line's end is
/// looked for (the hand-written word count never looks for one either). Its
/// metrics count the lines.
#[doc(hidden)]
pub struct ReadTextLineBlocks {
    lines: Lines,
}

/// A worker's open split and the block its current chunk is in.
#[doc(hidden)]
#[derive(Default)]
pub struct LineBlockState {
    lines: LineState,
    block: LineBlock,
}

#[doc(hidden)]
pub fn read_text_line_blocks(input: impl Into<TextInput>) -> (ReadTextLineBlocks, Witness<&'static str>) {
    (ReadTextLineBlocks { lines: Lines::new(input.into()) }, Witness::new())
}

impl Source for ReadTextLineBlocks {
    type Item = LentLine;
    type State = LineBlockState;

    fn prepare(&self, ctx: &Context) -> Result<()> {
        self.lines.prepare(ctx.share())
    }

    fn next_chunk(&self, state: &mut LineBlockState, chunk: &mut Vec<LentLine>) -> Result<bool> {
        if !self.lines.next_line_block(&mut state.lines, &mut state.block)? {
            return Ok(false);
        }
        state.block.lend_pieces(chunk);
        self.lines.count_bytes(&mut state.lines);
        Ok(true)
    }

    fn counters(&self) -> SourceCounters {
        self.lines.counters(0)
    }

    fn elements(&self, state: &LineBlockState, _chunk: &[LentLine]) -> u64 {
        state.block.lines
    }
}

/// The `read_text_with_filename` source: each line with the path of its file, as
/// Beam's `ReadFromTextWithFilename` gives them.
#[doc(hidden)]
pub struct ReadTextWithFilename {
    lines: Lines,
}

#[doc(hidden)]
pub fn read_text_with_filename(input: impl Into<TextInput>) -> (ReadTextWithFilename, Witness<(Arc<Path>, String)>) {
    (ReadTextWithFilename { lines: Lines::new(input.into()) }, Witness::new())
}

impl Source for ReadTextWithFilename {
    type Item = (Arc<Path>, String);
    type State = LineState;

    fn prepare(&self, ctx: &Context) -> Result<()> {
        self.lines.prepare(ctx.share())
    }

    fn next_chunk(&self, state: &mut LineState, chunk: &mut Vec<(Arc<Path>, String)>) -> Result<bool> {
        while chunk.len() < CHUNK {
            let Some((reader, start, line)) = self.lines.next(state)? else { break };
            let text = self.lines.input.text(reader, &start, line)?;
            chunk.push((self.lines.file_of(reader), text));
        }
        self.lines.count_bytes(state);
        Ok(!chunk.is_empty())
    }

    fn counters(&self) -> SourceCounters {
        self.lines.counters(0)
    }
}

/// The `read_all_text` stage: the lines of the files (or directories, or globs)
/// named by the paths it receives, Beam's `ReadAllFromText`: for inputs known only
/// once the pipeline has computed them. Each worker's paths are expanded, cut into
/// byte ranges and read in parallel as `read_text` reads them (decompression, line
/// limit, `file:line` errors), when the paths have all arrived; the lines are
/// then held for the stages after it.
#[doc(hidden)]
pub struct ReadAllText<P> {
    _in: PhantomData<fn(P)>,
}

#[doc(hidden)]
pub fn read_all_text<P: FilePath>(_: Witness<P>) -> impl Leaf<In = P, Out = String> {
    PerWorker(ReadAllText { _in: PhantomData })
}

impl<P: FilePath> EachWorker for ReadAllText<P> {
    type In = P;
    type Local = Vec<PathBuf>;
    type Out = String;

    fn local(&self, _: Worker) -> Vec<PathBuf> {
        Vec::new()
    }

    #[inline]
    fn push(&self, paths: &mut Vec<PathBuf>, path: P) {
        paths.push(path.path().to_owned());
    }

    fn finish(&self, paths: Vec<PathBuf>, scope: &Scope) -> Result<Vec<String>> {
        let mut files = Vec::new();
        for path in &paths {
            files.extend(input::expand(path)?);
        }
        let input = TextInput::new("");
        let total = files.iter().map(|f| f.len).sum();
        let size = input::split_size(total, rayon::current_num_threads());
        let splits = input::split(&files, size, false);
        let parts = scope.par_map(splits, |split| -> Result<(Vec<String>, u64)> {
            let mut reader = LineReader::open(&files[split.file], split, input.max_line_bytes)?;
            let (mut line, mut lines) = (Vec::new(), Vec::new());
            while let Some(start) = reader.next(&mut line)? {
                lines.push(input.text(&reader, &start, &line)?);
            }
            Ok((lines, reader.take_bytes_read()))
        });
        let mut lines = Vec::new();
        for part in parts {
            let (part, bytes) = part?;
            lines.extend(part);
            scope.add_bytes_read(bytes);
        }
        Ok(lines)
    }
}

/// The `write_text` sink: one line `format(&x)` per element.
#[doc(hidden)]
pub struct WriteText<F, T> {
    files: OutputFiles,
    format: F,
    _in: PhantomData<fn(T)>,
}

#[doc(hidden)]
pub fn write_text<T, S, F>(_: Witness<T>, output: impl Into<FileOutput>, format: F) -> impl Leaf<In = T, Out = ()>
where
    F: Fn(&T) -> S + Sync,
    S: Display,
{
    PerWorker(WriteText { files: OutputFiles::new(output.into(), ""), format, _in: PhantomData })
}

impl<T, S: Display, F: Fn(&T) -> S + Sync> EachWorker for WriteText<F, T> {
    type In = T;
    type Local = Parts<Writer>;
    type Out = ();

    fn prepare(&self, scope: &Scope) -> Result<()> {
        self.files.prepare(scope)
    }

    fn local(&self, worker: Worker) -> Parts<Writer> {
        self.files.parts(worker)
    }

    #[inline]
    fn push(&self, part: &mut Parts<Writer>, input: T) {
        part.write_with(|out| writeln!(out, "{}", (self.format)(&input)));
    }

    fn finish(&self, part: Parts<Writer>, scope: &Scope) -> Result<Vec<()>> {
        self.files.finish(part, scope)?;
        Ok(Vec::new())
    }
}
