//! Collections held between segments.

use std::sync::Mutex;

use crate::__private::{FanOut, Witness};
use crate::collection::Collection;
use crate::error::{Error, Result};
use crate::exchange::Exchangeable;

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
/// How a runner reads a collection held between segments. A collection read as
/// a segment's input is read where it is (each process its own part); a side
/// input (or a join's table) must be whole in every process, and a co-group's
/// inputs must have each key in one process: runners on several processes
/// broadcast and exchange those.
#[doc(hidden)]
pub trait ReadHeld {
    fn read<T: Send>(&self, held: &Held<T>) -> Result<Collection<T>>;

    /// The whole collection, in every process.
    fn read_everywhere<T: Send + Exchangeable>(&self, held: &Held<T>) -> Result<Collection<T>> {
        self.read(held)
    }

    /// The elements whose keys this process owns, from every process.
    fn read_by_key<T: Send + Exchangeable + KeyedElement>(&self, held: &Held<T>) -> Result<Collection<T>> {
        self.read(held)
    }
}

/// An element with a key (a pair, or a pair in a window), whose hash says which
/// process groups it.
#[doc(hidden)]
pub trait KeyedElement {
    fn key_hash(&self) -> u64;
}

impl<K: std::hash::Hash, V> KeyedElement for (K, V) {
    fn key_hash(&self) -> u64 {
        std::hash::BuildHasher::hash_one(&crate::shuffle::KeyHasher::default(), &self.0)
    }
}

impl<K: std::hash::Hash, V> KeyedElement for crate::window::Windowed<(K, V)> {
    fn key_hash(&self) -> u64 {
        self.value.key_hash()
    }
}

/// Where a sink's (empty) result goes: nowhere.
#[doc(hidden)]
pub struct Discard;
