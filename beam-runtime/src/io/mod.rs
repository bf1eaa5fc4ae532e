//! Reading and writing files, one module per format. `input` finds and splits
//! input files; `output` writes part files and publishes them atomically.

pub mod csv;
pub mod input;
pub mod jsonl;
pub mod output;
pub mod records;
pub mod text;
