//! CSV records read as lines, where every line of the file is one record.
//!
//! Most CSV files quote nothing: their records are lines and their fields are
//! the bytes between delimiters, so a skilled engineer splits them on bytes and
//! runs no CSV state machine. A range whose lines are its records (see
//! `csv_quotes`) is read here: read whole, then taken in blocks of lines. A block
//! with no quote and no lone `\r` (a record end to the csv crate, not to us) is
//! split on `\n` and the delimiter; any other block goes through `csv_core`, the
//! csv crate's own parser, so the records are the same either way, and every field
//! is read where it lies, with no copy per record.

use std::io::Read;

use memchr::{memchr, memchr2_iter};

use crate::io::csv_fields::Fields;
use crate::io::input::SplitBytes;
use crate::io::newlines::Newlines;

/// How many bytes a block reads at least (a longer line grows it).
const BLOCK: usize = 1 << 20;

/// The records of one split of a file whose lines are its records.
pub(crate) struct LineRecords {
    bytes: SplitBytes,
    delimiter: u8,
    quote: u8,
    /// The split's bytes, read whole (`read_split`); unread bytes are
    /// `buf[pos..filled]`, and the current block's lines end at `lines_end`.
    buf: Vec<u8>,
    pos: usize,
    lines_end: usize,
    filled: usize,
    /// Whether the block's lines can be split on bytes (no quote, no lone `\r`).
    plain: bool,
    /// The split's line (1-based) that starts at `pos`.
    line: u64,
    /// The split starts its file: a byte order mark there is not data.
    at_file_start: bool,
    /// Plain lines are handed on unsplit, to be split as their fields are read.
    in_order: bool,
    /// The line ends of `buf[..filled]`.
    newlines: Newlines,
    /// Made when a block first needs it: making one builds its state machine,
    /// which costs as much as reading thousands of plain lines.
    parser: Option<csv_core::Reader>,
    /// The record's fields: ranges of `buf` (plain) or of `parsed` (parser).
    bounds: Vec<(usize, usize)>,
    parsed: Vec<u8>,
    ends: Vec<usize>,
}

/// One record: its fields, the split's line it starts on, and whether it ran into
/// the end of the file inside an unclosed quote.
pub(crate) struct LineRecord<'a> {
    pub(crate) fields: LineFields<'a>,
    pub(crate) line: u64,
    pub(crate) unclosed_quote: bool,
}

/// A record's fields.
pub(crate) enum LineFields<'a> {
    /// A line of unquoted fields, split as they are read (when the record type's
    /// fields are its first columns in order).
    Line { line: &'a [u8], delimiter: u8 },
    /// Ranges of a buffer.
    Split { bytes: &'a [u8], bounds: &'a [(usize, usize)] },
}

impl Fields for LineFields<'_> {
    #[inline]
    fn len(&self) -> usize {
        match self {
            LineFields::Line { line, delimiter } => line.iter().filter(|&b| b == delimiter).count() + 1,
            LineFields::Split { bounds, .. } => bounds.len(),
        }
    }

    #[inline]
    fn get(&self, column: usize) -> Option<&[u8]> {
        match self {
            LineFields::Line { line, delimiter } => line.split(|b| b == delimiter).nth(column),
            LineFields::Split { bytes, bounds } => bounds.get(column).map(|&(start, end)| &bytes[start..end]),
        }
    }

    #[inline]
    fn line(&self) -> Option<(&[u8], u8)> {
        match self {
            LineFields::Line { line, delimiter } => Some((line, *delimiter)),
            LineFields::Split { .. } => None,
        }
    }
}

impl LineRecords {
    /// `in_order`: the record type reads the first columns in order, so a plain
    /// line need not be split first.
    /// `buf`: the worker's buffer, from its last split.
    pub(crate) fn new(
        bytes: SplitBytes,
        at_file_start: bool,
        in_order: bool,
        delimiter: u8,
        quote: u8,
        buf: Vec<u8>,
    ) -> Self {
        LineRecords {
            bytes,
            delimiter,
            quote,
            buf,
            pos: 0,
            lines_end: 0,
            filled: 0,
            plain: true,
            line: 1,
            at_file_start,
            in_order,
            newlines: Newlines::default(),
            parser: None,
            bounds: Vec::new(),
            parsed: vec![0; 1024],
            ends: vec![0; 64],
        }
    }

    /// The split's bytes on their way in (for bytes read and line numbers).
    pub(crate) fn bytes(&mut self) -> &mut SplitBytes {
        &mut self.bytes
    }

    /// The split's next record, with the split's bytes (to number a bad record's
    /// line); `None` at the split's end. Blank lines are skipped, as the csv crate
    /// skips them. Inlined into the caller's loop, so that reading a record and
    /// handling it are one loop with nothing called per record.
    #[inline]
    pub(crate) fn next_record(&mut self) -> Option<(LineRecord<'_>, &SplitBytes)> {
        loop {
            if self.pos == self.lines_end && !self.fill() {
                return None;
            }
            if !self.plain {
                if let Some((line, unclosed_quote)) = self.parse() {
                    let fields = LineFields::Split { bytes: &self.parsed, bounds: &self.bounds };
                    return Some((LineRecord { fields, line, unclosed_quote }, &self.bytes));
                }
                continue;
            }
            let start = self.pos;
            // The block ends in `\n`, so every line in it has one.
            let newline = self.newlines.next(&self.buf[..self.filled], start).unwrap_or(start);
            let end = if newline > start && self.buf[newline - 1] == b'\r' { newline - 1 } else { newline };
            let line = self.line;
            self.pos = newline + 1;
            self.line += 1;
            if start == end {
                continue;
            }
            let fields = if self.in_order {
                LineFields::Line { line: &self.buf[start..end], delimiter: self.delimiter }
            } else {
                self.bounds.clear();
                let mut field = start;
                for (i, &b) in self.buf[start..end].iter().enumerate() {
                    if b == self.delimiter {
                        self.bounds.push((field, start + i));
                        field = start + i + 1;
                    }
                }
                self.bounds.push((field, end));
                LineFields::Split { bytes: &self.buf, bounds: &self.bounds }
            };
            return Some((LineRecord { fields, line, unclosed_quote: false }, &self.bytes));
        }
    }

    /// Parses the block's next record with `csv_core` into `parsed` and `bounds`:
    /// its line and whether its quote was never closed, or `None` if only blank
    /// lines were left.
    fn parse(&mut self) -> Option<(u64, bool)> {
        let input = &self.buf[self.pos..self.lines_end];
        let blank = input.iter().take_while(|&&b| b == b'\n' || b == b'\r').count();
        let line = self.line + memchr::memchr_iter(b'\n', &input[..blank]).count() as u64;
        if blank == input.len() {
            self.pos = self.lines_end;
            self.line = line;
            return None;
        }
        let (delimiter, quote) = (self.delimiter, self.quote);
        let parser =
            self.parser.get_or_insert_with(|| csv_core::ReaderBuilder::new().delimiter(delimiter).quote(quote).build());
        let (mut read, mut written, mut ended) = (0, 0, 0);
        let unclosed_quote = loop {
            let (result, n_in, n_out, n_ends) =
                parser.read_record(&input[read..], &mut self.parsed[written..], &mut self.ends[ended..]);
            (read, written, ended) = (read + n_in, written + n_out, ended + n_ends);
            match result {
                csv_core::ReadRecordResult::OutputFull => self.parsed.resize(self.parsed.len() * 2, 0),
                csv_core::ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break false,
                // The block ends in `\n` outside quotes, unless a quote is never
                // closed (the scan saw no line break inside quotes, so only at the
                // end of the file): what csv reads to the end of the file.
                csv_core::ReadRecordResult::InputEmpty => {
                    let (_, _, _, n_ends) =
                        parser.read_record(&[], &mut self.parsed[written..], &mut self.ends[ended..]);
                    ended += n_ends;
                    parser.reset();
                    // The line break the split's last line was given is not data.
                    if ended > 0 && self.ends[ended - 1] > 0 && self.parsed[self.ends[ended - 1] - 1] == b'\n' {
                        self.ends[ended - 1] -= 1;
                    }
                    break true;
                }
            }
        };
        self.line = line + memchr::memchr_iter(b'\n', &input[blank..read]).count() as u64;
        self.pos += read;
        self.bounds.clear();
        let mut start = 0;
        for &end in &self.ends[..ended] {
            self.bounds.push((start, end));
            start = end;
        }
        Some((line, unclosed_quote))
    }

    /// Reads the whole split into memory (`buf`), given a final line break if it
    /// lacks one: whether it holds a quote (see `csv_quotes`).
    pub(crate) fn read_split(&mut self) -> std::io::Result<bool> {
        // The buffer is the worker's, reused from split to split: its bytes are
        // written, never zeroed again.
        self.filled = 0;
        self.newlines.reset();
        let mut quote = false;
        loop {
            if self.filled == self.buf.len() {
                self.buf.resize((self.buf.len() * 2).max(BLOCK), 0);
            }
            let n = self.bytes.read(&mut self.buf[self.filled..])?;
            if n == 0 {
                break;
            }
            // Looked for in each piece as it arrives, while it is in the cache.
            let piece = self.filled..self.filled + n;
            quote = quote || memchr(self.quote, &self.buf[piece]).is_some();
            self.filled += n;
        }
        self.pos = if self.at_file_start && self.buf[..self.filled].starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        if self.filled > self.pos && self.buf[self.filled - 1] != b'\n' {
            // The split's last line, without a line break: given one.
            if self.filled == self.buf.len() {
                self.buf.push(0);
            }
            self.buf[self.filled] = b'\n';
            self.filled += 1;
        }
        self.lines_end = self.pos;
        Ok(quote)
    }

    /// The worker's buffer, for its next split.
    pub(crate) fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// Moves on to the next block of whole lines of the split; `false` at its end.
    /// Blocks keep the bytes that the checks and splitting go over in the cache.
    fn fill(&mut self) -> bool {
        if self.pos == self.filled {
            return false;
        }
        let limit = (self.pos + BLOCK).min(self.filled);
        // The split's bytes end in `\n`: a block ends after the last one before
        // the limit, or after the first one past it (a line longer than a block).
        self.lines_end = match memchr::memrchr(b'\n', &self.buf[self.pos..limit]) {
            Some(i) => self.pos + i + 1,
            None => limit + memchr(b'\n', &self.buf[limit..self.filled]).map_or(self.filled - limit, |i| i + 1),
        };
        self.plain = self.plain_lines();
        true
    }

    /// Whether the block has no quote and no `\r` but before a `\n`.
    fn plain_lines(&self) -> bool {
        let block = &self.buf[..self.lines_end];
        memchr2_iter(self.quote, b'\r', &block[self.pos..])
            .all(|i| block[self.pos + i] == b'\r' && block.get(self.pos + i + 1) == Some(&b'\n'))
    }
}
