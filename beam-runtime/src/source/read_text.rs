use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::Mutex;

use crate::__private::Witness;
use crate::error::{Error, ErrorKind, InputPosition, Result};
use crate::execute::CHUNK;
use crate::source::Source;

/// `read_text(path)`: the lines of a UTF-8 text file, without their line endings
/// (`\n` or `\r\n`). A line that is not UTF-8 stops the run with an error naming the
/// file and line.
#[doc(hidden)]
pub struct ReadText {
    path: PathBuf,
    state: Mutex<ReadState>,
}

enum ReadState {
    NotOpened,
    Reading { reader: BufReader<File>, line: u64 },
    Done,
}

#[doc(hidden)]
pub fn read_text(path: impl Into<PathBuf>) -> (ReadText, Witness<String>) {
    (ReadText { path: path.into(), state: Mutex::new(ReadState::NotOpened) }, Witness::new())
}

impl ReadText {
    fn position(&self, line: u64) -> InputPosition {
        InputPosition { path: self.path.clone(), line: Some(line) }
    }
}

impl Source for ReadText {
    type Item = String;
    type State = ();

    fn next_chunk(&self, _: &mut (), chunk: &mut Vec<String>) -> Result<bool> {
        let Ok(mut state) = self.state.lock() else { return Ok(false) };
        if let ReadState::NotOpened = *state {
            let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
            *state = ReadState::Reading { reader: BufReader::with_capacity(1 << 16, file), line: 0 };
        }
        let ReadState::Reading { reader, line } = &mut *state else { return Ok(false) };
        let mut bytes = Vec::new();
        while chunk.len() < CHUNK {
            bytes.clear();
            let read = reader
                .read_until(b'\n', &mut bytes)
                .map_err(|e| Error::io(&self.path, e).at(self.position(*line + 1)))?;
            if read == 0 {
                *state = ReadState::Done;
                break;
            }
            *line += 1;
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
            }
            match String::from_utf8(std::mem::take(&mut bytes)) {
                Ok(text) => chunk.push(text),
                Err(e) => {
                    return Err(Error::new(ErrorKind::InvalidInput, "line is not valid UTF-8")
                        .at(self.position(*line))
                        .with_source(e.utf8_error()));
                }
            }
        }
        Ok(!chunk.is_empty())
    }
}
