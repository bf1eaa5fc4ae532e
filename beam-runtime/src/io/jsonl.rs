//! JSON Lines: `read_jsonl::<T>` (one JSON value per line, in parallel byte ranges)
//! and `write_jsonl`.

use std::marker::PhantomData;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::__private::{Context, DeadLetterSource, Leaf, Witness, Worker};
use crate::collection::Collection;
use crate::error::Result;
use crate::execute::CHUNK;
use crate::io::input::LineReader;
use crate::io::output::{FileOutput, OutputFiles, PartFile, Writer};
use crate::io::records::{BadRecord, DeadLetters};
use crate::io::text::{InputPlan, TextInput, total_bytes};
use crate::source::{Source, SourceCounters};

/// The `read_jsonl` source. Blank lines are skipped; a line that is not a `T` is a
/// bad record.
#[doc(hidden)]
pub struct ReadJsonl<T> {
    input: TextInput,
    plan: OnceLock<InputPlan>,
    next_split: AtomicUsize,
    dead_letters: DeadLetters,
    bytes_read: AtomicU64,
    _out: PhantomData<fn() -> T>,
}

#[doc(hidden)]
pub fn read_jsonl<T: DeserializeOwned + Send>(input: impl Into<TextInput>) -> (ReadJsonl<T>, Witness<T>) {
    let source = ReadJsonl {
        input: input.into(),
        plan: OnceLock::new(),
        next_split: AtomicUsize::new(0),
        dead_letters: DeadLetters::default(),
        bytes_read: AtomicU64::new(0),
        _out: PhantomData,
    };
    (source, Witness::new())
}

#[doc(hidden)]
#[derive(Default)]
pub struct JsonlState {
    reader: Option<LineReader>,
    line: Vec<u8>,
}

impl<T> DeadLetterSource for ReadJsonl<T> {
    fn keep_bad_records(mut self) -> Self {
        self.dead_letters.keep();
        self
    }

    fn bad_records(&self) -> Collection<BadRecord> {
        self.dead_letters.take()
    }
}

impl<T: DeserializeOwned + Send> Source for ReadJsonl<T> {
    type Item = T;
    type State = JsonlState;

    fn prepare(&self, _ctx: &Context) -> Result<()> {
        let _ = self.plan.set(self.input.plan()?);
        Ok(())
    }

    fn next_chunk(&self, state: &mut JsonlState, chunk: &mut Vec<T>) -> Result<bool> {
        while chunk.len() < CHUNK {
            let reader = match &mut state.reader {
                Some(reader) => reader,
                None => match self.input.open_next(self.plan.get(), &self.next_split)? {
                    Some(reader) => state.reader.insert(reader),
                    None => break,
                },
            };
            let Some(start) = reader.next(&mut state.line)? else {
                self.bytes_read.fetch_add(reader.take_bytes_read(), Ordering::Relaxed);
                state.reader = None;
                continue;
            };
            if state.line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<T>(&state.line) {
                Ok(record) => chunk.push(record),
                Err(e) => self.dead_letters.bad(BadRecord {
                    path: reader.path().to_owned(),
                    line: reader.line_of(&start),
                    column: Some(e.column() as u64).filter(|&c| c > 0),
                    raw: String::from_utf8_lossy(&state.line).into_owned(),
                    reason: e.to_string(),
                })?,
            }
        }
        if let Some(reader) = &mut state.reader {
            self.bytes_read.fetch_add(reader.take_bytes_read(), Ordering::Relaxed);
        }
        Ok(!chunk.is_empty())
    }

    fn counters(&self) -> SourceCounters {
        SourceCounters {
            bytes_total: total_bytes(self.plan.get()),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bad_records: self.dead_letters.count(),
        }
    }
}

/// The `write_jsonl` sink: one JSON value per line.
#[doc(hidden)]
pub struct WriteJsonl<T> {
    files: OutputFiles,
    _in: PhantomData<fn(T)>,
}

#[doc(hidden)]
pub fn write_jsonl<T: Serialize>(_: Witness<T>, output: impl Into<FileOutput>) -> impl Leaf<In = T, Output = ()> {
    WriteJsonl { files: OutputFiles::new(output.into(), ".jsonl", 0), _in: PhantomData }
}

impl<T: Serialize> Leaf for WriteJsonl<T> {
    type In = T;
    type Local = PartFile<Writer>;
    type Output = ();

    fn prepare(&self, ctx: &Context) -> Result<()> {
        self.files.prepare(ctx)
    }

    fn local(&self, worker: Worker) -> PartFile<Writer> {
        self.files.part(worker)
    }

    #[inline]
    fn push(&self, part: &mut PartFile<Writer>, input: T) {
        part.write_with(|out| {
            serde_json::to_writer(&mut *out, &input)?;
            std::io::Write::write_all(out, b"\n")
        });
    }

    fn finish(self, parts: Vec<PartFile<Writer>>, ctx: &Context) -> Result<()> {
        self.files.finish(parts, ctx)
    }
}
