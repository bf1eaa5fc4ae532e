//! The transforms' runtime halves. Each function here is what `pipeline!` calls for
//! one transform of the same name; it checks the stage's arguments against the
//! stage's input type and returns the stage (or leaf) the fused loop runs.

pub mod cogroup;
pub mod elementwise;
pub mod global;
pub mod join;
pub mod keyed;
pub mod multi;
pub mod side;
pub mod timed;
