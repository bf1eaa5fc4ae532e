//! JSON Lines: `read_jsonl::<T>` (one JSON value per line, in parallel byte ranges)
//! and `write_jsonl`.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::__private::{DeadLetterSource, Witness};
use crate::barrier::{EachWorker, Leaf, PerWorker};
use crate::collection::Collection;
use crate::context::{Context, Scope, Worker};
use crate::error::Result;
use crate::io::output::{FileOutput, OutputFiles, Parts, Writer};
use crate::io::records::{BadRecord, DeadLetters, Named, Naming, Unnamed, WithFilename};
use crate::io::text::{LineState, Lines, TextInput};
use crate::runner::CHUNK;
use crate::source::{Source, SourceCounters};

/// The `read_jsonl` source. Blank lines are skipped; a line that is not a `T` is a
/// bad record.
#[doc(hidden)]
pub struct ReadJsonl<T, N = Unnamed> {
    lines: Lines,
    dead_letters: DeadLetters,
    _out: PhantomData<fn() -> (T, N)>,
}

#[doc(hidden)]
pub fn read_jsonl<T: DeserializeOwned + Send>(input: impl Into<TextInput>) -> (ReadJsonl<T>, Witness<T>) {
    (ReadJsonl::new(input.into()), Witness::new())
}

/// `read_jsonl_with_filename::<T>(input)`: each record with the path of its file.
#[doc(hidden)]
pub fn read_jsonl_with_filename<T: DeserializeOwned + Send>(
    input: impl Into<TextInput>,
) -> (ReadJsonl<T, WithFilename>, Witness<Named<T>>) {
    (ReadJsonl::new(input.into()), Witness::new())
}

impl<T, N> ReadJsonl<T, N> {
    fn new(input: TextInput) -> Self {
        ReadJsonl { lines: Lines::new(input), dead_letters: DeadLetters::default(), _out: PhantomData }
    }
}

impl<T, N> DeadLetterSource for ReadJsonl<T, N> {
    fn keep_bad_records(mut self) -> Self {
        self.dead_letters.keep();
        self
    }

    fn bad_records(&self) -> Collection<BadRecord> {
        self.dead_letters.take()
    }
}

impl<T: DeserializeOwned + Send, N: Naming<T>> Source for ReadJsonl<T, N> {
    type Item = N::Item;
    type State = LineState;

    fn prepare(&self, ctx: &Context) -> Result<()> {
        self.lines.prepare(ctx.share())
    }

    fn next_chunk(&self, state: &mut LineState, chunk: &mut Vec<N::Item>) -> Result<bool> {
        while chunk.len() < CHUNK {
            let Some((reader, start, line)) = self.lines.next(state)? else { break };
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<T>(line) {
                Ok(record) => chunk.push(N::item(|| self.lines.file_of(reader), record)),
                Err(e) => self.dead_letters.bad(BadRecord {
                    path: reader.path().to_owned(),
                    line: reader.line_of(&start),
                    column: Some(e.column() as u64).filter(|&c| c > 0),
                    raw: String::from_utf8_lossy(line).into_owned(),
                    reason: without_position(&e),
                })?,
            }
        }
        self.lines.count_bytes(state);
        Ok(!chunk.is_empty())
    }

    fn counters(&self) -> SourceCounters {
        self.lines.counters(self.dead_letters.count())
    }
}

/// The `write_jsonl` sink: one JSON value per line.
#[doc(hidden)]
pub struct WriteJsonl<T> {
    files: OutputFiles,
    _in: PhantomData<fn(T)>,
}

#[doc(hidden)]
pub fn write_jsonl<T: Serialize>(_: Witness<T>, output: impl Into<FileOutput>) -> impl Leaf<In = T, Out = ()> {
    PerWorker(WriteJsonl { files: OutputFiles::new(output.into(), ".jsonl"), _in: PhantomData })
}

impl<T: Serialize> EachWorker for WriteJsonl<T> {
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
        part.write_with(|out| {
            serde_json::to_writer(&mut *out, &input)?;
            std::io::Write::write_all(out, b"\n")
        });
    }

    fn finish(&self, part: Parts<Writer>, scope: &Scope) -> Result<Vec<()>> {
        self.files.finish(part, scope)?;
        Ok(Vec::new())
    }
}

/// serde_json's message without its "at line 1 column 5": the line within the
/// record is always 1, and the record's own line and column are given apart.
fn without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    message.strip_suffix(&position).map_or_else(|| message.clone(), str::to_owned)
}
