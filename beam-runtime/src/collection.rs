//! A materialized collection: the elements between two segments, kept in the
//! partitions that produced them (one per shuffle partition or per worker).

/// The elements of a collection held in memory, split into partitions.
///
/// Collections are unordered, as in Beam: the partitions and the order within them
/// depend on hashing and on thread timing.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq)]
pub struct Collection<T> {
    parts: Vec<Vec<T>>,
}

impl<T> Collection<T> {
    /// A collection made of these partitions.
    pub fn from_parts(parts: Vec<Vec<T>>) -> Self {
        Collection { parts }
    }

    /// Concatenates several collections without copying their elements.
    pub fn concat(collections: Vec<Collection<T>>) -> Self {
        Collection { parts: collections.into_iter().flat_map(|c| c.parts).collect() }
    }

    /// How many elements the collection holds.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }

    /// Whether it holds no element.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(Vec::is_empty)
    }

    /// The partitions.
    pub fn into_parts(self) -> Vec<Vec<T>> {
        self.parts
    }

    /// A copy, for one of several readers of the collection.
    pub fn copy(&self) -> Self
    where
        T: crate::check::FanOut,
    {
        Collection { parts: self.parts.iter().map(|part| part.iter().map(T::fan_out).collect()).collect() }
    }

    /// All elements in one vector.
    pub fn into_vec(self) -> Vec<T> {
        let mut parts = self.parts;
        if parts.len() == 1 {
            return parts.pop().unwrap_or_default();
        }
        let mut all = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for part in parts {
            all.extend(part);
        }
        all
    }
}
