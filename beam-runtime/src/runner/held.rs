//! Collections held between segments.

use std::sync::Mutex;

use crate::__private::{FanOut, Witness};
use crate::collection::Collection;
use crate::error::{Error, Result};

/// A collection one segment makes and later ones read: a barrier's result, a
/// collection held for a `flatten`, a side input or a second pass, a source's bad
/// records, or a `collect()` output.
///
/// The generated code makes one per such collection, typed; the runner fills it
/// and decides how each reader gets it ([`ReadHeld`]): the local runner moves it to
/// its last reader and gives the others a copy. A collection read by several
/// segments is made with [`Held::shared`], which requires its elements to be
/// `Clone`.
#[doc(hidden)]
pub struct Held<T> {
    /// The stage whose result it is.
    stage: usize,
    value: Mutex<Option<Collection<T>>>,
    copy: Option<Copier<T>>,
}

/// How a collection read by several segments is copied for all but its last reader.
type Copier<T> = fn(&Collection<T>) -> Collection<T>;

impl<T> Held<T> {
    /// Holds the result of `stage`, read by at most one segment.
    pub fn new(stage: usize, _: Witness<T>) -> Self {
        Held { stage, value: Mutex::new(None), copy: None }
    }

    /// Holds the result of `stage`, read by several segments.
    pub fn shared(stage: usize, _: Witness<T>) -> Self
    where
        T: FanOut,
    {
        Held { stage, value: Mutex::new(None), copy: Some(Collection::copy) }
    }

    /// The elements of a `collect()` output, for the struct `run()` returns.
    pub fn into_output(self) -> Result<Vec<T>> {
        self.take().map(Collection::into_vec)
    }

    /// The stage whose result it holds.
    pub fn stage(&self) -> usize {
        self.stage
    }

    pub(crate) fn put(&self, collection: Collection<T>) {
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) = Some(collection);
    }

    /// Adds `collection` to what is held (nothing, if its readers took it).
    pub(crate) fn append(&self, collection: Collection<T>) {
        let mut value = self.value.lock().unwrap_or_else(|e| e.into_inner());
        *value = Some(match value.take() {
            Some(held) => Collection::concat(vec![held, collection]),
            None => collection,
        });
    }

    /// The collection, moved out: for its last reader.
    pub(crate) fn take(&self) -> Result<Collection<T>> {
        let taken = self.value.lock().unwrap_or_else(|e| e.into_inner()).take();
        taken.ok_or_else(|| Error::internal(format!("the result of stage {} is read before it is made", self.stage)))
    }

    /// A copy of the collection: for a reader before the last.
    pub(crate) fn copy(&self) -> Result<Collection<T>> {
        let value = self.value.lock().unwrap_or_else(|e| e.into_inner());
        match (&*value, self.copy) {
            (Some(collection), Some(copy)) => Ok(copy(collection)),
            (None, _) => Err(Error::internal(format!("the result of stage {} is read before it is made", self.stage))),
            (Some(_), None) => Err(Error::internal(format!("the result of stage {} is read twice", self.stage))),
        }
    }
}

/// How the segments a runner runs read the collections earlier ones held.
#[doc(hidden)]
pub trait ReadHeld {
    fn read<T: Send>(&self, held: &Held<T>) -> Result<Collection<T>>;
}

/// Where a sink's (empty) result goes: nowhere.
#[doc(hidden)]
pub struct Discard;
