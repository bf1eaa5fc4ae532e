//! The traits `pipeline!` checks a pipeline's types with.
//!
//! Each carries, as `#[diagnostic::on_unimplemented]`, the compile error a mistake
//! in a pipeline gives: a sentence about the user's stage instead of a page of
//! runtime generics. A user never implements or names them; they are public, here,
//! so that the error names them briefly (``the trait `GroupKey` is not implemented
//! for `f64` ``) and not by a path into the runtime.
//!
//! ```compile_fail
//! use beam::prelude::*;
//!
//! // error: `f64` cannot be used as a grouping key
//! let _ = pipeline! {
//!     groups = from_iter(vec![(1.5f64, 3u32)]) -> group_by_key() -> collect();
//! };
//! ```

use std::hash::Hash;
use std::marker::PhantomData;

use crate::runner::Held;
use crate::transform::side::SideSlot;
use crate::window::Windowed;

pub use crate::transform::cogroup::CoGroupWitness;
pub use crate::transform::join::SameKey;
pub use crate::transform::timed::EventTime;
pub use crate::window::Accumulate;

/// Stands for "a collection whose elements are `T`" while the generated code is
/// type-checked, so each stage's closure is checked against its real input type.
pub struct Witness<T>(PhantomData<fn() -> T>);

// By hand: a witness is `Copy` whatever `T` is.
impl<T> Clone for Witness<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Witness<T> {}

impl<T> Witness<T> {
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Witness(PhantomData)
    }

    /// The witness of `value`'s type.
    pub fn of(_: &T) -> Self {
        Witness(PhantomData)
    }
}

/// `(key, value)` pairs, the input of every keyed transform.
#[diagnostic::on_unimplemented(
    message = "this stage needs `(key, value)` pairs, but its input is `{Self}`",
    label = "expected a `(K, V)` tuple, found `{Self}`",
    note = "make pairs first, e.g. with `key_by(|x| ...)` or `map(|x| (key, value))`; to count equal elements, use `count_per_element()`"
)]
pub trait KeyValue {
    type Key;
    type Value;
    fn into_pair(self) -> (Self::Key, Self::Value);
}

#[diagnostic::do_not_recommend]
impl<K, V> KeyValue for (K, V) {
    type Key = K;
    type Value = V;
    #[inline(always)]
    fn into_pair(self) -> (K, V) {
        self
    }
}

/// A type elements can be grouped by.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a grouping key",
    label = "keys must implement `Hash` and `Eq`",
    note = "floating-point numbers are neither: group by an integer, or by `f64::to_bits`"
)]
pub trait GroupKey: Hash + Eq + Send {}

// Not recommended, so that a key that is neither `Hash` nor `Eq` gives one error,
// this trait's, rather than one per missing trait.
#[diagnostic::do_not_recommend]
impl<T: Hash + Eq + Send> GroupKey for T {}

/// Checks that the inputs of a multi-input stage have the same element type.
#[diagnostic::on_unimplemented(
    message = "the inputs of `flatten` must have one element type, found `{T}` and `{Self}`",
    label = "this input has elements of type `{Self}`, the first has `{T}`"
)]
pub trait SameAs<T>: Sized {
    /// `held`, as a collection of the first input's type `T` (which it is).
    fn same<'a>(first: &Witness<T>, held: &'a Held<Self>) -> &'a Held<T>;
    /// [`SameAs::same`] for timestamped collections.
    fn same_timed<'a>(first: &Witness<T>, held: &'a Held<Windowed<Self>>) -> &'a Held<Windowed<T>>;
}

impl<T> SameAs<T> for T {
    fn same<'a>(_: &Witness<T>, held: &'a Held<T>) -> &'a Held<T> {
        held
    }
    fn same_timed<'a>(_: &Witness<T>, held: &'a Held<Windowed<T>>) -> &'a Held<Windowed<T>> {
        held
    }
}

/// What `read_all_text` reads: a path (a file, directory or glob).
#[diagnostic::on_unimplemented(
    message = "`read_all_text` reads the files its input names, but its input is `{Self}`",
    label = "expected paths (`String`, `&str`, `PathBuf`, ..), found `{Self}`",
    note = "make paths first, e.g. with `map(|day: u32| format!(\"logs/{{}}.txt\", day))`"
)]
pub trait FilePath {
    fn path(&self) -> &std::path::Path;
}

#[diagnostic::do_not_recommend]
impl<T: AsRef<std::path::Path>> FilePath for T {
    #[inline]
    fn path(&self) -> &std::path::Path {
        self.as_ref()
    }
}

/// A key `top` ranks elements by.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot rank elements: `top` needs a key that implements `Ord`",
    label = "this key is `{Self}`",
    note = "floating-point numbers are not `Ord`; rank by an integer, or wrap the number in a type with a total order"
)]
pub trait RankKey: Ord + Send {}

#[diagnostic::do_not_recommend]
impl<T: Ord + Send> RankKey for T {}

/// Checks a closure's declared parameter type against the stage's real input.
/// `Stage` is a marker type named after the stage, so the message can name it.
#[diagnostic::on_unimplemented(
    message = "stage `{Stage}` takes `{Declared}`, but its input is `{Self}`",
    label = "expected `{Declared}` because of this type, found `{Self}`",
    note = "the element type is fixed by the stage before this one"
)]
pub trait Accepts<Declared, Stage> {
    /// The element, as the type the closure declares (which it is).
    fn accept(self) -> Declared;
}

impl<T, Stage> Accepts<T, Stage> for T {
    #[inline(always)]
    fn accept(self) -> T {
        self
    }
}

/// Checks the type a side-input closure declares for the side value
/// (`rates: &Vec<f64>`) against what the side input holds. `Stage` names the stage,
/// as in [`Accepts`].
#[diagnostic::on_unimplemented(
    message = "the side input of stage `{Stage}` holds `{Self}`, but its closure takes `&{Declared}`",
    label = "expected `{Declared}` because of this type, found `{Self}`",
    note = "the side value's type is fixed by its collection and by `as_map`, `as_multimap`, `as_list` or `as_singleton`"
)]
pub trait SideAccepts<Declared, Stage>: Sized {
    /// The slot, as holding the type the closure declares (which it does).
    fn side(slot: &SideSlot<Self>) -> &SideSlot<Declared>;
}

impl<T, Stage> SideAccepts<T, Stage> for T {
    fn side(slot: &SideSlot<T>) -> &SideSlot<T> {
        slot
    }
}

/// Elements of a collection read by several stages are cloned for all but the last.
#[diagnostic::on_unimplemented(
    message = "`{Self}` must implement `Clone`, because this collection feeds more than one stage",
    label = "feeds more than one stage",
    note = "each reader gets its own copy of every element; derive `Clone` or feed a single stage"
)]
pub trait FanOut {
    /// A copy for a reader that is not the last. Called in the fused loop, so it
    /// must stay a static call.
    fn fan_out(&self) -> Self;
}

#[diagnostic::do_not_recommend]
impl<T: Clone> FanOut for T {
    #[inline(always)]
    fn fan_out(&self) -> T {
        self.clone()
    }
}

/// Names of the transforms whose closures declare their input type, as types: the
/// `Stage` of [`Accepts`], so that its message names the stage. Defined once here,
/// not per stage in the generated code: two stages of one name would otherwise be
/// two types of one name, which rustc tells apart by their whole paths.
/// (A stage the user labels, `keep: filter(..)`, is named by a type of its label.)
#[allow(non_camel_case_types)]
pub mod stage {
    pub struct filter;
    pub struct filter_map;
    pub struct filter_with;
    pub struct flat_map;
    pub struct flat_map_with;
    pub struct for_each;
    pub struct inspect;
    pub struct key_by;
    pub struct map;
    pub struct map_with;
    pub struct multi_output;
    pub struct partition;
    pub struct top;
    pub struct with_timestamps;
    pub struct write_text;
}
