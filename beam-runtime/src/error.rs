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
    /// Reading or writing a file failed.
    Io,
    /// The input was malformed (for example a line that is not UTF-8).
    InvalidInput,
    /// The runner itself could not start, for example the thread pool.
    Runner,
}

/// Where in an input a failure happened.
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
    /// A new error of `kind` with a human-readable `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Details { kind, stage: None, input: None, message: message.into(), source: None }))
    }

    /// The error for a panic in user code, carrying the panic's message.
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
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let message = source.to_string();
        Error::new(ErrorKind::Io, message).at(InputPosition::new(path, None)).with_source(source)
    }

    /// Names the stage the error happened in (kept if one is already set).
    pub fn in_stage(mut self, stage: &StageInfo) -> Self {
        self.0.stage.get_or_insert(*stage);
        self
    }

    /// Names the input position the error happened at.
    pub fn at(mut self, input: InputPosition) -> Self {
        self.0.input = Some(input);
        self
    }

    /// Chains an underlying error, reported by [`std::error::Error::source`].
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The stage that failed, if the failure belongs to one.
    pub fn stage(&self) -> Option<&StageInfo> {
        self.0.stage.as_ref()
    }

    /// The file (and line) that failed, if the failure belongs to one.
    pub fn input(&self) -> Option<&InputPosition> {
        self.0.input.as_ref()
    }

    /// The bare message, without stage or input.
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
pub type Result<T, E = Error> = std::result::Result<T, E>;
