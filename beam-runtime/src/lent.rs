//! Elements borrowed from a loop's chunk: `read_text` lends its lines as `&str`
//! slices of the worker's buffer when the stages reading them take `&str`, so that
//! `read_text(p) -> flat_map(|l: &str| l.split_whitespace()) -> count_per_element()`
//! allocates nothing per line or per word.
//!
//! A borrowed element lives as long as its chunk: the fused loop runs every stage on
//! it before the buffer is reused. A barrier keeps what it receives beyond that, so
//! it keeps the element's owned form ([`Lent::Owned`]: a `Word` for `&str`): a keyed
//! table looks a borrowed key up as it is, hashing as its owned form does, and makes
//! an owned key only the first time it sees one.

use crate::exchange::Exchangeable;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;

use crate::barrier::{Keyed, KeyedCombine, Leaf};
use crate::check::Witness;
use crate::shuffle::{KeyHasher, KeyedTables};
use crate::text::Word;
use crate::transform::keyed::{Elements, Pairs};

/// A value that may borrow from a loop's chunk, and its owned form, which a barrier
/// keeps: `&str` is kept as a [`Word`] (a string stored inline up to 24 bytes),
/// `(&str, u64)` as `(Word, u64)`.
///
/// Implemented for `&str`, `&[u8]`, `String`, `Word`, numbers, `bool`, `char`, and
/// tuples (up to six), arrays, `Option`s and `Vec`s of these. Elements of other types reach barriers as they
/// are. The borrowed and the owned form hash alike (as `str` and `String` do), so a
/// keyed table finds a borrowed key without making an owned one.
///
/// ```
/// use beam::Lent;
/// use beam::text::Word;
///
/// let line = String::from("cat 2");
/// let word: &str = line.split(' ').next().unwrap();
/// let kept: (Word, u64) = (word, 2u64).own();
/// assert_eq!(kept, (Word::from("cat"), 2));
/// assert!(Lent::same_as(&word, &kept.0));
/// ```
pub trait Lent: Sized {
    /// What a barrier keeps.
    type Owned;
    /// The owned form, made when a barrier keeps the value.
    fn own(self) -> Self::Owned;
    /// Whether `owned` is this value's owned form (what a keyed table compares a
    /// borrowed key with).
    fn same_as(&self, owned: &Self::Owned) -> bool;

    /// A borrowed string key as a pointer and a length, to wait in a batch until
    /// the end of its chunk (see [`Leaf::end_chunk`](crate::barrier::Leaf::end_chunk));
    /// `None` for other values, which are looked up at once.
    #[doc(hidden)]
    #[inline(always)]
    fn park(&self) -> Option<Parked> {
        None
    }

    /// The value `park` made `parked` of.
    ///
    /// # Safety
    ///
    /// `parked` was made by `park` of a value of this type whose borrow is still
    /// valid: its chunk has not ended.
    #[doc(hidden)]
    unsafe fn unpark(_parked: &Parked) -> Self {
        unreachable!("only values that park are unparked")
    }
}

/// A borrowed key waiting in a batch: the pointer and length of a `&str` of the
/// loop's chunk, valid until the chunk ends, when the batch is added.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Parked {
    ptr: *const u8,
    len: usize,
}

// SAFETY: a parked key is read only by the worker that parked it, before its chunk
// ends (see `LentLine`).
unsafe impl Send for Parked {}

/// How a batch looks a parked key up in a table of owned keys: [`look_up_parked`]
/// for the borrowed key's type, which the batch does not know.
#[doc(hidden)]
pub type LookUpParked<K, S> = for<'t> fn(&'t mut KeyedTables<K, S>, &Parked, &dyn Fn() -> S) -> &'t mut S;

/// The state of the key that `parked`, a key of type `Q`, stands for, made owned
/// only if it is new. The key is hashed here, in the loop of look-ups, where its
/// bytes are read anyway.
#[doc(hidden)]
#[inline(always)]
pub fn look_up_parked<'t, Q: Lent + Hash, S>(
    tables: &'t mut KeyedTables<Q::Owned, S>,
    parked: &Parked,
    create: &dyn Fn() -> S,
) -> &'t mut S
where
    Q::Owned: Hash + Eq,
{
    // SAFETY: a batch holds a key parked by `Q::park` only until the end of its
    // chunk, and looks it up before then.
    let key = unsafe { Q::unpark(parked) };
    let hash = KeyHasher::default().hash_one(&key);
    tables.entry_lent(hash, key, create)
}

/// A `&str` is kept as a [`Word`]: a string stored inline up to 24 bytes, so that
/// a table of words holds most of them without a pointer to follow.
impl Lent for &str {
    type Owned = Word;
    #[inline]
    fn own(self) -> Word {
        Word::from(self)
    }
    #[inline(always)]
    fn same_as(&self, owned: &Word) -> bool {
        same_bytes(self.as_bytes(), owned.as_bytes())
    }

    #[inline(always)]
    fn park(&self) -> Option<Parked> {
        Some(Parked { ptr: self.as_ptr(), len: self.len() })
    }

    #[inline(always)]
    unsafe fn unpark(parked: &Parked) -> Self {
        // SAFETY: `parked` is a `&str` that `park` took apart and is still valid.
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(parked.ptr, parked.len)) }
    }
}

impl Lent for &[u8] {
    type Owned = Vec<u8>;
    #[inline]
    fn own(self) -> Vec<u8> {
        self.to_vec()
    }
    #[inline(always)]
    fn same_as(&self, owned: &Vec<u8>) -> bool {
        same_bytes(self, owned)
    }
}

/// `a == b`, for the short keys most tables hold (words, codes, ids) without a
/// call to `memcmp`: up to 16 bytes are compared as two loads of each side that
/// overlap in the middle. A table compares a key on every look-up that finds it,
/// and the call was a seventh of a file word count's time.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    let u64_at = |bytes: &[u8], at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let u32_at = |bytes: &[u8], at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    match len {
        0 => true,
        1..4 => a[0] == b[0] && a[len / 2] == b[len / 2] && a[len - 1] == b[len - 1],
        4..8 => u32_at(a, 0) == u32_at(b, 0) && u32_at(a, len - 4) == u32_at(b, len - 4),
        8..=16 => u64_at(a, 0) == u64_at(b, 0) && u64_at(a, len - 8) == u64_at(b, len - 8),
        _ => a == b,
    }
}

macro_rules! owned_already {
    ($($t:ty),*) => {$(
        impl Lent for $t {
            type Owned = $t;
            #[inline(always)]
            fn own(self) -> $t {
                self
            }
            #[inline(always)]
            fn same_as(&self, owned: &$t) -> bool {
                self == owned
            }
        }
    )*};
}
owned_already!(String, Word, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64, bool, char, ());

impl<T: Lent> Lent for Option<T> {
    type Owned = Option<T::Owned>;
    #[inline]
    fn own(self) -> Self::Owned {
        self.map(T::own)
    }
    #[inline]
    fn same_as(&self, owned: &Self::Owned) -> bool {
        match (self, owned) {
            (Some(a), Some(b)) => a.same_as(b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl<T: Lent> Lent for Vec<T> {
    type Owned = Vec<T::Owned>;
    fn own(self) -> Self::Owned {
        self.into_iter().map(T::own).collect()
    }
    fn same_as(&self, owned: &Self::Owned) -> bool {
        self.len() == owned.len() && self.iter().zip(owned).all(|(a, b)| a.same_as(b))
    }
}

macro_rules! lent_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Lent),+> Lent for ($($t,)+) {
            type Owned = ($($t::Owned,)+);
            #[inline]
            fn own(self) -> Self::Owned {
                ($(self.$i.own(),)+)
            }
            #[inline]
            fn same_as(&self, owned: &Self::Owned) -> bool {
                $(self.$i.same_as(&owned.$i))&&+
            }
        }
    };
}
lent_tuple!(A 0);
lent_tuple!(A 0, B 1);
lent_tuple!(A 0, B 1, C 2);
lent_tuple!(A 0, B 1, C 2, D 3);
lent_tuple!(A 0, B 1, C 2, D 3, E 4);
lent_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);

impl<T: Lent, const N: usize> Lent for [T; N] {
    type Owned = [T::Owned; N];
    #[inline]
    fn own(self) -> Self::Owned {
        self.map(T::own)
    }
    #[inline]
    fn same_as(&self, owned: &Self::Owned) -> bool {
        self.iter().zip(owned).all(|(a, b)| a.same_as(b))
    }
}

/// How a borrowed element splits into a key, looked up as it is, and a value made
/// owned, for a keyed barrier that splits as `S` does (the whole element is the key,
/// or it is a `(key, value)` pair).
#[doc(hidden)]
pub trait SplitsAs<S, K, V> {
    type Key: Lent<Owned = K> + Hash;
    fn split_lent(self) -> (Self::Key, V);
}

impl<X: Lent + Hash> SplitsAs<Elements, X::Owned, ()> for X {
    type Key = X;
    #[inline(always)]
    fn split_lent(self) -> (X, ()) {
        (self, ())
    }
}

impl<Q: Lent + Hash, W: Lent> SplitsAs<Pairs, Q::Owned, W::Owned> for (Q, W) {
    type Key = Q;
    #[inline(always)]
    fn split_lent(self) -> (Q, W::Owned) {
        (self.0, self.1.own())
    }
}

/// A line lent to the fused loop: a slice of the worker's chunk buffer, valid
/// until the worker reads its next chunk. Only [`lend`] reads it, and only for the
/// length of a call, so no borrow of it outlives the chunk.
#[doc(hidden)]
pub struct LentLine {
    ptr: *const u8,
    len: usize,
}

// SAFETY: a line is a pointer into a buffer that its worker owns and does not
// touch while the line is in use; it crosses threads only inside a chunk that the
// receiving thread reads before the buffer is reused.
unsafe impl Send for LentLine {}

impl LentLine {
    /// A line of `text`, which must stay in place and unchanged until the line has
    /// been read: the source fills its buffer for a chunk, then hands out lines of
    /// it, and refills it only when asked for the next chunk, after the loop has run
    /// every line of this one.
    pub(crate) fn of(text: &str) -> Self {
        LentLine { ptr: text.as_ptr(), len: text.len() }
    }
}

/// The lifetime `'c` of a line lent to the loop, as a value: what the fused stages
/// hand a barrier must outlive it (see [`Pushing::of`]), which is what lets a
/// barrier keep a borrowed key until the end of the chunk. Invariant in `'c`, so
/// it cannot be shortened to suit a value that lives less.
#[doc(hidden)]
pub struct Chunk<'c>(PhantomData<fn(&'c ()) -> &'c ()>);

/// Runs `f`, the fused stages after a lending source, on `line` as a `&str` that
/// cannot outlive the call.
#[doc(hidden)]
#[inline(always)]
pub fn lend<R>(line: LentLine, f: impl for<'c> FnOnce(&'c str, Chunk<'c>) -> R) -> R {
    // SAFETY: `LentLine::of` made the line from a valid `str` that stays in place
    // until the loop has run this line (see `LentLine::of`), and `f` cannot keep
    // the borrow beyond its call.
    let text = unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(line.ptr, line.len)) };
    f(text, Chunk(PhantomData))
}

/// The type a barrier keeps of elements of type `T`: its owned form if it has one
/// ([`Lent`]), else `T`. Chosen at the generated code's call site,
/// `(&Owning::of(&w)).witness()`: method resolution tries `Owning<T>`'s impl
/// ([`OwnedWitness`]) before `&Owning<T>`'s ([`SameWitness`]).
#[doc(hidden)]
pub struct Owning<T>(PhantomData<fn() -> T>);

impl<T> Owning<T> {
    pub fn of(_: &Witness<T>) -> Self {
        Owning(PhantomData)
    }
}

#[doc(hidden)]
pub trait OwnedWitness {
    type Kept;
    fn witness(&self) -> Witness<Self::Kept>;
}

impl<T: Lent> OwnedWitness for Owning<T> {
    type Kept = T::Owned;
    fn witness(&self) -> Witness<T::Owned> {
        Witness::new()
    }
}

#[doc(hidden)]
pub trait SameWitness {
    type Kept;
    fn witness(&self) -> Witness<Self::Kept>;
}

impl<T> SameWitness for &Owning<T> {
    type Kept = T;
    fn witness(&self) -> Witness<T> {
        Witness::new()
    }
}

/// An element `X` on its way into barrier `L`, in a loop whose elements may borrow
/// from its chunk. The generated code calls `(&&&Pushing::of(..)).push_element(..)`,
/// and method resolution picks the first that applies of: a keyed barrier looking
/// the borrowed key up as it is ([`PushKeyedLent`]); any barrier taking the owned
/// form ([`PushOwned`]); any barrier taking the element as it is ([`PushAsIs`]).
#[doc(hidden)]
pub struct Pushing<'a, L, X>(&'a L, PhantomData<fn(X)>);

impl<'a, L, X> Pushing<'a, L, X> {
    /// `element`, on its way into `leaf`, in the loop of the lent line `chunk`
    /// stands for. Whatever `element` borrows outlives that line, so a borrowed
    /// key may wait in a batch until the chunk ends.
    #[inline(always)]
    pub fn of<'c>(leaf: &'a L, _element: &X, _chunk: &Chunk<'c>) -> Self
    where
        X: 'c,
    {
        Pushing(leaf, PhantomData)
    }
}

#[doc(hidden)]
pub trait PushKeyedLent {
    type Local;
    type X;
    fn push_element(&self, local: &mut Self::Local, element: Self::X);
}

impl<C, X> PushKeyedLent for &&Pushing<'_, Keyed<C>, X>
where
    C: KeyedCombine<Key: Exchangeable, Acc: Exchangeable>,
    X: SplitsAs<C::Splits, C::Key, C::Value>,
{
    type Local = <Keyed<C> as Leaf>::Local;
    type X = X;
    #[inline(always)]
    fn push_element(&self, local: &mut Self::Local, element: X) {
        let combine = &self.0.0;
        let (key, value) = element.split_lent();
        let (create, add) = (|| combine.create(), |acc: &mut C::Acc, value| combine.add(acc, value));
        match key.park() {
            // A string key waits in a batch as it is, so that its look-up overlaps
            // others', and is made owned only if it is new.
            Some(parked) => local.park(parked, value, look_up_parked::<X::Key, C::Acc>, create, add),
            // Other keys (numbers, tuples) are made owned at once: cheap, and they
            // can then wait in a batch beyond the chunk.
            None => local.add(key.own(), value, create, add),
        }
    }
}

#[doc(hidden)]
pub trait PushOwned {
    type Local;
    type X;
    fn push_element(&self, local: &mut Self::Local, element: Self::X);
}

impl<L: Leaf, X: Lent<Owned = L::In>> PushOwned for &Pushing<'_, L, X> {
    type Local = L::Local;
    type X = X;
    #[inline(always)]
    fn push_element(&self, local: &mut L::Local, element: X) {
        self.0.push(local, element.own())
    }
}

#[doc(hidden)]
pub trait PushAsIs {
    type Local;
    type X;
    fn push_element(&self, local: &mut Self::Local, element: Self::X);
}

impl<L: Leaf> PushAsIs for Pushing<'_, L, L::In> {
    type Local = L::Local;
    type X = L::In;
    #[inline(always)]
    fn push_element(&self, local: &mut L::Local, element: L::In) {
        self.0.push(local, element)
    }
}

/// An argument of a stage made again for each lent element, evaluated once: `Copy`
/// values are copied ([`ReuseCopy`]), others lent by reference ([`ReuseRef`]), as a
/// function or closure held in a variable is (`&F` is a function too).
#[doc(hidden)]
pub struct Reused<'a, T>(pub &'a T);

#[doc(hidden)]
pub trait ReuseCopy {
    type Value;
    fn reuse(&self) -> Self::Value;
}

impl<T: Copy> ReuseCopy for Reused<'_, T> {
    type Value = T;
    #[inline(always)]
    fn reuse(&self) -> T {
        *self.0
    }
}

#[doc(hidden)]
pub trait ReuseRef {
    type Value;
    fn reuse(&self) -> Self::Value;
}

impl<'a, T> ReuseRef for &Reused<'a, T> {
    type Value = &'a T;
    #[inline(always)]
    fn reuse(&self) -> &'a T {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    /// A keyed table looks a borrowed key up by its hash: it must be its owned
    /// form's, or every look-up after the table grows would miss.
    #[test]
    fn borrowed_and_owned_forms_hash_alike() {
        let hasher = KeyHasher::default();
        for text in ["", "a", "twenty-four bytes exact!", "longer than twenty-four bytes, so on the heap", "日本"] {
            assert_eq!(hasher.hash_one(text), hasher.hash_one(text.own()), "{text:?}");
            assert_eq!(hasher.hash_one((text, 7u64)), hasher.hash_one((text, 7u64).own()));
            assert_eq!(hasher.hash_one((3u32, Some(text))), hasher.hash_one((3u32, Some(text)).own()));
            assert_eq!(hasher.hash_one(vec![text, text]), hasher.hash_one(vec![text, text].own()));
            assert_eq!(hasher.hash_one([text, "b"]), hasher.hash_one([text, "b"].own()));
            assert!([text, "b"].same_as(&[text, "b"].own()));
            assert!(text.same_as(&text.own()));
            assert!(!text.same_as(&Word::from("x")));
        }
    }

    /// Every pair of byte strings up to 20 bytes that differ in one byte, or in
    /// length, compares unequal; every string equals itself.
    #[test]
    fn short_keys_compare_as_slices_do() {
        for len in 0..=20usize {
            let a: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37).wrapping_add(1)).collect();
            assert!(same_bytes(&a, &a.clone()));
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x40;
                assert!(!same_bytes(&a, &b), "{len} bytes, differing at {at}");
            }
            let mut longer = a.clone();
            longer.push(0);
            assert!(!same_bytes(&a, &longer));
        }
    }

    #[test]
    fn a_parked_key_is_the_key() {
        let line = String::from("key rest");
        let key = &line[..3];
        let parked = key.park().expect("a string key parks");
        // SAFETY: `line` is alive and unchanged.
        assert_eq!(unsafe { <&str>::unpark(&parked) }, "key");
        assert!(7u64.park().is_none());
    }
}
