//! The one error type of a pipeline run.

use std::fmt;
use std::path::PathBuf;

use crate::plan::StageInfo;

/// What went wrong, for callers that want to react to one kind of failure.
///
/// ```
/// use beam_runtime::{Error, ErrorKind};
/// fn is_retryable(e: &Error) -> bool {
///     matches!(e.kind(), ErrorKind::Io)
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A user closure (or a user `CombineFn`) panicked; the message is the panic's.
    UserPanic,
    /// Reading or writing a file failed (the file system's error; perhaps worth a
    /// retry).
    Io,
    /// A sink's destination already exists and `overwrite()` was not asked for;
    /// nothing was written there. Retrying will not help.
    OutputExists,
    /// The input was malformed (for example a line that is not UTF-8, or a corrupt
    /// compressed file), or a path names something that cannot be used. Retrying
    /// will not help.
    InvalidInput,
    /// The runner itself could not start, for example the thread pool.
    Runner,
}

/// Where in an input a failure happened.
///
/// ```
/// use beam::prelude::*;
/// # let dir = tempfile::tempdir().unwrap();
/// let missing = dir.path().join("missing.txt");
/// let err = pipeline! {
///     lines = read_text(&missing);
///     _all = lines -> collect();
/// }
/// .run()
/// .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Io);
/// assert_eq!(err.input().unwrap().path, missing);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputPosition {
    /// The file being read or written.
    pub path: PathBuf,
    /// 1-based line number, where one is known.
    pub line: Option<u64>,
    /// 1-based column (byte in the line), where the parser knows it.
    pub column: Option<u64>,
}

impl InputPosition {
    /// A position in `path`, at `line` if known.
    ///
    /// ```
    /// use beam::InputPosition;
    ///
    /// assert_eq!(InputPosition::new("sales.csv", Some(12)).to_string(), "sales.csv:12");
    /// assert_eq!(InputPosition::new("sales.csv", None).to_string(), "sales.csv");
    /// ```
    pub fn new(path: impl Into<PathBuf>, line: Option<u64>) -> Self {
        InputPosition { path: path.into(), line, column: None }
    }
}

impl fmt::Display for InputPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error from [`Pipeline::run`](crate::Pipeline::run): what happened, in which stage,
/// and on which input.
///
/// ```
/// use beam::prelude::*;
///
/// let result = pipeline! {
///     xs = from_iter(vec![1u32, 2, 0]);
///     _inverse = xs -> map(|x: u32| 10 / x) -> collect();
/// }
/// .run();
/// let err = result.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::UserPanic);
/// assert_eq!(err.stage().unwrap().op, "map");
/// assert!(err.to_string().contains("attempt to divide by zero"));
/// assert_eq!(err.message(), "attempt to divide by zero");
/// assert!(err.input().is_none()); // not reading a file
/// ```
#[derive(thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<Details>);

/// The message and its causes, as `main` shows an error it returns.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            write!(f, "\n  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Boxed so that `Result<T, Error>` stays small on the hot paths that return it.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.render())]
struct Details {
    kind: ErrorKind,
    stage: Option<StageInfo>,
    input: Option<InputPosition>,
    message: String,
    #[source]
    source: Option<Source>,
}

impl Error {
    /// A bug of beam's own, not of the pipeline or its input: said so, and reported
    /// as an error of the runner rather than a panic.
    pub(crate) fn internal(what: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Runner, format!("internal error in beam's runner: {what}; please report it"))
    }

    /// A new error of `kind` with a human-readable `message`.
    ///
    /// ```
    /// use beam::prelude::*;
    /// use beam::InputPosition;
    ///
    /// let err = Error::new(ErrorKind::InvalidInput, "not a price").at(InputPosition::new("prices.txt", Some(3)));
    /// assert_eq!(err.kind(), ErrorKind::InvalidInput);
    /// assert_eq!(err.message(), "not a price");
    /// assert_eq!(err.input().unwrap().line, Some(3));
    /// assert_eq!(err.to_string(), "pipeline failed at prices.txt:3: not a price");
    /// ```
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Details { kind, stage: None, input: None, message: message.into(), source: None }))
    }

    /// The error for a panic in user code, carrying the panic's message.
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let p = pipeline! {
    ///     xs = from_iter(0..3u32);
    ///     _ys = xs -> check: map(|x: u32| x) -> collect();
    /// };
    /// let payload = std::panic::catch_unwind(|| panic!("bad element")).unwrap_err();
    /// let err = Error::from_panic(&p.plan().stages[1], payload);
    /// assert_eq!(err.kind(), ErrorKind::UserPanic);
    /// assert_eq!(err.message(), "bad element");
    /// assert_eq!(err.stage().unwrap().label, Some("check"));
    /// ```
    pub fn from_panic(stage: &StageInfo, payload: Box<dyn std::any::Any + Send>) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "panic with a non-string payload".to_owned()
        };
        Error::new(ErrorKind::UserPanic, message).in_stage(stage)
    }

    /// An I/O error on `path`.
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let err = Error::io("out.txt", std::io::Error::other("disk full"));
    /// assert_eq!(err.kind(), ErrorKind::Io);
    /// assert_eq!(err.to_string(), "pipeline failed at out.txt: disk full");
    /// assert!(std::error::Error::source(&err).is_some());
    /// ```
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let message = source.to_string();
        Error::new(ErrorKind::Io, message).at(InputPosition::new(path, None)).with_source(source)
    }

    /// An I/O error on `path`, unless it carries one of ours (a reader that must
    /// speak `std::io::Read`, as the CSV parser's does, wraps its errors so): then
    /// that one, with its own position and kind.
    pub(crate) fn from_io(path: &std::path::Path, e: std::io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            if let Some(Ok(ours)) = e.into_inner().map(|inner| inner.downcast::<Error>()) {
                return *ours;
            }
            return Error::internal("lost an error on its way through a reader");
        }
        Error::io(path, e)
    }

    /// Names the stage the error happened in (kept if one is already set).
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let p = pipeline! {
    ///     xs = from_iter(0..3u32);
    ///     _ys = xs -> parse: map(|x: u32| x) -> validate: filter(|_x: &u32| true) -> collect();
    /// };
    /// let (parse, validate) = (&p.plan().stages[1], &p.plan().stages[2]);
    /// let err = Error::new(ErrorKind::InvalidInput, "bad").in_stage(parse).in_stage(validate);
    /// assert_eq!(err.stage(), Some(parse)); // the first stage named is kept
    /// ```
    pub fn in_stage(mut self, stage: &StageInfo) -> Self {
        self.0.stage.get_or_insert(*stage);
        self
    }

    /// Adds a sentence to the message: what else went wrong while handling it.
    pub(crate) fn and_also(mut self, note: &str) -> Self {
        self.0.message = format!("{}; and {note}", self.0.message);
        self
    }

    /// Names the input position the error happened at. See [`Error::new`].
    pub fn at(mut self, input: InputPosition) -> Self {
        self.0.input = Some(input);
        self
    }

    /// Chains an underlying error, reported by [`std::error::Error::source`].
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let cause = "x1".parse::<u32>().unwrap_err();
    /// let err = Error::new(ErrorKind::InvalidInput, "bad id").with_source(cause);
    /// let source = std::error::Error::source(&err).unwrap();
    /// assert_eq!(source.to_string(), "invalid digit found in string");
    /// assert!(format!("{err:?}").ends_with("caused by: invalid digit found in string"));
    /// ```
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// What kind of failure this is. See [`Error`] for an example.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The stage that failed, if the failure belongs to one. See [`Error`] for an example.
    pub fn stage(&self) -> Option<&StageInfo> {
        self.0.stage.as_ref()
    }

    /// The file (and line) that failed, if the failure belongs to one. See [`Error`] for an example.
    pub fn input(&self) -> Option<&InputPosition> {
        self.0.input.as_ref()
    }

    /// The bare message, without stage or input. See [`Error`] for an example.
    pub fn message(&self) -> &str {
        &self.0.message
    }
}

impl Details {
    fn render(&self) -> String {
        let mut out = String::new();
        if let Some(stage) = &self.stage {
            out.push_str(&format!("stage {stage}"));
            out.push_str(if self.kind == ErrorKind::UserPanic { " panicked" } else { " failed" });
        } else {
            out.push_str("pipeline failed");
        }
        if let Some(input) = &self.input {
            out.push_str(&format!(" at {input}"));
        }
        out.push_str(": ");
        out.push_str(&self.message);
        out
    }
}

/// `Result` with this crate's [`Error`].
///
/// ```
/// use beam::prelude::*;
///
/// fn evens_below(n: u32) -> beam::Result<Vec<u32>> {
///     let out = pipeline! {
///         xs = from_iter(0..n);
///         evens = xs -> filter(|x: &u32| x % 2 == 0) -> collect();
///     }
///     .run()?;
///     Ok(out.evens)
/// }
/// assert_eq!(evens_below(5)?.len(), 3);
/// # Ok::<(), beam::Error>(())
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;
