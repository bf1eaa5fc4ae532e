//! The transform registry: one entry per transform, read by every later phase.
//! Adding a transform means one entry here and one function of the same name in
//! `beam-runtime` (`__private::ops`).

/// How a transform fits into the plan: the plan's own vocabulary, shared with the
/// runtime. Beside the transforms users call, the graph adds nodes of two kinds:
/// `DeadLetters` for a source's bad records (`bad` in `(rows, bad) = read_csv(..)`)
/// and `PartitionOutput` for each output of a `partition`.
pub use beam_plan::StageKind as Kind;

/// How a transform's closure argument takes the element, for checking the type the
/// closure declares against the stage's input (`|l: u32|` after a `String` stage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakesElement {
    ByValue,
    ByRef,
}

/// How a transform treats event time (see the `time` phase).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Time {
    /// It works on values. In a timestamped collection each output of an
    /// element-wise stage keeps its input's timestamp and window, and a barrier
    /// works per window.
    Values,
    /// It gives elements timestamps: `with_timestamps`.
    Stamps,
    /// It puts timestamped elements into windows: `window`. Its input must have
    /// timestamps.
    Windows,
    /// It hands the whole windowed element to the next stage: `reify`.
    Reads,
}

/// What a transform reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inputs {
    /// Nothing: a source starts a statement.
    None,
    /// One collection, element by element.
    One,
    /// Two or more collections of one element type, concatenated: `(a, b) -> flatten()`.
    Concat,
    /// Two to `most` keyed collections, held and grouped by key together:
    /// `(a, b) -> co_group_by_key()`. The runtime has a function `<name>_witness`
    /// beside the transform's, which names the grouped element type.
    Grouped { most: usize },
    /// Two keyed collections, `(orders, customers) -> join()`: the right one is read
    /// whole into a hash table (a side input), the left one streams past it, a
    /// chunk at a time looked up ahead (`LookAhead`).
    Join,
}

/// What a transform produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outputs {
    /// One collection.
    One,
    /// Nothing: a sink such as `for_each` or `write_text`.
    Nothing,
    /// A field of what `run()` returns, named by the statement: `out = xs -> collect();`.
    Field,
    /// One collection per name given, `(small, big) = xs -> partition(2, f)`; how many
    /// is the first argument, an integer literal. The graph adds a `PartitionOutput`
    /// node per name, and the stage routes each element to one of them.
    PerName,
    /// Its records, and, if a second name is given, its bad records:
    /// `(rows, bad) = read_csv(..)`. The graph adds a `DeadLetters` node for them.
    WithBadRecords,
    /// Its result, and, if a second name is given, what it received too late (a
    /// grouping of an unbounded, windowed input): `(sums, late) = xs ->
    /// sum_per_key();`. The graph adds a `LateData` node for them.
    WithLateData,
}

/// One transform, as every phase sees it.
pub struct OpSpec {
    pub name: &'static str,
    pub kind: Kind,
    /// Argument names, as shown in messages: `map(f)`, `top(n, key)`.
    pub args: &'static [&'static str],
    pub inputs: Inputs,
    pub outputs: Outputs,
    /// Which argument is a closure that takes the whole element, and how.
    pub closure: Option<(usize, TakesElement)>,
    /// Which argument names a side input (`as_map(rates)`), read whole.
    pub side: Option<usize>,
    pub time: Time,
    /// A convenience transform built as another one with a fixed combiner:
    /// `sum_per_key()` is `combine_per_key(Sum)`.
    pub via: Option<(&'static str, &'static str)>,
    /// One line for the README's table of transforms (checked by a test).
    #[cfg_attr(not(test), allow(dead_code))]
    pub doc: &'static str,
    /// The name of its runtime functions (`<function>`, `<function>_witness`, ..):
    /// its own, but for a transform that runs another way per window.
    pub function: &'static str,
    /// How it runs when its inputs are windowed alike, if not as written: a join
    /// of two timestamped inputs groups both per window, as Beam's joins are built
    /// on `CoGroupByKey` (see the `time` phase).
    pub per_window: Option<&'static OpSpec>,
}

impl OpSpec {
    pub fn signature(&self) -> String {
        format!("{}({})", self.name, self.args.join(", "))
    }

    /// Whether the stage ends the loop of its segment (its result is materialized).
    pub fn is_barrier(&self) -> bool {
        self.kind.is_barrier()
    }
}

use Kind::*;
use TakesElement::*;

const fn op(name: &'static str, kind: Kind, args: &'static [&'static str], doc: &'static str) -> OpSpec {
    let (inputs, outputs) = match kind {
        Source => (Inputs::None, Outputs::One),
        Flatten => (Inputs::Concat, Outputs::One),
        Sink => (Inputs::One, Outputs::Nothing),
        KeyedShuffle | GlobalCombine => (Inputs::One, Outputs::WithLateData),
        _ => (Inputs::One, Outputs::One),
    };
    OpSpec {
        name,
        kind,
        args,
        inputs,
        outputs,
        closure: None,
        side: None,
        time: Time::Values,
        via: None,
        doc,
        function: name,
        per_window: None,
    }
}

/// `join` and `left_join` of two timestamped inputs: grouped per window, each pane's
/// values paired (`<function>_per_pane`).
pub static JOIN_PER_WINDOW: OpSpec = OpSpec {
    function: "join_per_window",
    ..reading(op("join", Flatten, &[], "`join` of timestamped inputs, per window"), Inputs::Grouped { most: 2 })
};
pub static LEFT_JOIN_PER_WINDOW: OpSpec = OpSpec {
    function: "left_join_per_window",
    ..reading(
        op("left_join", Flatten, &[], "`left_join` of timestamped inputs, per window"),
        Inputs::Grouped { most: 2 },
    )
};

const fn per_window(spec: OpSpec, grouped: &'static OpSpec) -> OpSpec {
    OpSpec { per_window: Some(grouped), ..spec }
}

/// The node for one output of a `partition` (see [`Outputs::PerName`]).
pub static PARTITION_OUTPUT: OpSpec = op("partition_output", PartitionOutput, &[], "one output of a partition");

/// The node for one output of a `multi_output`, planned as a partition's.
pub static MULTI_OUTPUT_PORT: OpSpec = op("output", PartitionOutput, &[], "one output of a `multi_output`");

/// The node for a source's bad records (see [`Outputs::WithBadRecords`]).
pub static BAD_RECORDS: OpSpec = op("bad_records", DeadLetters, &[], "the records a source could not parse");

/// The node for what a grouping received too late (see [`Outputs::WithLateData`]).
pub static LATE_DATA: OpSpec = op("late_data", LateData, &[], "what a grouping per window received too late");

const fn reading(spec: OpSpec, inputs: Inputs) -> OpSpec {
    OpSpec { inputs, ..spec }
}

const fn making(spec: OpSpec, outputs: Outputs) -> OpSpec {
    OpSpec { outputs, ..spec }
}

const fn with_side(spec: OpSpec) -> OpSpec {
    OpSpec { side: Some(0), ..spec }
}

const fn via(spec: OpSpec, generic: &'static str, combiner: &'static str) -> OpSpec {
    OpSpec { via: Some((generic, combiner)), ..spec }
}

const fn timing(spec: OpSpec, time: Time) -> OpSpec {
    OpSpec { time, ..spec }
}

const fn with_closure(spec: OpSpec, arg: usize, takes: TakesElement) -> OpSpec {
    OpSpec { closure: Some((arg, takes)), ..spec }
}

pub static OPS: &[OpSpec] = &[
    // Sources.
    op("from_iter", Source, &["items"], "the items of any `IntoIterator` (bounded)"),
    op(
        "from_slice",
        Source,
        &["items"],
        "the elements of a slice or `Vec`, cloned, read in parallel (faster than `from_iter` for elements cheap to clone)",
    ),
    op(
        "read_text",
        Source,
        &["input"],
        "the lines of text files (a file, directory or glob), as `String`, or lent as `&str` when every stage reading them takes `&str`",
    ),
    op(
        "read_text_with_filename",
        Source,
        &["input"],
        "`(path, line)`: each line with the path of its file, as `(Arc<Path>, String)`",
    ),
    making(
        op("read_jsonl", Source, &["input"], "one `T: Deserialize` per line of JSON Lines files"),
        Outputs::WithBadRecords,
    ),
    making(
        op(
            "read_jsonl_with_filename",
            Source,
            &["input"],
            "`(path, record)`: each `T` of JSON Lines files with the path of its file",
        ),
        Outputs::WithBadRecords,
    ),
    making(op("read_csv", Source, &["input"], "one `T: Deserialize` per record of CSV files"), Outputs::WithBadRecords),
    making(
        op(
            "read_csv_with_filename",
            Source,
            &["input"],
            "`(path, record)`: each `T` of CSV files with the path of its file",
        ),
        Outputs::WithBadRecords,
    ),
    timing(
        op(
            "test_stream",
            Source,
            &["script"],
            "the timestamped elements of a `TestStream` script, bundle by bundle (unbounded: runs tick by tick)",
        ),
        Time::Stamps,
    ),
    // Element-wise.
    with_closure(op("map", ElementWise, &["f"], "`f(x)` for every element"), 0, ByValue),
    with_closure(op("flat_map", ElementWise, &["f"], "every item of the `IntoIterator` `f(x)`"), 0, ByValue),
    with_closure(op("filter", ElementWise, &["predicate"], "the elements for which `predicate(&x)` is true"), 0, ByRef),
    with_closure(op("filter_map", ElementWise, &["f"], "`y` for every `f(x)` that is `Some(y)`"), 0, ByValue),
    with_closure(op("inspect", ElementWise, &["f"], "calls `f(&x)`, passes `x` on"), 0, ByRef),
    with_closure(op("key_by", ElementWise, &["key"], "`(key(&x), x)`"), 0, ByRef),
    op("keys", ElementWise, &[], "`k` of every `(k, v)`"),
    op("values", ElementWise, &[], "`v` of every `(k, v)`"),
    op("map_values", ElementWise, &["f"], "`(k, f(v))` for every `(k, v)`"),
    op("kv_swap", ElementWise, &[], "`(v, k)` for every `(k, v)`"),
    making(
        with_closure(
            op("partition", ElementWise, &["n", "f"], "`n` outputs, each element to output `f(&x)`"),
            1,
            ByRef,
        ),
        Outputs::PerName,
    ),
    making(
        with_closure(
            op(
                "multi_output",
                ElementWise,
                &["f"],
                "one output per name, each of its own type: `f(x, out)` sends to them with `out.0.emit(y)`, `out.1.emit(z)`, ..",
            ),
            0,
            ByValue,
        ),
        Outputs::PerName,
    ),
    with_closure(
        with_side(op("map_with", ElementWise, &["side", "f"], "`f(x, &side)`, with another collection read whole")),
        1,
        ByValue,
    ),
    with_closure(
        with_side(op(
            "filter_with",
            ElementWise,
            &["side", "predicate"],
            "the elements for which `predicate(&x, &side)` is true",
        )),
        1,
        ByRef,
    ),
    with_closure(
        with_side(op("flat_map_with", ElementWise, &["side", "f"], "every item of `f(x, &side)`")),
        1,
        ByValue,
    ),
    // Joins: the right input is read whole, the left streams past it.
    per_window(
        reading(
            op("join", ElementWise, &[], "`(k, (v1, v2))` for every pair of values of a key in both inputs"),
            Inputs::Join,
        ),
        &JOIN_PER_WINDOW,
    ),
    per_window(
        reading(
            op("left_join", ElementWise, &[], "`(k, (v1, Some(v2)))`, or `(k, (v1, None))` when the right has no `k`"),
            Inputs::Join,
        ),
        &LEFT_JOIN_PER_WINDOW,
    ),
    // Event time.
    timing(
        with_closure(
            op(
                "with_timestamps",
                ElementWise,
                &["f"],
                "each element at event time `f(&x)`: a `Timestamp`, or milliseconds since the epoch",
            ),
            0,
            ByRef,
        ),
        Time::Stamps,
    ),
    timing(
        op(
            "window",
            ElementWise,
            &["windows"],
            "each timestamped element into the windows of its time; groupings after it work per window",
        ),
        Time::Windows,
    ),
    timing(
        op("reify", ElementWise, &[], "`Windowed<T>`: each element with its timestamp, window and pane"),
        Time::Reads,
    ),
    // Keyed: pre-combined, then shuffled by key.
    op("group_by_key", KeyedShuffle, &[], "`(k, Vec<v>)`: all values of each key"),
    op("combine_per_key", KeyedShuffle, &["combiner"], "`(k, out)`: a `CombineFn` over each key's values"),
    op("count_per_element", KeyedShuffle, &[], "`(x, n)`: how often each distinct element occurs"),
    op("distinct", KeyedShuffle, &[], "every distinct element once"),
    op(
        "top_per_key",
        KeyedShuffle,
        &["n", "key"],
        "`(k, Vec<v>)`: each key's `n` values with the largest `key(&v)`, largest first",
    ),
    op("reduce_per_key", KeyedShuffle, &["f"], "`(k, v)`: each key's values combined two at a time by `f(a, b)`"),
    via(op("count_per_key", KeyedShuffle, &[], "`(k, n)`: how many values each key has"), "combine_per_key", "Count"),
    via(op("sum_per_key", KeyedShuffle, &[], "`(k, sum)` of each key's values"), "combine_per_key", "Sum"),
    via(op("min_per_key", KeyedShuffle, &[], "`(k, min)` of each key's values"), "combine_per_key", "Min"),
    via(op("max_per_key", KeyedShuffle, &[], "`(k, max)` of each key's values"), "combine_per_key", "Max"),
    via(op("mean_per_key", KeyedShuffle, &[], "`(k, mean)` of each key's values, as `f64`"), "combine_per_key", "Mean"),
    // Global.
    op(
        "read_all_text",
        GlobalCombine,
        &[],
        "the lines of the files each path names (a file, directory or glob), for paths computed in the pipeline",
    ),
    op("combine_globally", GlobalCombine, &["combiner"], "one element: a `CombineFn` over all elements"),
    op(
        "reduce",
        GlobalCombine,
        &["f"],
        "one element: all elements combined two at a time by `f(a, b)` (none if there are none)",
    ),
    via(op("count", GlobalCombine, &[], "one element: the number of elements (`u64`)"), "combine_globally", "Count"),
    via(
        op("sum", GlobalCombine, &[], "one element: the sum of all elements (zero if there are none)"),
        "combine_globally",
        "Sum",
    ),
    via(
        op("min", GlobalCombine, &[], "one element: the smallest element (none if there are none)"),
        "combine_globally",
        "Min",
    ),
    via(
        op("max", GlobalCombine, &[], "one element: the largest element (none if there are none)"),
        "combine_globally",
        "Max",
    ),
    via(
        op("mean", GlobalCombine, &[], "one element: the mean of all elements, as `f64` (none if there are none)"),
        "combine_globally",
        "Mean",
    ),
    with_closure(
        op("top", GlobalCombine, &["n", "key"], "the `n` elements with the largest `key(&x)`, largest first"),
        1,
        ByRef,
    ),
    op(
        "sample",
        GlobalCombine,
        &["n", "seed"],
        "`n` elements drawn uniformly at random, or all if fewer; the same `seed` gives the same sample with `.threads(1)`",
    ),
    // Several inputs.
    op("flatten", Flatten, &[], "all elements of several collections of one type"),
    reading(
        op("co_group_by_key", Flatten, &[], "`(k, (Vec<v1>, Vec<v2>, ..))` for every key of two to six keyed inputs"),
        Inputs::Grouped { most: 6 },
    ),
    reading(
        op(
            "outer_join",
            Flatten,
            &[],
            "`(k, (Option<v1>, Option<v2>))`: every pair, and the values of a key on one side only",
        ),
        Inputs::Grouped { most: 2 },
    ),
    reading(
        op(
            "partitioned_join",
            Flatten,
            &[],
            "`join()` for a large right input: both inputs grouped by key (exchanged by key on several processes, where `join()` copies the right one to each)",
        ),
        Inputs::Grouped { most: 2 },
    ),
    // Sinks.
    making(op("collect", Sink, &[], "a `Vec` of all elements, as a field of `run()`'s result"), Outputs::Field),
    with_closure(op("for_each", Sink, &["f"], "calls `f(x)` for every element, in parallel"), 0, ByValue),
    with_closure(
        op("write_text", Sink, &["output", "format"], "one line `format(&x)` per element, into part files"),
        1,
        ByRef,
    ),
    op("write_jsonl", Sink, &["output"], "one JSON value per element and line, into part files"),
    op("write_csv", Sink, &["output"], "a header, then one CSV row per element, into part files"),
];

pub fn lookup(name: &str) -> Option<&'static OpSpec> {
    OPS.iter().find(|op| op.name == name)
}

/// The known transform closest to a misspelled `name`, if one is close enough.
pub fn suggest(name: &str) -> Option<&'static str> {
    OPS.iter()
        .map(|op| (edit_distance(name, op.name), op.name))
        .filter(|&(d, candidate)| d <= 2.max(candidate.len() / 3))
        .min_by_key(|&(d, _)| d)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, counting a missing `_` as a cheap edit (`flatmap`).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            row.push(substitute.min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names() {
        assert_eq!(suggest("flatmap"), Some("flat_map"));
        assert_eq!(suggest("group_by"), Some("group_by_key"));
        assert_eq!(suggest("mapp"), Some("map"));
        assert_eq!(suggest("completely_different"), None);
    }

    #[test]
    fn readme_lists_every_transform() {
        let readme = include_str!("../../README.md");
        for op in OPS {
            let row = format!("| `{}` | {} |", op.signature(), op.doc);
            assert!(readme.contains(&row), "README's table of transforms lacks: {row}");
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, op) in OPS.iter().enumerate() {
            assert!(OPS[i + 1..].iter().all(|o| o.name != op.name), "{} twice", op.name);
        }
    }
}
