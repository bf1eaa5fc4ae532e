//! Sinks end a chain: `collect`, `for_each` (file sinks are in `io`); and `materialize`, which the
//! plan inserts where a collection must be held between segments.

mod collect;
mod for_each;

pub use collect::{collect, materialize};
pub use for_each::for_each;
