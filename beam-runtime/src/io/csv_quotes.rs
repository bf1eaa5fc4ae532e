//! Where a CSV file's quotes allow its byte ranges to be read as lines.
//!
//! A file cut into ranges at line breaks is read correctly as long as no line
//! break lies inside a quoted field. Scanning every file for one before reading it
//! would be a second pass over every byte (a tenth of the run of a narrow numeric
//! CSV, which has no quotes at all). Instead, each worker reads a range whole and
//! looks for a quote in it while it is in the cache ([`SplitQuotes::seen`]), and
//! before reading its records learns what the ranges before it held
//! ([`SplitQuotes::settle`]):
//!
//! - no quote in this range or any earlier one of its file: the range starts
//!   outside quotes and has none, so its lines are its records;
//! - otherwise, from the first range that has a quote, the file is followed once in
//!   order by [`Quotes`] (shared by the workers): if no line break lies inside
//!   quotes, every range is still read as lines; if one does, the first range with
//!   a quote reads the rest of the file with the csv crate's reader, and the later
//!   ranges are left to it.
//!
//! Ranges are claimed in order and a worker reads its range before waiting, so a
//! wait is at most for another worker to finish reading one range.

use std::io::BufRead;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::io::input::{InputFile, Split};
use crate::runner::Share;

/// How a worker reads the range it has read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Its lines are its records.
    Lines,
    /// A line break lies inside quotes from this range on: read the rest of the
    /// file, from here, with the csv crate's reader.
    RestOfFile,
    /// An earlier range reads this one (or the run has failed): nothing to do.
    Skip,
}

const UNKNOWN: u8 = 0;
const NO_QUOTE: u8 = 1;
const QUOTE: u8 = 2;
const FAILED: u8 = 3;

/// What the workers have learnt of each range's quotes, shared by them.
pub(crate) struct SplitQuotes {
    /// Per range: one of `UNKNOWN`, `NO_QUOTE`, `QUOTE`, `FAILED`.
    seen: Vec<AtomicU8>,
    /// Per range: the index of its file's first range.
    first_of_file: Vec<usize>,
    /// Per file: whether a line break lies inside quotes from the file's first
    /// range with a quote on, once followed.
    line_break_inside: Vec<Mutex<Option<bool>>>,
    /// Signalled whenever a range's quotes become known.
    changed: (Mutex<()>, Condvar),
    /// Which ranges this process reads, when several share the input: it looks
    /// for quotes in the earlier ranges of another process itself, rather than
    /// wait for a worker that is not its own.
    share: Share,
}

impl SplitQuotes {
    pub(crate) fn new(splits: &[Split], files: usize, share: Share) -> Self {
        let first_of_file = splits
            .iter()
            .enumerate()
            .scan(None, |first: &mut Option<(usize, usize)>, (i, split)| {
                if first.is_none_or(|(file, _)| file != split.file) {
                    *first = Some((split.file, i));
                }
                first.map(|(_, index)| index)
            })
            .collect();
        SplitQuotes {
            seen: splits.iter().map(|_| AtomicU8::new(UNKNOWN)).collect(),
            first_of_file,
            line_break_inside: (0..files).map(|_| Mutex::new(None)).collect(),
            changed: (Mutex::new(()), Condvar::new()),
            share,
        }
    }

    /// Range `split` has been read: whether it holds a quote (`Err`: it could not
    /// be read, and the run fails).
    pub(crate) fn seen(&self, split: usize, quote: std::result::Result<bool, ()>) {
        let value = match quote {
            Ok(true) => QUOTE,
            Ok(false) => NO_QUOTE,
            Err(()) => FAILED,
        };
        self.seen[split].store(value, Ordering::Release);
        let _guard = self.changed.0.lock().unwrap_or_else(|e| e.into_inner());
        self.changed.1.notify_all();
    }

    /// How range `split` of `splits` (already `seen`) is read. `file` is its file.
    pub(crate) fn settle(
        &self,
        splits: &[Split],
        split: usize,
        file: &InputFile,
        quote: u8,
        delimiter: u8,
        max_line_bytes: usize,
    ) -> Result<Reading> {
        let earlier = self.first_of_file[split]..split;
        for other in earlier.clone().filter(|&i| i % self.share.count != self.share.index) {
            if self.seen[other].load(Ordering::Acquire) == UNKNOWN {
                self.seen(other, Ok(range_has_quote(file, splits[other], quote, max_line_bytes)?));
            }
        }
        let known = |i: usize| self.seen[i].load(Ordering::Acquire) != UNKNOWN;
        if !earlier.clone().all(known) {
            let mut guard = self.changed.0.lock().unwrap_or_else(|e| e.into_inner());
            while !earlier.clone().all(known) {
                guard = self.changed.1.wait(guard).unwrap_or_else(|e| e.into_inner());
            }
        }
        let mut first_quoted = None;
        for i in self.first_of_file[split]..=split {
            match self.seen[i].load(Ordering::Acquire) {
                FAILED => return Ok(Reading::Skip),
                QUOTE => {
                    first_quoted = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(first_quoted) = first_quoted else { return Ok(Reading::Lines) };
        let mut followed = self.line_break_inside[splits[split].file].lock().unwrap_or_else(|e| e.into_inner());
        let inside = match *followed {
            Some(inside) => inside,
            None => *followed.insert(line_break_inside(file, splits[first_quoted].start, quote, delimiter)?),
        };
        Ok(match (inside, first_quoted == split) {
            (false, _) => Reading::Lines,
            (true, true) => Reading::RestOfFile,
            (true, false) => Reading::Skip,
        })
    }
}

/// Whether the lines that start in `split` hold a quote: what the process that
/// reads the range found (`SplitQuotes::seen`), found again by another process
/// that needs it. The same lines as the range's reader takes: from the first line
/// that starts at or after the range's start, through the end of the last line
/// that starts before its end; scanned as bytes, not split into lines.
fn range_has_quote(file: &InputFile, split: Split, quote: u8, _max_line_bytes: usize) -> Result<bool> {
    use std::io::{Seek, SeekFrom};
    let io = |e| Error::io(&file.path, e);
    let mut reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&file.path).map_err(io)?);
    let mut at = split.start;
    if split.start > 0 {
        // From the byte before: a line starts at `start` if that byte ends one.
        reader.seek(SeekFrom::Start(split.start - 1)).map_err(io)?;
        at = split.start - 1 + reader.skip_until(b'\n').map_err(io)? as u64;
    }
    // Lines that start before the end: their bytes up to the end, then the rest
    // of the last one, unless the byte before the end ends it.
    let mut last = b'\n';
    while at < split.end {
        let buf = reader.fill_buf().map_err(io)?;
        if buf.is_empty() {
            return Ok(false);
        }
        let take = buf.len().min((split.end - at) as usize);
        if memchr::memchr(quote, &buf[..take]).is_some() {
            return Ok(true);
        }
        last = buf[take - 1];
        reader.consume(take);
        at += take as u64;
    }
    if last == b'\n' {
        return Ok(false);
    }
    let mut rest = Vec::new();
    reader.read_until(b'\n', &mut rest).map_err(io)?;
    Ok(memchr::memchr(quote, &rest).is_some())
}

/// Whether a line break lies inside a quoted field in `file` from the first line
/// that starts at or after `from` (a line start outside quotes): one pass of
/// [`Quotes`], stopping at the first such line break.
fn line_break_inside(file: &InputFile, from: u64, quote: u8, delimiter: u8) -> Result<bool> {
    use std::io::{Seek, SeekFrom};
    let io = |e| Error::io(&file.path, e);
    let mut reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&file.path).map_err(io)?);
    if from > 0 {
        // From the byte before: a line starts at `from` if that byte ends one.
        reader.seek(SeekFrom::Start(from - 1)).map_err(io)?;
        reader.skip_until(b'\n').map_err(io)?;
    }
    let mut quotes = Quotes::new(quote, delimiter);
    loop {
        let buf = reader.fill_buf().map_err(io)?;
        if buf.is_empty() || quotes.line_break_inside {
            return Ok(quotes.line_break_inside);
        }
        quotes.feed(buf);
        let len = buf.len();
        reader.consume(len);
    }
}

/// Follows the csv crate's quoting as bytes go by, to know whether a line break is
/// inside a quoted field and whether the input ends inside one (an unterminated
/// quote, which the parser would silently take to the end of the file). A quote
/// opens a quoted field only at the start of a field; inside one, a doubled quote
/// is a quote and a single one closes it. Where there are no quotes this is one
/// `memchr` per buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quotes {
    quote: u8,
    delimiter: u8,
    state: QuoteState,
    /// The byte before the next one fed (`None` at the start of the input, which
    /// is the start of a field).
    prev: Option<u8>,
    line_break_inside: bool,
    /// At the start of the input: how many bytes of a UTF-8 byte order mark have
    /// been seen (a quote right after one opens a field, as at the very start).
    bom: Option<usize>,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    Outside,
    Inside,
    /// A quote inside a quoted field: the next byte says whether it was doubled.
    QuoteInside,
}

impl Quotes {
    pub(crate) fn new(quote: u8, delimiter: u8) -> Self {
        Quotes { quote, delimiter, state: QuoteState::Outside, prev: None, line_break_inside: false, bom: Some(0) }
    }

    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while let Some(seen) = self.bom
            && i < bytes.len()
        {
            if bytes[i] == BOM[seen] {
                i += 1;
                self.bom = (seen + 1 < BOM.len()).then_some(seen + 1);
            } else {
                // Not a byte order mark: what was taken for one was data.
                self.bom = None;
                self.prev = seen.checked_sub(1).map(|last| BOM[last]);
            }
        }
        let first = i;
        while i < bytes.len() {
            match self.state {
                QuoteState::Outside => {
                    let Some(at) = memchr::memchr(self.quote, &bytes[i..]).map(|j| i + j) else { break };
                    let before = if at > first { Some(bytes[at - 1]) } else { self.prev };
                    if before.is_none_or(|b| b == self.delimiter || b == b'\n' || b == b'\r') {
                        self.state = QuoteState::Inside;
                    }
                    i = at + 1;
                }
                QuoteState::Inside => {
                    let end = memchr::memchr(self.quote, &bytes[i..]).map_or(bytes.len(), |j| i + j);
                    self.line_break_inside |= memchr::memchr(b'\n', &bytes[i..end]).is_some();
                    if end < bytes.len() {
                        self.state = QuoteState::QuoteInside;
                    }
                    i = end + 1;
                }
                QuoteState::QuoteInside => {
                    // Doubled: still inside. Otherwise the field has closed and this
                    // byte is read as outside.
                    if bytes[i] == self.quote {
                        self.state = QuoteState::Inside;
                        i += 1;
                    } else {
                        self.state = QuoteState::Outside;
                    }
                }
            }
        }
        if let Some(&last) = bytes[first..].last() {
            self.prev = Some(last);
        }
    }

    /// Whether the bytes so far end inside a quoted field.
    pub(crate) fn open(&self) -> bool {
        self.state == QuoteState::Inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `text` in pieces of every size: the answer must not depend on them.
    fn scan(text: &str) -> (bool, bool) {
        let mut answers = (1..=text.len().max(1)).map(|piece| {
            let mut quotes = Quotes::new(b'"', b',');
            text.as_bytes().chunks(piece).for_each(|c| quotes.feed(c));
            (quotes.open(), quotes.line_break_inside)
        });
        let first = answers.next().unwrap();
        assert!(answers.all(|a| a == first), "{text:?}");
        first
    }

    #[test]
    fn quotes_follow_the_csv_rules() {
        // (text, ends inside quotes, a line break inside quotes)
        let cases = [
            ("a,b\n", false, false),
            ("a,\"b\"\n", false, false),
            ("a,\"b\nc\"\n", false, true),
            ("a,\"b\n", true, true),
            ("a,\"b", true, false),
            ("it's \"not\" quoted\n", false, false),
            ("\"a\"\"b\"\n", false, false),
            ("\"a\"\"\n", true, true),
            ("\"a\"x\"\n", false, false),
            ("x\r\"a\n", true, true),
            ("", false, false),
            // A byte order mark is not data: the quote after it opens a field.
            ("\u{FEFF}\"a\nb\",c\n", false, true),
            ("\u{FEFF}\"a\n", true, true),
            ("\u{FEFF}x\"a\n", false, false),
        ];
        for (text, open, line_break) in cases {
            assert_eq!(scan(text), (open, line_break), "{text:?}");
        }
    }
}
