use std::sync::Mutex;

use crate::collection::Collection;
use crate::error::Result;
use crate::runner::CHUNK;
use crate::source::Source;

/// Reads a materialized collection back in chunks, moving (not cloning) its elements.
#[doc(hidden)]
pub struct CollectionSource<T> {
    parts: Mutex<Vec<Vec<T>>>,
}

impl<T: Send> CollectionSource<T> {
    /// A source over `collection`.
    pub fn new(collection: Collection<T>) -> Self {
        let mut parts = collection.into_parts();
        // Chunks are taken from the back; reverse so the first partition goes first.
        parts.reverse();
        CollectionSource { parts: Mutex::new(parts) }
    }

    /// The collection it reads, in partition order.
    pub(crate) fn into_collection(self) -> Collection<T> {
        let mut parts = self.parts.into_inner().unwrap_or_else(|e| e.into_inner());
        parts.reverse();
        Collection::from_parts(parts)
    }
}

impl<T: Send> Source for CollectionSource<T> {
    type Item = T;

    type State = ();

    fn next_chunk(&self, _: &mut (), chunk: &mut Vec<T>) -> Result<bool> {
        let Ok(mut parts) = self.parts.lock() else { return Ok(false) };
        while let Some(last) = parts.last_mut() {
            if last.is_empty() {
                parts.pop();
            } else if last.len() <= 2 * CHUNK {
                *chunk = parts.pop().unwrap_or_default();
                return Ok(true);
            } else {
                // Split from the end: copies one chunk, not the rest of the partition.
                let at = last.len() - CHUNK;
                *chunk = last.split_off(at);
                return Ok(true);
            }
        }
        Ok(false)
    }
}
