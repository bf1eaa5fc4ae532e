//! Reading and writing files, one module per format. `input` finds and splits
//! input files; `output` writes part files and
//! `publish` moves them into place atomically.

pub mod csv;
mod csv_fields;
mod csv_lines;
mod csv_quotes;
pub mod input;
pub mod jsonl;
mod newlines;
pub mod output;
pub(crate) mod publish;
pub mod records;
pub mod text;
