//! Sinks end a chain: `collect`, `for_each`, `write_text`; and `materialize`, which the
//! plan inserts where a collection must be held between segments.

mod collect;
mod for_each;
mod write_text;

pub use collect::{collect, materialize};
pub use for_each::for_each;
pub use write_text::write_text;
