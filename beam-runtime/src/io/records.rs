//! What typed sources share: bad records and where they go, and the field names of
//! a record type (to check a CSV header against it).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::collection::Collection;
use crate::error::{Error, ErrorKind, InputPosition, Result};

/// A record that could not be parsed, as it goes to a dead-letter output: where it
/// was, its raw text, and why it failed. Serializable, so a dead-letter collection
/// can be written out like any other (`write_jsonl`).
///
/// ```
/// use beam::prelude::*;
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("points.jsonl");
/// # std::fs::write(&path, "[1, 2]\nnot json\n[3, 4]\n").unwrap();
/// let out = pipeline! {
///     (points, bad) = read_jsonl::<(i32, i32)>(&path);
///     good = points -> collect();
///     errors = bad -> collect();
/// }
/// .run()?;
/// assert_eq!(out.good.len(), 2);
/// assert_eq!(out.errors[0].line, 2);
/// assert_eq!(out.errors[0].raw, "not json");
/// # Ok::<(), beam::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BadRecord {
    /// The file it was read from.
    pub path: PathBuf,
    /// Its 1-based line number (the first line, for a record over several lines).
    pub line: u64,
    /// The 1-based column where parsing failed, where the parser knows it.
    pub column: Option<u64>,
    /// The record's text as read (invalid UTF-8 replaced).
    pub raw: String,
    /// Why it could not be parsed.
    pub reason: String,
}

impl BadRecord {
    /// The error that stops a run without a dead-letter output.
    pub fn to_error(&self) -> Error {
        Error::new(ErrorKind::InvalidInput, format!("cannot parse record: {}", self.reason)).at(InputPosition {
            path: self.path.clone(),
            line: Some(self.line),
            column: self.column,
        })
    }
}

/// Where a source's bad records go: the run fails on the first, or, when the
/// pipeline asked for a dead-letter output, they are kept for it.
#[derive(Default)]
pub struct DeadLetters {
    keep: bool,
    kept: Mutex<Vec<BadRecord>>,
    count: AtomicU64,
}

impl DeadLetters {
    /// Keep bad records for a dead-letter output instead of failing the run.
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// Handles one bad record: an error, or kept.
    pub fn bad(&self, record: BadRecord) -> Result<()> {
        self.count.fetch_add(1, Ordering::Relaxed);
        if !self.keep {
            return Err(record.to_error());
        }
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).push(record);
        Ok(())
    }

    /// How many bad records were seen.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The kept records, as the dead-letter collection.
    pub fn take(&self) -> Collection<BadRecord> {
        let kept = std::mem::take(&mut *self.kept.lock().unwrap_or_else(|e| e.into_inner()));
        Collection::from_parts(vec![kept])
    }
}

/// The field names of a struct that derives `Deserialize`, or `None` for other
/// types (tuples, maps), found by asking its `Deserialize` impl what it expects.
pub fn field_names<'de, T: Deserialize<'de>>() -> Option<&'static [&'static str]> {
    match shape::<T>() {
        Some(Shape::Struct(fields)) => Some(fields),
        _ => None,
    }
}

/// How many fields a tuple (or tuple struct) that derives `Deserialize` has, or
/// `None` for other types: its fields are read by position.
pub fn tuple_len<'de, T: Deserialize<'de>>() -> Option<usize> {
    match shape::<T>() {
        Some(Shape::Tuple(len)) => Some(len),
        _ => None,
    }
}

/// What a record type's `Deserialize` impl asks for first.
enum Shape {
    Struct(&'static [&'static str]),
    Tuple(usize),
}

fn shape<'de, T: Deserialize<'de>>() -> Option<Shape> {
    let mut found = None;
    let _ = T::deserialize(FieldNames { found: &mut found });
    found
}

struct FieldNames<'a> {
    found: &'a mut Option<Shape>,
}

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names found")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.found = Some(Shape::Struct(fields));
        Err(Stop)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, _: V) -> Result<V::Value, Stop> {
        *self.found = Some(Shape::Tuple(len));
        Err(Stop)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(self, _: &'static str, len: usize, _: V) -> Result<V::Value, Stop> {
        *self.found = Some(Shape::Tuple(len));
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq map enum identifier ignored_any
    }
}

/// The last segment of a type's path, for messages: `Sale`, not `my_app::Sale`.
pub fn short_type_name<T>() -> String {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_owned() + &full[base.len()..]
}

/// How a file source hands out its records: alone (`read_csv`), or each with the
/// path of its file (`read_csv_with_filename`).
#[doc(hidden)]
pub trait Naming<T>: 'static {
    type Item: Send;
    fn item(path: impl FnOnce() -> Arc<Path>, record: T) -> Self::Item;
}

/// Records alone.
#[doc(hidden)]
pub struct Unnamed;

/// Each record with the path of its file.
#[doc(hidden)]
pub struct WithFilename;

/// A record with the path of its file.
pub type Named<T> = (Arc<Path>, T);

impl<T: Send> Naming<T> for Unnamed {
    type Item = T;
    #[inline(always)]
    fn item(_: impl FnOnce() -> Arc<Path>, record: T) -> T {
        record
    }
}

impl<T: Send> Naming<T> for WithFilename {
    type Item = Named<T>;
    #[inline(always)]
    fn item(path: impl FnOnce() -> Arc<Path>, record: T) -> Named<T> {
        (path(), record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Sale {
        region: String,
        #[serde(rename = "amount_eur")]
        amount: f64,
    }

    #[test]
    fn finds_struct_fields_only() {
        assert_eq!(field_names::<Sale>(), Some(&["region", "amount_eur"][..]));
        assert_eq!(field_names::<(String, u32)>(), None);
        assert_eq!(tuple_len::<(String, u32, f64)>(), Some(3));
        assert_eq!(tuple_len::<Sale>(), None);
        assert_eq!(short_type_name::<Sale>(), "Sale");
    }
}
