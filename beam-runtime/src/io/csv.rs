//! CSV: `read_csv::<T>` (typed records, in parallel byte ranges) and `write_csv`.
//!
//! **How files are split.** A file is cut into byte ranges at line boundaries and
//! read in parallel, like text, when every line break in it ends a record. A quoted
//! field that contains a line break would be cut in two at such a boundary, so a
//! worker reads its range whole, notes whether it holds a quote, and reads its
//! lines as records only if neither it nor an earlier range of the file held one;
//! otherwise the file is followed in order from its first quote, and if a line
//! break lies inside quotes the rest of the file is read by the csv crate's reader
//! from that range on (`csv_quotes`). No pass over the file precedes the reading.
//! Compressed files, and every file with [`CsvInput::multiline_records`], are read
//! whole by one worker; different files are still read in parallel.
//!
//! **How records are read.** A range read as lines is split on bytes by
//! `csv_lines`, in blocks of lines. Every other range goes through the csv crate's
//! reader.

use crate::source::SplitCounter;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::__private::{DeadLetterSource, Witness};
use crate::barrier::{EachWorker, Leaf, PerWorker};
use crate::collection::Collection;
use crate::context::{Context, Scope, Worker};
use crate::error::{Error, ErrorKind, InputPosition, Result};
use crate::io::csv_fields::{self, Columns, Fields};
use crate::io::csv_lines::LineRecords;
use crate::io::csv_quotes::{Quotes, Reading, SplitQuotes};
use crate::io::input::{self, Compression, InputFile, LineReader, Split, SplitBytes};
use crate::io::output::{FileOutput, OutputFiles, Parts, Writer};
use crate::io::records::{self, BadRecord, DeadLetters, Named, Naming, Unnamed, WithFilename};
use crate::runner::CHUNK;
use crate::source::{Source, SourceCounters};

/// What `read_csv` reads and how: a file, directory or glob; header row on by
/// default; `,` and `"` unless told otherwise.
///
/// ```
/// use beam::prelude::*;
///
/// #[derive(serde::Deserialize)]
/// struct Sale { region: String, amount: f64 }
///
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("sales.csv");
/// # std::fs::write(&path, "region;amount\nnorth;10.5\nsouth;2\nnorth;1.5\n").unwrap();
/// let out = pipeline! {
///     sales = read_csv::<Sale>(CsvInput::new(&path).delimiter(b';'));
///     totals = sales -> map(|s: Sale| (s.region, s.amount)) -> sum_per_key() -> collect();
/// }
/// .run()?;
/// let mut totals = out.totals;
/// totals.sort_by(|a, b| a.0.cmp(&b.0));
/// assert_eq!(totals, vec![("north".to_owned(), 12.0), ("south".to_owned(), 2.0)]);
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CsvInput {
    pattern: PathBuf,
    delimiter: u8,
    quote: u8,
    headers: bool,
    multiline: bool,
    split_bytes: Option<u64>,
    max_line_bytes: usize,
    exact_columns: bool,
}

impl CsvInput {
    /// Reads the file, directory or glob `pattern`.
    pub fn new(pattern: impl AsRef<Path>) -> Self {
        CsvInput {
            pattern: pattern.as_ref().to_owned(),
            delimiter: b',',
            quote: b'"',
            headers: true,
            multiline: false,
            split_bytes: None,
            max_line_bytes: crate::io::text::TextInput::DEFAULT_MAX_LINE_BYTES,
            exact_columns: false,
        }
    }

    /// The field delimiter (default `,`).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// The quote character (default `"`).
    pub fn quote(mut self, quote: u8) -> Self {
        self.quote = quote;
        self
    }

    /// The files have no header row: fields are matched to `T` by position.
    pub fn no_headers(mut self) -> Self {
        self.headers = false;
        self
    }

    /// Read each file whole, by one worker, with the csv crate's reader: for files
    /// where most records span lines, which would otherwise be read as ranges until
    /// the first quoted line break is found (see the module documentation).
    pub fn multiline_records(mut self) -> Self {
        self.multiline = true;
        self
    }

    /// Reads files in byte ranges of about `bytes` each.
    pub fn split_bytes(mut self, bytes: u64) -> Self {
        self.split_bytes = Some(bytes.max(1));
        self
    }

    /// Fails the run on a line longer than `bytes` (default 64 MiB).
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line_bytes = bytes;
        self
    }

    /// Fails the run when a file's header has a column that `T` has no field
    /// for. By default such columns are skipped, as serde skips unknown fields, so
    /// a struct can name just the columns it needs of a wide file; a column `T`
    /// needs and the header lacks is an error either way.
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Reading { station: String, temp: f64 }
    ///
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("weather.csv");
    /// # std::fs::write(&path, "station,rain,temp\noslo,0.5,3.5\nrome,0,14\n").unwrap();
    /// // Only the columns `Reading` names are read.
    /// let out = pipeline! {
    ///     temps = read_csv::<Reading>(&path) -> map(|r: Reading| r.temp) -> collect();
    /// }
    /// .run()?;
    /// assert_eq!(out.temps.len(), 2);
    ///
    /// let strict = pipeline! {
    ///     temps = read_csv::<Reading>(CsvInput::new(&path).exact_columns()) -> collect();
    /// }
    /// .run();
    /// let err = strict.err().expect("`rain` is not a field of `Reading`");
    /// assert!(err.message().contains("unexpected `rain`"));
    /// # Ok::<(), beam::Error>(())
    /// ```
    pub fn exact_columns(mut self) -> Self {
        self.exact_columns = true;
        self
    }

    fn reader<R: std::io::Read>(&self, from: R) -> csv::Reader<R> {
        // Record lengths are checked against the file's first record (its header)
        // by the source, not against the first record of each byte range.
        csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .quote(self.quote)
            .has_headers(false)
            .flexible(true)
            .from_reader(from)
    }
}

macro_rules! csv_input_from {
    ($($t:ty),*) => {$(
        impl From<$t> for CsvInput {
            fn from(path: $t) -> Self {
                CsvInput::new(path)
            }
        }
    )*};
}
csv_input_from!(&str, String, &String, &Path, PathBuf, &PathBuf);

struct CsvPlan {
    files: Vec<InputFile>,
    /// Each file's header row, when the files have headers.
    headers: Vec<Option<csv::ByteRecord>>,
    /// Each file's number of fields: its first record's.
    widths: Vec<Option<usize>>,
    /// For a struct with named fields, each file's column of each field: records
    /// are then read field by field (see `csv_fields`), not as maps.
    columns: Vec<Option<Columns>>,
    /// Whether each file's ranges are read as lines (see `csv_lines`) where their
    /// quotes allow (`quotes`): uncompressed files not read whole on request.
    records_are_lines: Vec<bool>,
    /// Each file's path, shared by its records where they carry it.
    names: Vec<Arc<Path>>,
    splits: Vec<Split>,
    /// What the workers have seen of each range's quotes.
    quotes: SplitQuotes,
}

/// What reading a record of one file needs of the plan, looked up once per
/// chunk rather than once per record.
struct FileSchema<'p> {
    width: Option<usize>,
    header: Option<&'p csv::ByteRecord>,
    columns: Option<&'p Columns>,
}

impl CsvPlan {
    fn schema(&self, file: usize) -> FileSchema<'_> {
        FileSchema {
            width: self.widths[file],
            header: self.headers[file].as_ref(),
            columns: self.columns[file].as_ref(),
        }
    }
}

/// The largest range read as lines: its worker holds it whole.
const MAX_LINES_SPLIT: u64 = 16 << 20;

/// The `read_csv` source.
#[doc(hidden)]
pub struct ReadCsv<T, N = Unnamed> {
    input: CsvInput,
    plan: OnceLock<CsvPlan>,
    next_split: SplitCounter,
    dead_letters: DeadLetters,
    bytes_read: AtomicU64,
    _out: PhantomData<fn() -> (T, N)>,
}

#[doc(hidden)]
pub fn read_csv<T: DeserializeOwned + Send>(input: impl Into<CsvInput>) -> (ReadCsv<T>, Witness<T>) {
    (ReadCsv::new(input.into()), Witness::new())
}

/// `read_csv_with_filename::<T>(input)`: each record with the path of its file.
#[doc(hidden)]
pub fn read_csv_with_filename<T: DeserializeOwned + Send>(
    input: impl Into<CsvInput>,
) -> (ReadCsv<T, WithFilename>, Witness<Named<T>>) {
    (ReadCsv::new(input.into()), Witness::new())
}

impl<T, N> ReadCsv<T, N> {
    fn new(input: CsvInput) -> Self {
        ReadCsv {
            input,
            plan: OnceLock::new(),
            next_split: SplitCounter::default(),
            dead_letters: DeadLetters::default(),
            bytes_read: AtomicU64::new(0),
            _out: PhantomData,
        }
    }
}

/// A worker's open split.
#[doc(hidden)]
#[derive(Default)]
pub struct CsvState {
    open: Option<OpenSplit>,
    records: RecordBuffers,
    /// The buffer a split read as lines is read into, kept for the next one.
    block: Vec<u8>,
}

/// The record the csv crate's reader reads into, and `scratch`, a record read
/// as a line copied for the csv crate's deserializer (types without named fields).
#[derive(Default)]
struct RecordBuffers {
    record: csv::ByteRecord,
    scratch: csv::ByteRecord,
}

struct OpenSplit {
    records: Records,
    file: usize,
    /// The split starts at the top of its file, so its first record is the header.
    skip_header: bool,
}

/// How a split's records are read: as lines where every line of the file is a
/// record, otherwise by the csv crate's reader.
enum Records {
    Lines(Box<LineRecords>),
    Parsed(Box<csv::Reader<Watched>>),
}

impl Records {
    fn bytes(&mut self) -> &mut SplitBytes {
        match self {
            Records::Lines(lines) => lines.bytes(),
            Records::Parsed(reader) => &mut reader.get_mut().bytes,
        }
    }
}

/// Why a record was not read: the column to blame (1-based), if one is, and why.
struct Rejected {
    column: Option<u64>,
    reason: String,
}

impl<T: DeserializeOwned + Send, N: Naming<T>> ReadCsv<T, N> {
    /// Opens range `index` of the plan, `split`, for reading: `None` if an earlier
    /// range reads its records. `block` is the worker's buffer for lines.
    fn open_split(&self, plan: &CsvPlan, index: usize, split: Split, block: &mut Vec<u8>) -> Result<Option<Records>> {
        let file = &plan.files[split.file];
        let open = |split: Split| LineReader::open(file, split, self.input.max_line_bytes).map(SplitBytes::new);
        let parsed = |split: Split| -> Result<Records> {
            Ok(Records::Parsed(Box::new(self.input.reader(Watched::new(open(split)?, &self.input)))))
        };
        if !plan.records_are_lines[split.file] {
            return parsed(split).map(Some);
        }
        let (delimiter, quote) = (self.input.delimiter, self.input.quote);
        let in_order = plan.columns[split.file].as_ref().is_some_and(Columns::in_order);
        let read = open(split).and_then(|bytes| {
            let buffer = std::mem::take(block);
            let mut lines = LineRecords::new(bytes, split.start == 0, in_order, delimiter, quote, buffer);
            let quoted = lines.read_split().map_err(|e| Error::from_io(&file.path, e))?;
            Ok((lines, quoted))
        });
        plan.quotes.seen(index, read.as_ref().map(|(_, quoted)| *quoted).map_err(|_| ()));
        let (lines, _) = read?;
        let reading = plan.quotes.settle(&plan.splits, index, file, quote, delimiter, self.input.max_line_bytes)?;
        if reading == Reading::Lines {
            return Ok(Some(Records::Lines(Box::new(lines))));
        }
        *block = lines.into_buffer();
        match reading {
            Reading::RestOfFile => parsed(Split { end: u64::MAX, ..split }).map(Some),
            _ => Ok(None),
        }
    }

    /// Reads records of a split read as lines into `chunk` (or the dead letters)
    /// until it is full; `false` at the split's end.
    fn read_lines(
        &self,
        plan: &CsvPlan,
        file: usize,
        lines: &mut LineRecords,
        skip_header: &mut bool,
        scratch: &mut csv::ByteRecord,
        chunk: &mut Vec<N::Item>,
    ) -> Result<bool> {
        let schema = plan.schema(file);
        while let Some((record, bytes)) = lines.next_record() {
            let rejected = if record.unclosed_quote {
                Rejected { column: None, reason: unclosed_quote(1) }
            } else if std::mem::take(skip_header) {
                continue;
            } else {
                match self.typed(&schema, &record.fields, scratch) {
                    Ok(value) => {
                        chunk.push(N::item(|| Arc::clone(&plan.names[file]), value));
                        if chunk.len() == CHUNK {
                            return Ok(true);
                        }
                        continue;
                    }
                    Err(rejected) => rejected,
                }
            };
            let Rejected { column, reason } = rejected;
            let (path, line) = (plan.files[file].path.clone(), bytes.file_line(record.line));
            let raw = raw_text(&record.fields, self.input.delimiter);
            self.dead_letters.bad(BadRecord { path, line, column, raw, reason })?;
            if chunk.len() == CHUNK {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Reads the next record of a split read by the csv crate into `chunk` (or the
    /// dead letters); `false` at the split's end.
    fn next_parsed(
        &self,
        plan: &CsvPlan,
        file: usize,
        reader: &mut csv::Reader<Watched>,
        skip_header: &mut bool,
        RecordBuffers { record, scratch }: &mut RecordBuffers,
        chunk: &mut Vec<N::Item>,
    ) -> Result<bool> {
        let path = &plan.files[file].path;
        let record_line = |record: &csv::ByteRecord| record.position().map_or(0, |p| p.line());
        let (line, rejected) = match reader.read_byte_record(record) {
            Ok(false) => return Ok(false),
            Ok(true) if reader.get_ref().ends_in_open_quote(reader.position().byte()) => {
                let line = record_line(record);
                // The parser's line count is past the last line if it ended in `\n`.
                let ends_in_line_break = record.iter().next_back().is_some_and(|f| f.ends_with(b"\n"));
                let lines = reader.position().line() - line + u64::from(!ends_in_line_break);
                (line, Rejected { column: None, reason: unclosed_quote(lines) })
            }
            Ok(true) if std::mem::take(skip_header) => return Ok(true),
            Ok(true) => match self.typed(&plan.schema(file), record, scratch) {
                Ok(value) => {
                    chunk.push(N::item(|| Arc::clone(&plan.names[file]), value));
                    return Ok(true);
                }
                Err(rejected) => (record_line(record), rejected),
            },
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                let reason = match e.into_kind() {
                    csv::ErrorKind::Io(e) => return Err(Error::from_io(path, e)),
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("found {len} fields, but the first record has {expected_len}")
                    }
                    other => format!("{other:?}"),
                };
                (line, Rejected { column: None, reason })
            }
        };
        let line = reader.get_ref().bytes.file_line(line);
        let raw = raw_text(record, self.input.delimiter);
        let Rejected { column, reason } = rejected;
        self.dead_letters.bad(BadRecord { path: path.clone(), line, column, raw, reason })?;
        Ok(true)
    }

    /// A record of a file of schema `schema` as a `T`, or why it is not one.
    fn typed(
        &self,
        schema: &FileSchema,
        fields: &impl Fields,
        scratch: &mut csv::ByteRecord,
    ) -> std::result::Result<T, Rejected> {
        let FileSchema { width, header, columns } = *schema;
        let wrong_width = |found: usize| Rejected {
            column: None,
            reason: format!("found {found} fields, but the file's first record has {}", width.unwrap_or_default()),
        };
        if let Some(columns) = columns {
            // The record's width is known once its fields are read (a line is split
            // as they are), and is checked first when a field is bad.
            match csv_fields::deserialize::<T>(fields, columns) {
                Ok((value, found)) if width.is_none_or(|w| w == found) => return Ok(value),
                Ok((_, found)) => return Err(wrong_width(found)),
                Err(_) if width.is_some_and(|w| w != fields.len()) => return Err(wrong_width(fields.len())),
                // A tuple's: the csv crate's reading stands (see `Columns::positional`).
                Err(_) if columns.positional() => {}
                Err(e) => {
                    let e = e.blame();
                    let name = e.column.and_then(|c| header.and_then(|h| h.get(c)));
                    let reason = match name {
                        Some(name) => format!("column `{}`: {}", String::from_utf8_lossy(name), e.reason),
                        None => e.reason,
                    };
                    return Err(Rejected { column: e.column.map(|c| c as u64 + 1), reason });
                }
            }
        }
        if width.is_some_and(|w| w != fields.len()) {
            return Err(wrong_width(fields.len()));
        }
        fields.as_byte_record(scratch).deserialize::<T>(header).map_err(|e| match e.kind() {
            csv::ErrorKind::Deserialize { err, .. } => {
                Rejected { column: err.field().map(|f| f + 1), reason: err.to_string() }
            }
            _ => Rejected { column: None, reason: e.to_string() },
        })
    }

    /// Reads each file's header and checks it names `T`'s fields.
    #[allow(clippy::type_complexity)]
    fn headers(&self, files: &[InputFile]) -> Result<Vec<(Option<csv::ByteRecord>, Option<usize>)>> {
        let fields = records::field_names::<T>();
        files
            .iter()
            .map(|file| {
                let lines =
                    LineReader::open(file, Split { file: 0, start: 0, end: u64::MAX }, self.input.max_line_bytes)?;
                let mut reader = self.input.reader(SplitBytes::new(lines));
                let mut header = csv::ByteRecord::new();
                if !reader.read_byte_record(&mut header).map_err(|e| csv_error(&file.path, e))? {
                    // An empty file has no header and no records.
                    return Ok((None, None));
                }
                let width = Some(header.len());
                if !self.input.headers {
                    return Ok((None, width));
                }
                if let Some(fields) = fields {
                    check_header::<T>(&file.path, &header, fields, self.input.exact_columns)?;
                }
                Ok((Some(header), width))
            })
            .collect()
    }
}

/// `Sale` needs columns `region` and `amount`: the header must name each. Other
/// columns are skipped, unless `exact` (`CsvInput::exact_columns`).
fn check_header<T>(path: &Path, header: &csv::ByteRecord, fields: &[&str], exact: bool) -> Result<()> {
    // Compared as read, as the records will be: ` amount` does not name `amount`.
    let columns: Vec<String> = header.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let missing: Vec<&str> = fields.iter().copied().filter(|f| !columns.contains(f)).collect();
    let unexpected: Vec<&str> = columns.iter().copied().filter(|c| exact && !fields.contains(c)).collect();
    if missing.is_empty() && unexpected.is_empty() {
        return Ok(());
    }
    let list = |names: &[&str]| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("missing {}", list(&missing)));
    }
    if !unexpected.is_empty() {
        problems.push(format!("unexpected {}", list(&unexpected)));
    } else {
        // What the header does have, to spot a misspelt column.
        problems.push(format!("the header has {}", list(&columns)));
    }
    let message =
        format!("the CSV header does not match `{}`: {}", records::short_type_name::<T>(), problems.join("; "));
    Err(Error::new(ErrorKind::InvalidInput, message).at(InputPosition::new(path, Some(1))))
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(e) => Error::from_io(path, e),
        kind => Error::new(ErrorKind::InvalidInput, format!("{:?}", kind)).at(InputPosition::new(path, line)),
    }
}

impl<T, N> DeadLetterSource for ReadCsv<T, N> {
    fn keep_bad_records(mut self) -> Self {
        self.dead_letters.keep();
        self
    }

    fn bad_records(&self) -> Collection<BadRecord> {
        self.dead_letters.take()
    }
}

impl<T: DeserializeOwned + Send, N: Naming<T>> Source for ReadCsv<T, N> {
    type Item = N::Item;
    type State = CsvState;

    fn prepare(&self, ctx: &Context) -> Result<()> {
        self.next_split.share(ctx.share());
        let files = input::expand(&self.input.pattern)?;
        let (headers, widths): (Vec<_>, Vec<_>) = self.headers(&files)?.into_iter().unzip();
        // A struct's fields by the header's names; a tuple's by position.
        let (fields, tuple) = (records::field_names::<T>(), records::tuple_len::<T>());
        let columns = headers
            .iter()
            .map(|h| fields.and_then(|f| Columns::new(f, h.as_ref())).or(tuple.map(Columns::first)))
            .collect();
        let total = files.iter().map(|f| f.len).sum();
        // A range read as lines is held whole by its worker (see `csv_quotes`).
        let size = self
            .input
            .split_bytes
            .unwrap_or_else(|| input::default_split_size(total, ctx.share()).min(MAX_LINES_SPLIT));
        // A compressed file is read whole, by the csv crate's reader.
        let records_are_lines: Vec<bool> =
            files.iter().map(|f| !self.input.multiline && f.compression == Compression::None).collect();
        let mut splits = Vec::new();
        for (i, file) in files.iter().enumerate() {
            let ranges = input::split(std::slice::from_ref(file), size, !records_are_lines[i]);
            splits.extend(ranges.into_iter().map(|s| Split { file: i, ..s }));
        }
        let quotes = SplitQuotes::new(&splits, files.len(), ctx.share());
        let names = files.iter().map(|f| Arc::from(f.path.as_path())).collect();
        let _ = self.plan.set(CsvPlan { files, headers, widths, columns, records_are_lines, names, splits, quotes });
        Ok(())
    }

    fn next_chunk(&self, state: &mut CsvState, chunk: &mut Vec<N::Item>) -> Result<bool> {
        let Some(plan) = self.plan.get() else { return Ok(false) };
        while chunk.len() < CHUNK {
            let open = match &mut state.open {
                Some(open) => open,
                None => {
                    let index = self.next_split.next();
                    let Some(&split) = plan.splits.get(index) else { break };
                    let Some(records) = self.open_split(plan, index, split, &mut state.block)? else { continue };
                    let skip_header = split.start == 0 && self.input.headers;
                    state.open.insert(OpenSplit { records, file: split.file, skip_header })
                }
            };
            let file = open.file;
            let more = match &mut open.records {
                Records::Lines(lines) => {
                    self.read_lines(plan, file, lines, &mut open.skip_header, &mut state.records.scratch, chunk)?
                }
                Records::Parsed(reader) => {
                    self.next_parsed(plan, file, reader, &mut open.skip_header, &mut state.records, chunk)?
                }
            };
            if !more {
                self.bytes_read.fetch_add(open.records.bytes().take_bytes_read(), Ordering::Relaxed);
                if let Some(OpenSplit { records: Records::Lines(lines), .. }) = state.open.take() {
                    state.block = lines.into_buffer();
                }
            }
        }
        if let Some(open) = &mut state.open {
            self.bytes_read.fetch_add(open.records.bytes().take_bytes_read(), Ordering::Relaxed);
        }
        Ok(!chunk.is_empty())
    }

    fn counters(&self) -> SourceCounters {
        SourceCounters {
            bytes_total: self.plan.get().map_or(0, |p| p.files.iter().map(|f| f.len).sum()),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bad_records: self.dead_letters.count(),
        }
    }
}

/// A split's bytes on their way to the CSV parser, watched for an unterminated
/// quote.
struct Watched {
    bytes: SplitBytes,
    quotes: Quotes,
    handed_out: u64,
    exhausted: bool,
}

impl std::io::Read for Watched {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.bytes.read(out)?;
        self.quotes.feed(&out[..n]);
        self.handed_out += n as u64;
        self.exhausted |= n == 0 && !out.is_empty();
        Ok(n)
    }
}

impl Watched {
    fn new(bytes: SplitBytes, input: &CsvInput) -> Self {
        Watched { bytes, quotes: Quotes::new(input.quote, input.delimiter), handed_out: 0, exhausted: false }
    }

    /// Whether the record the parser just read, ending at `record_end`, is the
    /// last of the input and ran into its end inside quotes.
    fn ends_in_open_quote(&self, record_end: u64) -> bool {
        self.exhausted && self.quotes.open() && record_end == self.handed_out
    }
}

/// Whether the csv crate writes a header row before `row` (it does for structs).
fn writes_header<T: Serialize>(row: &T) -> bool {
    let written = |headers: bool| {
        let mut out = csv::WriterBuilder::new().has_headers(headers).from_writer(Vec::new());
        let _ = out.serialize(row);
        out.into_inner().map_or(0, |bytes| bytes.len())
    };
    written(true) != written(false)
}

/// Why a record that ran into the end of the file inside quotes is bad.
fn unclosed_quote(lines: u64) -> String {
    let lines = if lines == 1 { "1 line".to_owned() } else { format!("{lines} lines") };
    format!("a quoted field in this record is never closed, so the rest of the file ({lines}) was read into it")
}

/// A record's text as read, fields joined by the delimiter.
fn raw_text(record: &impl Fields, delimiter: u8) -> String {
    let fields: Vec<String> = record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    fields.join(&(delimiter as char).to_string())
}

/// The `write_csv` sink: a header row from `T`'s field names, then one row per
/// element.
#[doc(hidden)]
pub struct WriteCsv<T> {
    files: OutputFiles,
    _in: PhantomData<fn(T)>,
}

#[doc(hidden)]
pub fn write_csv<T: Serialize>(_: Witness<T>, output: impl Into<FileOutput>) -> impl Leaf<In = T, Out = ()> {
    PerWorker(WriteCsv { files: OutputFiles::new(output.into(), ".csv"), _in: PhantomData })
}

impl<T: Serialize> EachWorker for WriteCsv<T> {
    type In = T;
    /// The part, and whether its rows come after a header (known at the first row).
    type Local = (Parts<csv::Writer<Writer>>, Option<bool>);
    type Out = ();

    fn prepare(&self, scope: &Scope) -> Result<()> {
        self.files.prepare(scope)
    }

    fn local(&self, worker: Worker) -> Self::Local {
        (self.files.parts(worker).map(|out| Ok(csv::Writer::from_writer(out))), None)
    }

    #[inline]
    fn push(&self, (part, header): &mut Self::Local, input: T) {
        if header.is_none() {
            *header = Some(writes_header(&input));
        }
        part.write_with(|out| out.serialize(&input).map_err(std::io::Error::other));
    }

    fn finish(&self, (part, header): Self::Local, scope: &Scope) -> Result<Vec<()>> {
        // The csv crate writes a header row for structs only; the parts of a single
        // file but the first lose theirs.
        if header == Some(true) {
            self.files.set_header_lines(1);
        }
        self.files.finish(part.map(|out| out.into_inner().map_err(|e| e.into_error())), scope)?;
        Ok(Vec::new())
    }
}
