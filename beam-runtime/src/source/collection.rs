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
                // Moved from the end: one chunk's elements, not the rest of the
                // partition, into the worker's chunk, whose buffer is reused: a new
                // buffer per chunk (large, among the many small blocks a loop that
                // drops groups frees) makes the allocator consolidate every time.
                let at = last.len() - CHUNK;
                chunk.extend(last.drain(at..));
                return Ok(true);
            }
        }
        Ok(false)
    }
}
