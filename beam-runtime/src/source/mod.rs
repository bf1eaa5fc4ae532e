//! Where a segment's elements come from: user sources (`from_iter`, `from_slice`,
//! `read_text`) and collections materialized by an earlier segment.

mod collection;
mod from_iter;
mod from_slice;
mod test_stream;

pub use collection::CollectionSource;
pub use from_iter::from_iter;
pub use from_slice::from_slice;
pub use test_stream::{TestStream, test_stream, timestamped};

use crate::context::Context;
use crate::error::Result;

/// A bounded input that parallel workers pull chunks from.
#[doc(hidden)]
pub trait Source: Sync {
    /// The element type.
    type Item: Send;
    /// What one worker keeps between chunks (an open file split, say).
    type State: Default;

    /// Checks the input before anything runs (files exist, headers match), so a bad
    /// input fails the run before any work is done.
    fn prepare(&self, _ctx: &Context) -> Result<()> {
        Ok(())
    }

    /// Appends the next chunk of about [`CHUNK`](crate::runner::CHUNK) elements to
    /// `chunk` (which is empty). Returns `Ok(false)` once the input is exhausted.
    fn next_chunk(&self, state: &mut Self::State, chunk: &mut Vec<Self::Item>) -> Result<bool>;

    /// Bytes and bad records so far, for metrics and progress.
    fn counters(&self) -> SourceCounters {
        SourceCounters::default()
    }

    /// How many elements `chunk`, just read, counts as in the metrics: its length,
    /// unless the source lends several as one (lines lent as a block of them).
    fn elements(&self, _state: &Self::State, chunk: &[Self::Item]) -> u64 {
        chunk.len() as u64
    }
}

/// What a source has read so far.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SourceCounters {
    /// Size of all its input files.
    pub bytes_total: u64,
    /// Bytes read from them so far.
    pub bytes_read: u64,
    /// Records it could not parse.
    pub bad_records: u64,
}

/// A source lent to the loop that reads it.
impl<S: Source> Source for &S {
    type Item = S::Item;
    type State = S::State;

    fn prepare(&self, ctx: &Context) -> Result<()> {
        (**self).prepare(ctx)
    }

    #[inline]
    fn next_chunk(&self, state: &mut S::State, chunk: &mut Vec<S::Item>) -> Result<bool> {
        (**self).next_chunk(state, chunk)
    }

    fn counters(&self) -> SourceCounters {
        (**self).counters()
    }

    fn elements(&self, state: &Self::State, chunk: &[Self::Item]) -> u64 {
        (**self).elements(state, chunk)
    }
}

/// Hands out an input's splits (a file source's byte ranges, an in-memory source's
/// chunks) one at a time to the workers of this process: the splits of this
/// process's [`Share`](crate::runner::Share), all of them when it runs alone.
#[doc(hidden)]
#[derive(Default)]
pub struct SplitCounter {
    next: std::sync::atomic::AtomicUsize,
    share: std::sync::OnceLock<crate::runner::Share>,
}

impl SplitCounter {
    /// Reads only `share` of the splits (set when the source is prepared).
    pub(crate) fn share(&self, share: crate::runner::Share) {
        let _ = self.share.set(share);
    }

    /// The next split in order, this process's or not (for a source read in turns).
    pub(crate) fn next_in_order(&self) -> usize {
        self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether split `k` is this process's to read.
    pub(crate) fn is_mine(&self, k: usize) -> bool {
        self.share.get().is_none_or(|share| k % share.count == share.index)
    }

    /// The index, among all splits, of the next one for a worker of this process.
    pub(crate) fn next(&self) -> usize {
        let k = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.share.get() {
            Some(share) => share.nth(k),
            None => k,
        }
    }
}
