use std::sync::{Condvar, Mutex, TryLockError};
use std::time::Duration;

use crate::__private::Witness;
use crate::context::Context;
use crate::error::Result;
use crate::runner::CHUNK;
use crate::source::{Source, SplitCounter};

/// `from_iter(items)`: a bounded source over any `IntoIterator`. Workers take turns
/// pulling chunks of elements from the iterator and process them in parallel.
#[doc(hidden)]
pub struct IterSource<I> {
    iter: Mutex<std::iter::Fuse<I>>,
    /// How many times a worker has let go of the iterator; workers waiting for it
    /// sleep on `released` until this changes.
    turns: Mutex<u64>,
    released: Condvar,
    /// Chunks of the iterator read so far, and this process's share of them.
    chunks: SplitCounter,
}

#[doc(hidden)]
pub fn from_iter<I>(items: I) -> (IterSource<I::IntoIter>, Witness<I::Item>)
where
    I: IntoIterator,
    I::IntoIter: Send,
    I::Item: Send,
{
    let source = IterSource {
        iter: Mutex::new(items.into_iter().fuse()),
        turns: Mutex::new(0),
        released: Condvar::new(),
        chunks: SplitCounter::default(),
    };
    (source, Witness::new())
}

impl<I> Source for IterSource<I>
where
    I: Iterator + Send,
    I::Item: Send,
{
    type Item = I::Item;

    type State = ();

    fn prepare(&self, ctx: &Context) -> Result<()> {
        self.chunks.share(ctx.share());
        Ok(())
    }

    fn next_chunk(&self, _: &mut (), chunk: &mut Vec<I::Item>) -> Result<bool> {
        // The user's iterator runs under the lock and may itself use rayon (a nested
        // pipeline, say), which needs every worker of the pool to take part. So a
        // worker waiting for the lock runs rayon's jobs while there are any, and
        // otherwise sleeps until the iterator is let go of, waking every millisecond
        // to look for jobs again: it neither spins nor deadlocks.
        let mut iter = loop {
            let turn = *self.turns.lock().unwrap_or_else(|e| e.into_inner());
            match self.iter.try_lock() {
                Ok(iter) => break iter,
                // The iterator panicked in another worker, which reports that panic.
                Err(TryLockError::Poisoned(_)) => return Ok(false),
                Err(TryLockError::WouldBlock) => {
                    if rayon::yield_now() == Some(rayon::Yield::Executed) {
                        continue;
                    }
                    let turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
                    if *turns == turn {
                        let _ = self.released.wait_timeout(turns, Duration::from_millis(1));
                    }
                }
            }
        };
        // With several processes, each takes every `count`-th chunk of the same
        // iterator and skips the others.
        loop {
            let k = self.chunks.next_in_order();
            if self.chunks.is_mine(k) {
                chunk.extend(iter.by_ref().take(CHUNK));
                break;
            }
            if iter.by_ref().take(CHUNK).count() == 0 {
                break;
            }
        }
        drop(iter);
        *self.turns.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.released.notify_all();
        Ok(!chunk.is_empty())
    }
}
