use crate::__private::Witness;
use crate::context::Context;
use crate::error::Result;
use crate::runner::CHUNK;
use crate::source::{Source, SplitCounter};

/// `from_slice(&items)`: the elements of a slice (or `Vec`), cloned. Workers claim
/// chunks by index and clone them in parallel, where `from_iter` must take turns
/// pulling from one iterator: for elements cheap to clone (numbers, small `Copy`
/// structs), this is the faster source. Elements that own heap memory (`String`s)
/// are allocated again by the clone; when you can give the collection away,
/// `from_iter(vec)` moves them instead, and was faster for 8M owned string pairs.
#[doc(hidden)]
pub struct SliceSource<'a, T> {
    items: &'a [T],
    next: SplitCounter,
}

#[doc(hidden)]
pub fn from_slice<T: Clone + Send + Sync>(items: &[T]) -> (SliceSource<'_, T>, Witness<T>) {
    (SliceSource { items, next: SplitCounter::default() }, Witness::new())
}

impl<T: Clone + Send + Sync> Source for SliceSource<'_, T> {
    type Item = T;

    type State = ();

    fn prepare(&self, ctx: &Context) -> Result<()> {
        self.next.share(ctx.share());
        Ok(())
    }

    fn next_chunk(&self, _: &mut (), chunk: &mut Vec<T>) -> Result<bool> {
        let start = self.next.next().saturating_mul(CHUNK).min(self.items.len());
        let end = (start + CHUNK).min(self.items.len());
        chunk.extend_from_slice(&self.items[start..end]);
        Ok(start < end)
    }
}
