//! Text helpers for pipelines.
//!
//! Counting words is the most common thing done to text, and allocating a `String`
//! per word is what makes it slow. [`words`] splits an owned line into [`Word`]s,
//! small strings stored inline up to 24 bytes, so typical words cost no allocation
//! on their way into a `count_per_element()` table.

/// A string stored inline when short (up to 24 bytes), on the heap otherwise. It
/// derefs to `str`, hashes and compares like one, and serializes as one.
///
/// ```
/// use beam::text::Word;
///
/// let word = Word::from("cat");
/// assert_eq!(word, "cat");
/// assert_eq!(word.to_uppercase(), "CAT"); // any `str` method
/// ```
pub use compact_str::CompactString as Word;

/// The whitespace-separated words of `line` (as `str::split_whitespace` splits).
/// An owned `String` line gives [`Word`]s; a `&str` line gives `&str` slices of
/// it, which is what `read_text` lends when every stage reading it takes `&str`
/// or is `flat_map(beam::text::words)`: then no line and no word is copied until a
/// barrier keeps a word it has not seen. Takes the line by value so it can be
/// named directly in `flat_map`.
///
/// ```
/// use beam::prelude::*;
/// use beam::text::{Word, words};
///
/// let out = pipeline! {
///     lines = from_iter(vec!["to be or".to_owned(), "not  to be".to_owned()]);
///     counts = lines -> flat_map(words) -> count_per_element() -> collect();
/// }
/// .run()?;
/// let mut counts = out.counts;
/// counts.sort();
/// assert_eq!(counts[0], (Word::from("be"), 2));
/// assert_eq!(counts.len(), 4);
///
/// let borrowed: Vec<&str> = words("  to be\tor ").collect();
/// assert_eq!(borrowed, ["to", "be", "or"]);
/// # Ok::<(), beam::Error>(())
/// ```
pub fn words<L: Line>(line: L) -> L::Words {
    line.words()
}

/// A line [`words`] can split: `String` (into [`Word`]s) or `&str` (into `&str`s).
///
/// ```
/// use beam::text::{Line, Word};
///
/// let owned: Vec<Word> = "a b".to_owned().words().collect();
/// let borrowed: Vec<&str> = "a b".words().collect();
/// assert_eq!(owned, borrowed);
/// ```
#[diagnostic::on_unimplemented(
    message = "`beam::text::words` splits `String` or `&str` lines, not `{Self}`",
    label = "this stage's input is `{Self}`"
)]
pub trait Line {
    /// The iterator of the line's words.
    type Words: Iterator;
    /// The line's words.
    fn words(self) -> Self::Words;
}

impl Line for String {
    type Words = Words;
    fn words(self) -> Words {
        Words { line: self, at: 0 }
    }
}

impl<'a> Line for &'a str {
    type Words = std::str::SplitWhitespace<'a>;
    fn words(self) -> Self::Words {
        self.split_whitespace()
    }
}

/// The iterator of [`words`].
///
/// ```
/// use beam::text::{Word, words};
///
/// let mut it = words("  to be\tor ".to_owned());
/// assert_eq!(it.next(), Some(Word::from("to")));
/// assert_eq!(it.next().as_deref(), Some("be"));
/// assert_eq!(it.next().as_deref(), Some("or"));
/// assert_eq!(it.next(), None);
/// ```
#[derive(Debug, Clone)]
pub struct Words {
    line: String,
    at: usize,
}

impl Iterator for Words {
    type Item = Word;

    #[inline]
    fn next(&mut self) -> Option<Word> {
        let rest = &self.line[self.at..];
        let word = rest.split_whitespace().next()?;
        let start = self.at + (word.as_ptr() as usize - rest.as_ptr() as usize);
        self.at = start + word.len();
        Some(Word::from(word))
    }
}
