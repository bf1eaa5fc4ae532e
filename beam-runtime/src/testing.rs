//! Assertions on a pipeline's outputs, in the spirit of Beam's `PAssert`: a
//! collection holds exactly these elements in any order, all its elements satisfy a
//! predicate, or it is a single value. A failure names the collection and shows what
//! is missing and what is unexpected.
//!
//! ```
//! use beam::prelude::*;
//! use beam::assert_that;
//!
//! let out = pipeline! {
//!     words = from_iter(vec!["a", "b", "a"]);
//!     counts = words -> count_per_element() -> collect();
//!     total = words -> count() -> collect();
//! }
//! .run()?;
//! assert_that!(out.counts).contains_in_any_order([("a", 2), ("b", 1)]);
//! assert_that!(out.counts).all_satisfy(|(_, n)| *n > 0);
//! assert_that!(out.total).is_singleton(3);
//! # Ok::<(), beam::Error>(())
//! ```

pub use crate::source::{TestStream, timestamped};

use std::collections::HashMap;

use crate::window::{IntervalWindow, PaneInfo, Timing, Windowed};
use std::fmt::Debug;
use std::hash::Hash;

/// Starts an assertion on an output, named after the expression:
/// `assert_that!(out.counts)` names the collection `counts`. A name given after it,
/// with `format!` arguments, says which case failed when a test checks many:
///
/// ```
/// use beam::prelude::*;
/// use beam::assert_that;
///
/// for n in [0u32, 1, 100] {
///     let out = pipeline! {
///         xs = from_iter(0..n);
///         evens = xs -> filter(|x: &u32| x % 2 == 0) -> collect();
///     }
///     .run()?;
///     assert_that!(out.evens, "evens of 0..{n}").all_satisfy(|x| x % 2 == 0);
/// }
/// # Ok::<(), beam::Error>(())
/// ```
#[macro_export]
macro_rules! assert_that {
    ($collection:expr) => {
        $crate::testing::Assert::new(
            {
                let name = stringify!($collection);
                name.rsplit('.').next().unwrap_or(name)
            },
            &$collection,
        )
    };
    ($collection:expr, $($name:tt)+) => {
        $crate::testing::Assert::new(&format!($($name)+), &$collection)
    };
}

/// An assertion on the elements of one output. See [`assert_that!`](crate::assert_that).
///
/// ```
/// use beam::prelude::*;
/// use beam::assert_that;
///
/// let out = pipeline! {
///     xs = from_iter(1..=4u32);
///     evens = xs -> filter(|x: &u32| x % 2 == 0) -> collect();
///     big = xs -> filter(|x: &u32| *x > 10) -> collect();
///     total = xs -> combine_globally(Sum) -> collect();
/// }
/// .run()?;
/// assert_that!(out.evens).contains_in_any_order([4, 2]);
/// assert_that!(out.evens).all_satisfy(|x| x % 2 == 0);
/// assert_that!(out.evens).satisfies(|xs| xs.iter().sum::<u32>() == 6);
/// assert_that!(out.total).is_singleton(10);
/// assert_that!(out.big).is_empty();
/// # Ok::<(), beam::Error>(())
/// ```
///
/// A failed assertion panics with a message naming the collection:
///
/// ```should_panic
/// use beam::assert_that;
///
/// let evens = vec![2, 4, 5];
/// assert_that!(evens).all_satisfy(|x| x % 2 == 0); // `evens`: 1 of 3 elements ... 5
/// ```
pub struct Assert<'a, T> {
    name: std::borrow::Cow<'a, str>,
    elements: Elements<'a, T>,
}

/// The elements asserted on: an output, or the part of one a window-aware
/// assertion picked.
enum Elements<'a, T> {
    Borrowed(&'a [T]),
    Owned(Vec<T>),
}

/// How many elements of a failure message to show.
const SHOWN: usize = 10;

impl<'a, T: Debug> Assert<'a, T> {
    /// An assertion on `elements`, reported as the collection `name`.
    /// [`assert_that!`](crate::assert_that) calls it with the expression's name.
    ///
    /// ```
    /// use beam::testing::Assert;
    ///
    /// let counts = vec![("a", 2), ("b", 1)];
    /// Assert::new("word counts", &counts).contains_in_any_order([("b", 1), ("a", 2)]);
    /// ```
    pub fn new(name: &'a str, elements: &'a [T]) -> Self {
        Assert { name: name.into(), elements: Elements::Borrowed(elements) }
    }

    fn elements(&self) -> &[T] {
        match &self.elements {
            Elements::Borrowed(elements) => elements,
            Elements::Owned(elements) => elements,
        }
    }

    /// The collection holds exactly `expected`, in any order, each as often.
    ///
    /// See [`Assert`] for an example.
    #[track_caller]
    pub fn contains_in_any_order(&self, expected: impl IntoIterator<Item = T>)
    where
        T: Eq + Hash,
    {
        let expected: Vec<T> = expected.into_iter().collect();
        let mut balance: HashMap<&T, i64> = HashMap::new();
        for x in self.elements() {
            *balance.entry(x).or_insert(0) += 1;
        }
        for x in &expected {
            *balance.entry(x).or_insert(0) -= 1;
        }
        let mut missing: Vec<String> = Vec::new();
        let mut unexpected: Vec<String> = Vec::new();
        for (x, n) in balance {
            let list = if n < 0 { &mut missing } else { &mut unexpected };
            if n != 0 {
                list.push(if n.abs() == 1 { format!("{x:?}") } else { format!("{x:?} ({} times)", n.abs()) });
            }
        }
        if missing.is_empty() && unexpected.is_empty() {
            return;
        }
        missing.sort();
        unexpected.sort();
        panic!(
            "collection `{}` does not hold the expected elements ({} found, {} expected)\n  missing: {}\n  unexpected: {}",
            self.name,
            self.elements().len(),
            expected.len(),
            shown(&missing),
            shown(&unexpected)
        );
    }

    /// Every element satisfies `predicate`.
    ///
    /// See [`Assert`] for an example.
    #[track_caller]
    pub fn all_satisfy(&self, predicate: impl Fn(&T) -> bool) {
        let failing: Vec<String> = self.elements().iter().filter(|x| !predicate(x)).map(|x| format!("{x:?}")).collect();
        if !failing.is_empty() {
            panic!(
                "collection `{}`: {} of {} elements do not satisfy the predicate: {}",
                self.name,
                failing.len(),
                self.elements().len(),
                shown(&failing)
            );
        }
    }

    /// The elements, taken together, satisfy `check` (which may look at all of them).
    ///
    /// See [`Assert`] for an example.
    #[track_caller]
    pub fn satisfies(&self, check: impl Fn(&[T]) -> bool) {
        if !check(self.elements()) {
            let all: Vec<String> = self.elements().iter().map(|x| format!("{x:?}")).collect();
            panic!("collection `{}` does not satisfy the check; it holds {}", self.name, shown(&all));
        }
    }

    /// The collection holds exactly one element, equal to `expected`.
    ///
    /// See [`Assert`] for an example.
    #[track_caller]
    pub fn is_singleton(&self, expected: T)
    where
        T: PartialEq,
    {
        match self.elements() {
            [only] if *only == expected => {}
            [only] => panic!("collection `{}` holds {only:?}, expected {expected:?}", self.name),
            _ => panic!(
                "collection `{}` should hold exactly one element, {expected:?}, but holds {}",
                self.name,
                self.elements().len()
            ),
        }
    }

    /// The collection is empty.
    ///
    /// See [`Assert`] for an example.
    #[track_caller]
    pub fn is_empty(&self) {
        if !self.elements().is_empty() {
            let all: Vec<String> = self.elements().iter().map(|x| format!("{x:?}")).collect();
            panic!("collection `{}` should be empty, but holds {}", self.name, shown(&all));
        }
    }
}

/// Window- and pane-aware assertions on a `reify()`d output, in the spirit of
/// Beam's `PAssert.inWindow`, `inOnTimePane` and `inFinalPane`: each picks the
/// values of some panes, to assert on as any output.
///
/// ```
/// use beam::prelude::*;
/// use beam::assert_that;
/// use beam::window::{IntervalWindow, Timestamp};
/// use std::time::Duration;
///
/// let script = TestStream::new()
///     .add_elements([timestamped(("a", 1u64), 1_000), timestamped(("a", 2), 2_000)])
///     .advance_watermark_to(10_000)
///     .add_elements([timestamped(("a", 4), 3_000)])
///     .advance_watermark_to_infinity();
/// let out = pipeline! {
///     sums = test_stream(script)
///         -> window(FixedWindows::of(Duration::from_secs(10)).with_allowed_lateness(Duration::from_secs(60)))
///         -> sum_per_key()
///         -> reify()
///         -> collect();
/// }
/// .run()?;
/// let first = IntervalWindow::new(Timestamp::from(0u64), Timestamp::from(10_000u64));
/// assert_that!(out.sums).in_on_time_pane(first).is_singleton(("a", 3));
/// assert_that!(out.sums).in_late_panes(first).contains_in_any_order([("a", 4)]);
/// assert_that!(out.sums).in_window(first).contains_in_any_order([("a", 3), ("a", 4)]);
/// assert_that!(out.sums).in_final_pane(first).is_empty(); // the default trigger never finishes
/// # Ok::<(), beam::Error>(())
/// ```
impl<'a, T: Debug + Clone> Assert<'a, Windowed<T>> {
    fn panes(&self, window: IntervalWindow, what: &str, keep: impl Fn(&PaneInfo) -> bool) -> Assert<'a, T> {
        let picked =
            self.elements().iter().filter(|w| w.window == window && keep(&w.pane)).map(|w| w.value.clone()).collect();
        let name = format!("{}, {what} [{}, {})", self.name, window.start, window.end);
        Assert { name: name.into(), elements: Elements::Owned(picked) }
    }

    /// The values of every pane of `window`.
    pub fn in_window(&self, window: IntervalWindow) -> Assert<'a, T> {
        self.panes(window, "in window", |_| true)
    }

    /// The values of `window`'s on-time pane.
    pub fn in_on_time_pane(&self, window: IntervalWindow) -> Assert<'a, T> {
        self.panes(window, "in the on-time pane of", |p| p.timing == Timing::OnTime)
    }

    /// The values of `window`'s early (speculative) panes.
    pub fn in_early_panes(&self, window: IntervalWindow) -> Assert<'a, T> {
        self.panes(window, "in the early panes of", |p| p.timing == Timing::Early)
    }

    /// The values of `window`'s late panes.
    pub fn in_late_panes(&self, window: IntervalWindow) -> Assert<'a, T> {
        self.panes(window, "in the late panes of", |p| p.timing == Timing::Late)
    }

    /// The values of `window`'s final pane (the one no other follows).
    pub fn in_final_pane(&self, window: IntervalWindow) -> Assert<'a, T> {
        self.panes(window, "in the final pane of", |p| p.is_last)
    }
}

fn shown(items: &[String]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    let mut text = items.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(", and {} more", items.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let payload = std::panic::catch_unwind(f).expect_err("the assertion fails");
        payload.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn failures_name_the_collection_and_the_difference() {
        let counts = vec![("a", 2), ("b", 1), ("b", 1)];
        Assert::new("counts", &counts).contains_in_any_order([("b", 1), ("a", 2), ("b", 1)]);
        let message = panic_message(|| Assert::new("counts", &counts).contains_in_any_order([("a", 2), ("c", 5)]));
        assert!(message.contains("collection `counts`"), "{message}");
        assert!(message.contains("missing: (\"c\", 5)"), "{message}");
        assert!(message.contains("unexpected: (\"b\", 1) (2 times)"), "{message}");

        let message = panic_message(|| Assert::new("xs", &[1, 2, 3]).all_satisfy(|x| *x < 3));
        assert!(message.contains("1 of 3 elements do not satisfy the predicate: 3"), "{message}");
        let message = panic_message(|| Assert::new("total", &[1, 2]).is_singleton(1));
        assert!(message.contains("exactly one element, 1, but holds 2"), "{message}");
        Assert::new("total", &[7]).is_singleton(7);

        let w = |s: u64| IntervalWindow::new(s.into(), (s + 10).into());
        let pane =
            |timing, index| PaneInfo { timing, index, on_time_index: None, is_first: index == 0, is_last: false };
        let panes = [
            Windowed { value: 1, timestamp: 9u64.into(), window: w(0), pane: pane(Timing::Early, 0) },
            Windowed { value: 3, timestamp: 9u64.into(), window: w(0), pane: pane(Timing::OnTime, 1) },
            Windowed { value: 5, timestamp: 19u64.into(), window: w(10), pane: pane(Timing::OnTime, 0) },
        ];
        Assert::new("sums", &panes).in_on_time_pane(w(0)).is_singleton(3);
        Assert::new("sums", &panes).in_window(w(0)).contains_in_any_order([1, 3]);
        let message = panic_message(|| Assert::new("sums", &panes).in_early_panes(w(10)).is_singleton(5));
        assert!(message.starts_with("collection `sums, in the early panes of [1970-01-01T00:00:00.010Z"), "{message}");
        Assert::<u8>::new("none", &[]).is_empty();
    }
}
