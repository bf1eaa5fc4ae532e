use std::sync::{Mutex, TryLockError};

use crate::__private::Witness;
use crate::error::Result;
use crate::runner::CHUNK;
use crate::source::Source;

/// `from_iter(items)`: a bounded source over any `IntoIterator`. Workers take turns
/// pulling chunks of elements from the iterator and process them in parallel.
#[doc(hidden)]
pub struct IterSource<I> {
    iter: Mutex<std::iter::Fuse<I>>,
}

#[doc(hidden)]
pub fn from_iter<I>(items: I) -> (IterSource<I::IntoIter>, Witness<I::Item>)
where
    I: IntoIterator,
    I::IntoIter: Send,
    I::Item: Send,
{
    (IterSource { iter: Mutex::new(items.into_iter().fuse()) }, Witness::new())
}

impl<I> Source for IterSource<I>
where
    I: Iterator + Send,
    I::Item: Send,
{
    type Item = I::Item;

    type State = ();

    fn next_chunk(&self, _: &mut (), chunk: &mut Vec<I::Item>) -> Result<bool> {
        // The user's iterator runs under the lock and may itself use rayon (a nested
        // pipeline, say), which needs every worker of the pool to take part. So a
        // worker waiting for the lock keeps running rayon's jobs instead of blocking.
        let mut iter = loop {
            match self.iter.try_lock() {
                Ok(iter) => break iter,
                // The iterator panicked in another worker, which reports that panic.
                Err(TryLockError::Poisoned(_)) => return Ok(false),
                Err(TryLockError::WouldBlock) => {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        std::thread::yield_now();
                    }
                }
            }
        };
        chunk.extend(iter.by_ref().take(CHUNK));
        Ok(!chunk.is_empty())
    }
}
