//! Phase 4: which collections carry event time. Sources make plain values;
//! `with_timestamps` gives them timestamps, `window` puts them into windows, and
//! every stage after passes its input's timing on (see `Timing`). The expansion
//! reads the result from each node: a stage of values on a timestamped collection
//! is wrapped so that its outputs keep their input's time, and a barrier on one
//! works per window.
//!
//! Mistakes of time are reported here, at the stage: windowing a collection with
//! no timestamps, and mixing inputs that are windowed differently.

use crate::diag::Diagnostics;
use crate::graph::{Graph, NodeId, Timing};
use crate::ops::{Inputs, Kind, Time};

pub fn annotate(graph: &mut Graph, diag: &mut Diagnostics) {
    let mut state = vec![Visit::New; graph.nodes.len()];
    for id in 0..graph.nodes.len() {
        timing_of(graph, id, &mut state, diag);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Visit {
    New,
    /// On the current path: a cycle, reported by `check`.
    Open,
    Done,
}

/// The timing of node `id`'s result, worked out from its inputs first.
fn timing_of(graph: &mut Graph, id: NodeId, state: &mut [Visit], diag: &mut Diagnostics) -> Timing {
    match state[id] {
        Visit::Done => return graph.nodes[id].timing,
        Visit::Open => return Timing::Untimed,
        Visit::New => {}
    }
    state[id] = Visit::Open;
    let inputs: Vec<(NodeId, bool)> =
        graph.nodes[id].inputs.iter().filter_map(|i| Some((i.node?, i.side.is_some()))).collect();
    let timings: Vec<(NodeId, bool, Timing)> =
        inputs.into_iter().map(|(n, side)| (n, side, timing_of(graph, n, state, diag))).collect();
    let timing = if graph.nodes[id].failed { Timing::Untimed } else { timing_from(graph, id, &timings, diag) };
    graph.nodes[id].timing = timing;
    // A join whose right input has timestamps (windowed like its left, or reported
    // above) runs per window: both inputs grouped per window, each pane's values
    // paired, as Beam's joins are built on `CoGroupByKey`. Its right input is then
    // no longer a table read whole.
    let right_timed = timings.iter().any(|&(_, side, t)| side && t.is_timed());
    if let Some(per_window) = graph.nodes[id].spec.and_then(|s| s.per_window)
        && right_timed
    {
        graph.nodes[id].spec = Some(per_window);
        graph.nodes[id].inputs.iter_mut().for_each(|input| input.side = None);
    }
    state[id] = Visit::Done;
    timing
}

/// The timing of `id` given its inputs' (`(input, read whole, timing)`).
fn timing_from(graph: &Graph, id: NodeId, inputs: &[(NodeId, bool, Timing)], diag: &mut Diagnostics) -> Timing {
    let node = &graph.nodes[id];
    let Some(spec) = node.spec else { return Timing::Untimed };
    let op = &node.call.op;
    let main: Vec<(NodeId, Timing)> = inputs.iter().filter(|i| !i.1).map(|&(n, _, t)| (n, t)).collect();
    let first = main.first().map_or(Timing::Untimed, |&(_, t)| t);
    match spec.kind {
        // A source of timestamped elements (`test_stream`).
        Kind::Source if spec.time == Time::Stamps => return Timing::Timed { window: None, unbounded: Some(id) },
        Kind::Source | Kind::DeadLetters | Kind::Sink => return Timing::Untimed,
        Kind::LateData => {
            check_late_output(graph, id, first, diag);
            return Timing::Untimed;
        }
        Kind::KeyedShuffle | Kind::GlobalCombine => check_grouping(graph, id, first, diag),
        _ => {}
    }
    if spec.inputs == Inputs::Join {
        return join_timing(graph, id, inputs, diag);
    }
    // A side input without timestamps, or with timestamps in the global window, is
    // read whole, in every window; one windowed like the stage's input is read per
    // window (the stage sees the side value of its element's window), as a Beam side
    // input of the same windowing is. Bounded only: an unbounded side input would
    // have to wait for each window's value.
    if let Some(&(side, _, side_t)) = inputs.iter().find(|&&(_, whole, t)| whole && t.is_timed()) {
        let problem = if side_t.unbounded().is_some() {
            Some("side inputs of unbounded collections are not supported yet".to_owned())
        } else if side_t.window().is_some() && !windowed_alike(graph, first, side_t) {
            let main = main.first().map_or_else(|| "its input".to_owned(), |&(n, _)| name_of(graph, n));
            Some(format!(
                "a side input read per window must be windowed like the stage's input, but {} has {} and {main} has {}",
                name_of(graph, side),
                describe(graph, side_t),
                describe(graph, first)
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            diag.error(op.span(), format!("`{op}` reads {} as a side input: {problem}", name_of(graph, side)));
            return first;
        }
    }
    if matches!(spec.inputs, Inputs::Grouped { .. }) {
        let unbounded = main.iter().find_map(|&(_, t)| t.unbounded());
        check_grouping(graph, id, Timing::Timed { window: first.window(), unbounded }, diag);
    }
    match spec.time {
        Time::Values if matches!(spec.inputs, Inputs::Concat | Inputs::Grouped { .. }) => {
            if let Some(&(other, t)) = main.iter().find(|&&(_, t)| !windowed_alike(graph, t, first)) {
                let (a, b) = (main[0].0, other);
                diag.error(
                    op.span(),
                    format!(
                        "the inputs of `{op}` must be windowed alike, but {} has {} and {} has {}",
                        name_of(graph, a),
                        describe(graph, first),
                        name_of(graph, b),
                        describe(graph, t),
                    ),
                );
            }
            // Unbounded if any input is.
            let unbounded = main.iter().find_map(|&(_, t)| t.unbounded());
            match first {
                Timing::Timed { window, .. } => Timing::Timed { window, unbounded },
                untimed => untimed,
            }
        }
        Time::Values => first,
        Time::Stamps | Time::Reads => match first {
            Timing::Untimed => Timing::Timed { window: None, unbounded: None },
            timed => timed,
        },
        Time::Windows => {
            if !first.is_timed() {
                let input = main.first().map_or_else(|| "its input".to_owned(), |&(n, _)| name_of(graph, n));
                diag.error(
                    op.span(),
                    format!(
                        "`{op}` puts elements into windows by their timestamps, but {input} has none: give them \
                         event time first, as in `-> with_timestamps(|x| x.time) -> {op}(..)`"
                    ),
                );
            }
            Timing::Timed { window: Some(id), unbounded: first.unbounded() }
        }
    }
}

/// The timing of a join's output. A table without timestamps (its right input)
/// serves every window of a timestamped left input: the left input's timing. Two
/// timestamped inputs must be windowed alike, and are then grouped per window (see
/// `timing_of`): unbounded if either is, like a co-group.
fn join_timing(graph: &Graph, id: NodeId, inputs: &[(NodeId, bool, Timing)], diag: &mut Diagnostics) -> Timing {
    let op = &graph.nodes[id].call.op;
    let (Some(&(left, _, left_t)), Some(&(right, _, right_t))) =
        (inputs.iter().find(|i| !i.1), inputs.iter().find(|i| i.1))
    else {
        return Timing::Untimed;
    };
    if right_t.is_timed() {
        if !windowed_alike(graph, left_t, right_t) {
            diag.error(
                op.span(),
                format!(
                    "the inputs of `{op}` must be windowed alike, but {} has {} and {} has {}",
                    name_of(graph, left),
                    describe(graph, left_t),
                    name_of(graph, right),
                    describe(graph, right_t),
                ),
            );
            return left_t;
        }
        let unbounded = left_t.unbounded().or(right_t.unbounded());
        let grouped = Timing::Timed { window: left_t.window(), unbounded };
        check_grouping(graph, id, grouped, diag);
        return grouped;
    }
    if left_t.unbounded().is_some() {
        diag.error(
            op.span(),
            format!(
                "`{op}` reads {}, which is unbounded, and {}, a table without timestamps, but a pipeline cannot read \
                 an unbounded source and a bounded one yet",
                name_of(graph, left),
                name_of(graph, right)
            ),
        );
    }
    left_t
}

/// A grouping of an unbounded collection that was never windowed would wait for
/// the end of its input: Beam refuses it when the pipeline is built, we when it
/// compiles.
fn check_grouping(graph: &Graph, id: NodeId, input: Timing, diag: &mut Diagnostics) {
    let Timing::Timed { window, unbounded: Some(source) } = input else { return };
    // Not windowed, or windowed by `window(GlobalWindows)` with no trigger named.
    let named_global = window.filter(|&w| global_window_with_default_trigger(graph, w));
    if window.is_some() && named_global.is_none() {
        return;
    }
    let op = &graph.nodes[id].call.op;
    let source_node = &graph.nodes[source];
    let window_stage = named_global.map_or_else(String::new, |w| {
        format!(" (`window(GlobalWindows)` at line {} names no trigger)", graph.nodes[w].line)
    });
    diag.error(
        op.span(),
        format!(
            "`{op}` groups an unbounded collection (from `{}` at line {}) in the global window with the default \
             trigger{window_stage}, which fires only when the input ends: put it into windows first, as in \
             `-> window(FixedWindows::of(..))`, or give the global window a trigger, as in \
             `-> window(GlobalWindows.triggering(..))`",
            source_node.call.op, source_node.line
        ),
    );
}

/// Whether `window` stage `w` windows by `GlobalWindows` with no trigger named:
/// its argument is `GlobalWindows`, or method calls on it none of which is
/// `triggering` (a windowing built elsewhere cannot be seen here).
fn global_window_with_default_trigger(graph: &Graph, w: NodeId) -> bool {
    let Some(mut expr) = graph.nodes[w].call.args.first() else { return false };
    while let syn::Expr::MethodCall(call) = expr {
        if call.method == "triggering" {
            return false;
        }
        expr = &call.receiver;
    }
    matches!(expr, syn::Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "GlobalWindows"))
}

/// `(sums, late) = xs -> sum_per_key();` means something only for a grouping per
/// window of an unbounded input: elsewhere nothing can be late.
fn check_late_output(graph: &Graph, id: NodeId, grouping_input: Timing, diag: &mut Diagnostics) {
    let node = &graph.nodes[id];
    let Some(grouping) = node.inputs.first().and_then(|i| i.node) else { return };
    let name = node.name.as_ref().map_or_else(|| "the second output".to_owned(), |n| format!("`{n}`"));
    let op = &graph.nodes[grouping].call.op;
    let why = match grouping_input {
        Timing::Untimed => "its input has no timestamps, so no element can be late",
        Timing::Timed { unbounded: None, .. } => {
            "its input is bounded: it is complete once read, before any window closes, so no element can be late"
        }
        Timing::Timed { .. } => return,
    };
    let span = node.name.as_ref().map_or_else(|| op.span(), syn::Ident::span);
    diag.error(span, format!("{name} would receive what `{op}` gets too late, but {why}; remove {name}"));
}

/// Whether two collections are windowed alike: by one `window` stage, or by two
/// with the same arguments (`window(FixedWindows::of(d))` on each input), as Beam
/// asks window functions to be equal.
fn windowed_alike(graph: &Graph, a: Timing, b: Timing) -> bool {
    if a.windowed_alike(b) {
        return true;
    }
    let args = |w: NodeId| {
        let args = &graph.nodes[w].call.args;
        quote::quote!(#(#args),*).to_string()
    };
    match (a.window(), b.window()) {
        (Some(x), Some(y)) => args(x) == args(y),
        _ => false,
    }
}

/// How a collection is named in messages: `bids`, or `the output of `map``.
fn name_of(graph: &Graph, id: NodeId) -> String {
    match &graph.nodes[id].name {
        Some(name) => format!("`{name}`"),
        None => format!("the output of `{}`", graph.nodes[id].call.op),
    }
}

/// A timing in words, for messages.
fn describe(graph: &Graph, timing: Timing) -> String {
    match timing {
        Timing::Untimed => "no timestamps".to_owned(),
        Timing::Timed { window: None, .. } => "timestamps in the global window".to_owned(),
        Timing::Timed { window: Some(w), .. } => format!("the windows of `window(..)` at line {}", graph.nodes[w].line),
    }
}
