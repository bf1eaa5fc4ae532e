//! `multi_output(f)`: a stage with several outputs, each of its own type (Beam's
//! `ParDo.withOutputTags`, Python's `with_outputs`).
//!
//! The closure gets the element and a tuple of [`Output`]s, one per name the
//! statement gives: `(lengths, words) = lines -> multi_output(|l: String, out| {
//! out.0.emit(l.len()); for w in l.split(' ') { out.1.emit(w.to_owned()) } })`.
//! Each output's element type is what the closure emits into it. Inside the fused
//! loop an emitted element is tagged with its output (`Tagged2::O1(word)`), and the
//! loop sends each tag to that output's stages: no collection in between.

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::__private::{Stage, Witness};
use crate::window::Windowed;

/// One output of a `multi_output` stage: `out.0.emit(x)` sends `x` to the first
/// output's stages.
///
/// ```
/// use beam::prelude::*;
///
/// let out = pipeline! {
///     lines = from_iter(vec!["a bb", "", "ccc"]);
///     (lengths, words, empty) = lines -> multi_output(|line: &str, out| {
///         out.0.emit(line.len());
///         for word in line.split_whitespace() {
///             out.1.emit(word.to_owned());
///         }
///         if line.is_empty() {
///             out.2.emit(());
///         }
///     });
///     total = lengths -> sum() -> collect();
///     all_words = words -> collect();
///     blank = empty -> count() -> collect();
/// }
/// .run()?;
/// let mut all_words = out.all_words;
/// all_words.sort();
/// assert_eq!(out.total, vec![7]);
/// assert_eq!(all_words, ["a", "bb", "ccc"]);
/// assert_eq!(out.blank, vec![1]);
/// # Ok::<(), beam::Error>(())
/// ```
pub struct Output<'a, T> {
    send: &'a dyn Fn(T),
}

impl<T> Output<'_, T> {
    /// Sends `x` to this output.
    #[inline]
    pub fn emit(&self, x: T) {
        (self.send)(x)
    }
}

/// The element of a timestamped `multi_output` stage's loop, split into its
/// output's element with the input's time.
#[doc(hidden)]
pub trait Untag {
    type Split;
    fn untag(self) -> Self::Split;
}

macro_rules! multi_output {
    ($name:ident $stage:ident $tagged:ident: $($t:ident $variant:ident),+) => {
        /// An element of a `multi_output` stage's loop: which output it goes to.
        #[doc(hidden)]
        pub enum $tagged<$($t),+> {
            $($variant($t)),+
        }

        impl<$($t),+> Untag for $tagged<$($t),+> {
            type Split = Self;
            #[inline(always)]
            fn untag(self) -> Self {
                self
            }
        }

        impl<$($t),+> Untag for Windowed<$tagged<$($t),+>> {
            type Split = $tagged<$(Windowed<$t>),+>;
            #[inline(always)]
            fn untag(self) -> Self::Split {
                let Windowed { value, timestamp, window, pane } = self;
                match value {
                    $($tagged::$variant(value) => $tagged::$variant(Windowed { value, timestamp, window, pane })),+
                }
            }
        }

        #[doc(hidden)]
        pub struct $stage<Body, In, $($t),+> {
            f: Body,
            _types: PhantomData<fn(In) -> ($($t,)+)>,
        }

        #[doc(hidden)]
        #[allow(clippy::type_complexity)]
        pub fn $name<In, $($t),+, Body>(_: Witness<In>, f: Body) -> ($stage<Body, In, $($t),+>, ($(Witness<$t>,)+))
        where
            Body: for<'a> Fn(In, &mut ($(Output<'a, $t>,)+)) + Sync,
        {
            ($stage { f, _types: PhantomData }, ($(Witness::<$t>::new(),)+))
        }

        impl<Body, In, $($t),+> Stage for $stage<Body, In, $($t),+>
        where
            Body: for<'a> Fn(In, &mut ($(Output<'a, $t>,)+)) + Sync,
        {
            type In = In;
            type Out = $tagged<$($t),+>;

            #[inline(always)]
            fn process<Emit: FnMut(Self::Out)>(&self, input: In, emit: &mut Emit) {
                // Every output sends into the one loop body, through a shared cell;
                // an output is its element type alone, so errors name no tags.
                let sink = RefCell::new(emit);
                let mut outputs = ($(Output { send: &|x: $t| (sink.borrow_mut())($tagged::$variant(x)) },)+);
                (self.f)(input, &mut outputs);
            }
        }
    };
}

multi_output!(multi_output2 MultiOutput2 Tagged2: T1 O0, T2 O1);
multi_output!(multi_output3 MultiOutput3 Tagged3: T1 O0, T2 O1, T3 O2);
multi_output!(multi_output4 MultiOutput4 Tagged4: T1 O0, T2 O1, T3 O2, T4 O3);
multi_output!(multi_output5 MultiOutput5 Tagged5: T1 O0, T2 O1, T3 O2, T4 O3, T5 O4);
multi_output!(multi_output6 MultiOutput6 Tagged6: T1 O0, T2 O1, T3 O2, T4 O3, T5 O4, T6 O5);
