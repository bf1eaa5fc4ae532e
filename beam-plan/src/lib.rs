//! The plan of a pipeline: its stages, which of them fuse into one loop, and where
//! data is shuffled. The `pipeline!` macro builds it at compile time; a runner
//! executes it; [`Plan::explain`] and [`Plan::to_dot`] show it without running
//! anything.
//!
//! This crate is the plan's vocabulary, defined once for the compiler (the
//! `beam-macros` crate) and the runtime (`beam-runtime`, which re-exports it as
//! `beam::plan`). Users depend on `beam`.

use std::fmt::{self, Write as _};

/// What a stage does to the shape of the data, as far as planning is concerned.
///
/// ```
/// use beam::prelude::*;
/// use beam::plan::StageKind;
///
/// let p = pipeline! {
///     xs = from_iter(vec![("a", 1u32)]);
///     _sums = xs -> sum_per_key() -> collect();
/// };
/// let kinds: Vec<StageKind> = p.plan().stages.iter().map(|s| s.kind).collect();
/// assert_eq!(kinds, [StageKind::Source, StageKind::KeyedShuffle, StageKind::Sink]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageKind {
    /// Produces elements (`from_iter`, `read_text`).
    Source,
    /// One element in, zero or more out; fused into the loop of its segment.
    ElementWise,
    /// Groups or combines by key: pre-combines inside the loop, then shuffles by key hash.
    KeyedShuffle,
    /// Combines everything into one result: per-worker accumulators, merged at the end.
    GlobalCombine,
    /// Concatenates several collections.
    Flatten,
    /// Ends a chain (`collect`, `for_each`, `write_text`).
    Sink,
    /// The records a source could not parse: `bad` in `(rows, bad) = read_csv(..)`.
    DeadLetters,
    /// What a grouping per window received too late (past the end of its window
    /// plus the allowed lateness): `late` in `(sums, late) = xs -> sum_per_key();`.
    LateData,
    /// One output of a `partition`: `small` in `(small, big) = xs -> partition(2, f)`,
    /// the elements the partition routes to it. Fused into the partition's loop.
    PartitionOutput,
}

impl StageKind {
    /// Whether the stage ends the loop of its segment: its per-worker state is
    /// merged, or its output written, once the loop has read all its input.
    ///
    /// ```
    /// use beam::plan::StageKind;
    /// assert!(StageKind::KeyedShuffle.is_barrier());
    /// assert!(!StageKind::ElementWise.is_barrier());
    /// ```
    pub fn is_barrier(self) -> bool {
        matches!(self, StageKind::KeyedShuffle | StageKind::GlobalCombine | StageKind::Sink)
    }

    /// Whether the stage's output is counted element by element inside its loop
    /// (for metrics): element-wise stages and partition outputs. A source's output is
    /// counted a chunk at a time, a barrier's when it is merged.
    ///
    /// ```
    /// use beam::plan::StageKind;
    /// assert!(StageKind::PartitionOutput.is_counted_in_loop());
    /// assert!(!StageKind::Source.is_counted_in_loop());
    /// ```
    pub fn is_counted_in_loop(self) -> bool {
        matches!(self, StageKind::ElementWise | StageKind::PartitionOutput)
    }
}

/// One stage of a pipeline as the user wrote it.
///
/// Its `Display` form, `` `map` (line 4) `` or `` `parse` (`map`, line 4) `` with a
/// label, is how errors, metrics and the plan name it.
///
/// ```
/// use beam::prelude::*;
/// let p = pipeline! {
///     xs = from_iter(0..10u32);
///     _out = xs -> double: map(|x: u32| x * 2) -> collect();
/// };
/// let double = &p.plan().stages[1];
/// assert_eq!(double.op, "map");
/// assert_eq!(double.label, Some("double"));
/// assert_eq!(double.to_string(), format!("`double` (`map`, line {})", double.line));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageInfo {
    /// Position in [`Plan::stages`].
    pub id: usize,
    /// The transform's name, e.g. `"map"`.
    pub op: &'static str,
    /// The label the user gave (`label: map(...)`), if any.
    pub label: Option<&'static str>,
    /// Line in the user's source.
    pub line: u32,
    /// Column in the user's source (1-based).
    pub column: u32,
    /// What the stage does to the shape of the data.
    pub kind: StageKind,
    /// The stages whose output this one reads, element by element.
    pub inputs: &'static [usize],
    /// The stages whose output this one reads whole, as side inputs.
    pub side_inputs: &'static [usize],
    /// The collection (or `collect()` output) this stage's result is named, if any.
    pub name: Option<&'static str>,
}

impl StageInfo {
    /// The label if there is one, else the transform's name.
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let p = pipeline! {
    ///     xs = from_iter(0..10u32);
    ///     _out = xs -> double: map(|x: u32| x * 2) -> filter(|x: &u32| *x > 4) -> collect();
    /// };
    /// let names: Vec<&str> = p.plan().stages.iter().map(|s| s.display_name()).collect();
    /// assert_eq!(names, ["from_iter", "double", "filter", "collect"]);
    /// ```
    pub fn display_name(&self) -> &'static str {
        self.label.unwrap_or(self.op)
    }
}

impl fmt::Display for StageInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.label {
            Some(label) => write!(f, "`{label}` (`{}`, line {})", self.op, self.line),
            None => write!(f, "`{}` (line {})", self.op, self.line),
        }
    }
}

/// A fused group of stages: one parallel loop over the chunks of its input, running
/// every stage in `stages` on each element with no intermediate collection.
///
/// ```
/// use beam::prelude::*;
///
/// let p = pipeline! {
///     xs = from_iter(0..10u32);
///     _out = xs -> map(|x: u32| x + 1) -> filter(|x: &u32| x % 2 == 0) -> collect();
/// };
/// // Source, map, filter and collect run in one loop.
/// assert_eq!(p.plan().segments.len(), 1);
/// assert_eq!(p.plan().segments[0].stages, [0, 1, 2, 3]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    /// What the loop reads.
    pub input: SegmentInput,
    /// The stages run inside the loop, in plan order: its input stage if the loop
    /// runs it (a source or flatten), then the stages it feeds.
    pub stages: &'static [usize],
    /// The stages whose held results the segment reads after earlier segments made
    /// them: its input's, and its stages' side inputs'; a stage read twice is listed
    /// twice.
    pub reads: &'static [usize],
    /// How the loop hands `read_text`'s lines to its stages.
    pub lends: Lending,
}

impl SegmentInfo {
    /// The stages of the loop, without its input stage.
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let p = pipeline! {
    ///     xs = from_iter(0..10u32);
    ///     _out = xs -> map(|x: u32| x + 1) -> collect();
    /// };
    /// assert_eq!(p.plan().segments[0].members(), [1, 2]);
    /// ```
    pub fn members(&self) -> &'static [usize] {
        match self.input {
            SegmentInput::Source(n) | SegmentInput::Flatten(n) if self.stages.first() == Some(&n) => &self.stages[1..],
            _ => self.stages,
        }
    }
}

/// Where a segment's elements come from.
///
/// ```
/// use beam::prelude::*;
/// use beam::plan::SegmentInput;
///
/// let p = pipeline! {
///     xs = from_iter(vec![("a", 1u32), ("a", 2)]);
///     _sums = xs -> sum_per_key() -> collect();
/// };
/// let inputs: Vec<SegmentInput> = p.plan().segments.iter().map(|s| s.input).collect();
/// // The source's loop pre-combines; a second loop reads the shuffled sums of stage 1.
/// assert_eq!(inputs, [SegmentInput::Source(0), SegmentInput::Shuffled(1)]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentInput {
    /// A source stage, run inside the segment.
    Source(usize),
    /// The result of a shuffle or global combine computed by an earlier segment.
    Shuffled(usize),
    /// The concatenation of several collections (a `flatten` stage).
    Flatten(usize),
    /// The output of a stage (the first), held and read again by a stage (the
    /// second) that could not run in the first pass: it reads a side input that
    /// the first pass computes.
    Reread(usize, usize),
}

impl SegmentInput {
    /// The stage the segment starts from: its source, flatten, or the stage whose
    /// output it reads.
    ///
    /// ```
    /// use beam::plan::SegmentInput;
    /// assert_eq!(SegmentInput::Reread(3, 5).node(), 3);
    /// ```
    pub fn node(self) -> usize {
        match self {
            SegmentInput::Source(n)
            | SegmentInput::Shuffled(n)
            | SegmentInput::Flatten(n)
            | SegmentInput::Reread(n, _) => n,
        }
    }

    /// Whether the segment runs its input stage (a source or a flatten) rather than
    /// reading a collection an earlier segment held.
    ///
    /// ```
    /// use beam::plan::SegmentInput;
    /// assert!(SegmentInput::Source(0).runs_its_input());
    /// assert!(!SegmentInput::Shuffled(2).runs_its_input());
    /// ```
    pub fn runs_its_input(self) -> bool {
        matches!(self, SegmentInput::Source(_) | SegmentInput::Flatten(_))
    }
}

/// How a loop reading `read_text` hands the lines to its stages: as owned
/// `String`s, or lent as `&str` slices of the reader's buffer when every stage
/// reading them takes `&str` (no line is copied). When every reader splits lines
/// on whitespace (`flat_map(beam::text::words)` or
/// `flat_map(|line: &str| line.split_whitespace())`), a block of whole lines is
/// lent as one `&str`: words never span lines, so no line's end is looked for.
///
/// ```
/// use beam::prelude::*;
/// use beam::plan::Lending;
///
/// let path = std::env::temp_dir().join("beam-lending-doc.txt");
/// let p = pipeline! {
///     counts = read_text(&path) -> flat_map(|line: &str| line.split_whitespace())
///         -> count_per_element() -> collect();
///     lengths = read_text(&path) -> map(|line: &str| line.len()) -> collect();
///     upper = read_text(&path) -> map(|line: String| line.to_uppercase()) -> collect();
/// };
/// // The loops over the three sources, in order (the counts are summed in a fourth).
/// let lends: Vec<Lending> = p.plan().segments.iter().filter(|s| s.input.runs_its_input()).map(|s| s.lends).collect();
/// assert_eq!(lends, [Lending::LineBlocks, Lending::Lines, Lending::Nothing]);
/// assert!(p.explain().contains("lends blocks of whole lines as `&str`"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lending {
    /// Nothing is lent: the loop's elements are owned values.
    Nothing,
    /// Each line is lent as a `&str`.
    Lines,
    /// Blocks of whole lines are lent, each as one `&str`.
    LineBlocks,
}

/// The whole plan: every stage and how they are grouped into segments.
///
/// ```
/// use beam::prelude::*;
/// let p = pipeline! {
///     words = from_iter(vec!["a b", "b"]) -> flat_map(|l: &str| l.split(' '));
///     counts = words -> count_per_element() -> collect();
/// };
/// let text = p.explain();
/// assert!(text.contains("flat_map"));
/// assert!(p.to_dot().starts_with("digraph"));
/// assert_eq!(p.plan().segments.len(), 2);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Every stage, indexed by [`StageInfo::id`].
    pub stages: &'static [StageInfo],
    /// The fused segments, in the order they run.
    pub segments: &'static [SegmentInfo],
}

impl Plan {
    /// The plan as text: one block per segment, one line per stage.
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let p = pipeline! {
    ///     xs = from_iter(0..10u32);
    ///     _evens = xs -> evens: filter(|x: &u32| x % 2 == 0) -> collect();
    /// };
    /// let text = p.plan().explain();
    /// assert!(text.starts_with("plan: 3 stages in 1 fused segments, 0 shuffles\n"), "{text}");
    /// assert!(text.contains("segment 0: one fused loop per chunk, reads source [0]"));
    /// assert!(text.contains("evens: filter"));
    /// ```
    pub fn explain(&self) -> String {
        let mut out = String::new();
        let shuffles = self.stages.iter().filter(|s| s.kind == StageKind::KeyedShuffle).count();
        let _ = writeln!(
            out,
            "plan: {} stages in {} fused segments, {} shuffle{}",
            self.stages.len(),
            self.segments.len(),
            shuffles,
            if shuffles == 1 { "" } else { "s" }
        );
        for (n, segment) in self.segments.iter().enumerate() {
            let input = match segment.input {
                SegmentInput::Source(id) => format!("reads source [{id}]"),
                SegmentInput::Shuffled(id) => format!("reads the output of [{id}]"),
                SegmentInput::Flatten(id) => format!("reads the inputs of {} [{id}]", self.stages[id].op),
                SegmentInput::Reread(id, _) => format!("reads the output of [{id}] again"),
            };
            let lends = match segment.lends {
                Lending::Nothing => "",
                Lending::Lines => ", lends lines as `&str`",
                Lending::LineBlocks => ", lends blocks of whole lines as `&str`",
            };
            let _ = writeln!(out, "segment {n}: one fused loop per chunk, {input}{lends}");
            for &id in segment.stages {
                let stage = &self.stages[id];
                let mut inputs: Vec<String> = stage.inputs.iter().map(|i| format!("[{i}]")).collect();
                inputs.extend(stage.side_inputs.iter().map(|i| format!("side [{i}]")));
                let from = if inputs.is_empty() { String::new() } else { format!("<- {}", inputs.join(" ")) };
                let _ = write!(out, "  [{id}] {:<24} line {:<4} {from:<10}", describe_op(stage), stage.line);
                if let Some(note) = kind_note(stage.kind) {
                    let _ = write!(out, " {note}");
                }
                if let Some(name) = stage.name {
                    let _ = write!(out, " => {name}");
                }
                out.truncate(out.trim_end().len());
                out.push('\n');
            }
        }
        out
    }

    /// The plan as a Graphviz DOT graph: one cluster per fused segment; shuffles are
    /// dashed edges. Render it with `dot -Tsvg plan.dot > plan.svg`.
    ///
    /// ```
    /// use beam::prelude::*;
    ///
    /// let p = pipeline! {
    ///     xs = from_iter(vec![("a", 1u32)]);
    ///     _sums = xs -> sum_per_key() -> collect();
    /// };
    /// let dot = p.plan().to_dot();
    /// assert!(dot.contains("subgraph cluster_1"), "{dot}"); // two fused segments
    /// assert!(dot.contains("s1 -> s2 [style=dashed, label=\"shuffled by key\"];"), "{dot}");
    /// ```
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph pipeline {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
        for (n, segment) in self.segments.iter().enumerate() {
            let _ = writeln!(out, "  subgraph cluster_{n} {{\n    label=\"segment {n} (fused)\";\n    style=rounded;");
            for &id in segment.stages {
                let stage = &self.stages[id];
                let mut label = format!("{}\\nline {}", describe_op(stage), stage.line);
                if let Some(name) = stage.name {
                    let _ = write!(label, "\\n=> {name}");
                }
                let shape = match stage.kind {
                    StageKind::Source => ", shape=cds",
                    StageKind::Sink => ", shape=house",
                    StageKind::KeyedShuffle | StageKind::GlobalCombine => ", style=bold",
                    _ => "",
                };
                let _ = writeln!(out, "    s{id} [label=\"{}\"{shape}];", label.replace('"', "\\\""));
            }
            out.push_str("  }\n");
        }
        for stage in self.stages {
            for &input in stage.inputs {
                let style = match self.stages[input].kind {
                    StageKind::KeyedShuffle => " [style=dashed, label=\"shuffled by key\"]",
                    StageKind::GlobalCombine => " [style=dashed, label=\"merged\"]",
                    _ => "",
                };
                let _ = writeln!(out, "  s{input} -> s{}{style};", stage.id);
            }
            for &input in stage.side_inputs {
                let _ = writeln!(out, "  s{input} -> s{} [style=dotted, label=\"side input\"];", stage.id);
            }
        }
        out.push_str("}\n");
        out
    }
}

fn describe_op(stage: &StageInfo) -> String {
    match stage.label {
        Some(label) => format!("{label}: {}", stage.op),
        None => stage.op.to_owned(),
    }
}

fn kind_note(kind: StageKind) -> Option<&'static str> {
    match kind {
        StageKind::KeyedShuffle => Some("(pre-combined per worker, then shuffled by key)"),
        StageKind::GlobalCombine => Some("(combined per worker, then merged)"),
        _ => None,
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain())
    }
}
