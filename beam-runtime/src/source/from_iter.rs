use std::sync::Mutex;

use crate::__private::Witness;
use crate::error::Result;
use crate::execute::CHUNK;
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
        // A poisoned lock means the iterator panicked in another worker, which
        // reports that panic; this worker just stops.
        let Ok(mut iter) = self.iter.lock() else { return Ok(false) };
        chunk.extend(iter.by_ref().take(CHUNK));
        Ok(!chunk.is_empty())
    }
}
