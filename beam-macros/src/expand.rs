//! Phase 5: code generation. Assumes every check passed.
//!
//! The pipeline becomes one closure, run by `Pipeline::run`, that says what runs
//! and leaves when and where to the runner:
//!
//! 1. build every stage from its arguments (`ops::map(witness_of_input, closure)`),
//!    in plan order, so rustc checks every closure against its real input type;
//! 2. make a typed slot (`Held`) for each collection a segment keeps for later ones;
//! 3. make each segment a value (`segment(..)`): its input, the side inputs its
//!    stages read, the barriers it ends in, and its fused body, the segment's stages
//!    nested as closures (`Stage::process(&op, x, &mut |y| next(y))`): static
//!    dispatch, no boxing, nothing materialized between fused stages;
//! 4. hand the segments to the runner (`Context::run`).
//!
//! Calls are spanned on the user's stage, so type errors land there.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, Type};

use beam_plan::Lending;

use crate::diag::Diagnostics;
use crate::graph::{Graph, Node, NodeId, Timing, is_ref_to_str};
use crate::ops::{Inputs, Kind, Outputs, TakesElement, Time};
use crate::plan::{Plan, Segment, SegmentInput, is_barrier_output};

pub fn expand(graph: &Graph, plan: &Plan) -> TokenStream {
    let plan_static = plan_tokens(graph, plan);
    let outputs = collect_outputs(graph);
    let build = plan.segments.iter().map(|s| build_segment(graph, s));
    let held = held_collections(graph, plan);
    let (seg_vars, segments): (Vec<Ident>, Vec<TokenStream>) =
        plan.segments.iter().enumerate().map(|(i, s)| segment_value(graph, i, s)).unzip();
    // Each segment is handed over on its own, so that a failed bound in one is
    // reported at its stages, once.
    let list = seg_vars.iter().map(|seg| quote_spanned!(seg.span()=> &#seg));
    let fields: Vec<&Ident> = outputs.iter().map(|(name, _)| name).collect();
    let values = outputs.iter().map(|&(_, n)| {
        let held = var(graph, "held", n);
        quote!(#held.into_output()?)
    });
    let output = output_struct(&fields);
    let inferred = fields.iter().map(|_| quote!(_));
    quote! {{
        #output
        static __BEAM_PLAN: ::beam::__private::Plan = #plan_static;
        ::beam::__private::Pipeline::new(
            &__BEAM_PLAN,
            |__ctx: &::beam::__private::Context| -> ::beam::Result<__BeamOutput<#(#inferred),*>> {
                #(#build)*
                #(#held)*
                #(let #seg_vars = #segments;)*
                __ctx.run(&[#(#list),*])?;
                ::beam::Result::Ok(__BeamOutput { #(#fields: #values,)* metrics: __ctx.metrics() })
            },
        )
    }}
}

/// What `pipeline!` emits beside its errors: a pipeline of the right shape, so that
/// code using its outputs does not report errors of its own.
pub fn placeholder(graph: &Graph) -> TokenStream {
    let outputs = collect_outputs(graph);
    // An output named `metrics` is already an error; a second field of that name
    // would only repeat it.
    let fields: Vec<&Ident> = outputs.iter().map(|(name, _)| name).filter(|name| *name != "metrics").collect();
    let output = output_struct(&fields);
    let inferred = fields.iter().map(|_| quote!(_));
    quote! {{
        #output
        static __BEAM_PLAN: ::beam::__private::Plan = ::beam::__private::Plan { stages: &[], segments: &[] };
        ::beam::__private::Pipeline::new(
            &__BEAM_PLAN,
            |_: &::beam::__private::Context| -> ::beam::Result<__BeamOutput<#(#inferred),*>> {
                ::beam::Result::Ok(__BeamOutput {
                    #(#fields: ::beam::__private::unreachable_output(),)*
                    metrics: ::beam::__private::unreachable_output(),
                })
            },
        )
    }}
}

fn output_struct(fields: &[&Ident]) -> TokenStream {
    let params: Vec<Ident> = (0..fields.len()).map(|i| format_ident!("T{}", i)).collect();
    quote! {
        /// The outputs of a run: one field per `collect()` sink, and its metrics.
        #[derive(Debug)]
        struct __BeamOutput<#(#params),*> {
            #(pub #fields: #params,)*
            /// What each stage did in this run.
            pub metrics: ::beam::Metrics,
        }
    }
}

/// `name = ... -> collect();` statements, as (field name, collect node).
fn collect_outputs(graph: &Graph) -> Vec<(Ident, NodeId)> {
    graph.nodes.iter().filter(|n| is_collect(graph, n.id)).filter_map(|n| n.name.clone().map(|name| (name, n.id))).fold(
        Vec::new(),
        |mut outputs: Vec<(Ident, NodeId)>, (name, id)| {
            // A name defined twice is an error already; one field is enough.
            if !outputs.iter().any(|(other, _)| *other == name) {
                outputs.push((name, id));
            }
            outputs
        },
    )
}

/// An internal variable. Its `__` name keeps it apart from the user's names; it is
/// not hygienic (mixed-site) because errors about a variable with a macro's span
/// are shown at the whole `pipeline!` call instead of at the user's stage.
fn var(graph: &Graph, prefix: &str, id: NodeId) -> Ident {
    // Located at the node's stage: every error about the node's values lands there,
    // and rustc folds identical ones into one.
    var_at(prefix, id, graph.nodes[id].call.op.span())
}

/// The same variable, located at `span` of the user's code: an error about the
/// value (a missing trait, a type mismatch) then points there.
fn var_at(prefix: &str, id: NodeId, span: Span) -> Ident {
    Ident::new(&format!("__{prefix}{id}"), span)
}

/// The code that builds a segment's stages, before anything runs: its input stage,
/// every stage of its loop, and the leaves that hold collections after it.
fn build_segment(graph: &Graph, segment: &Segment) -> TokenStream {
    let input = build_input(graph, segment);
    let lending = lends(graph, segment);
    let stages = segment.members.iter().map(|&n| build_stage(graph, n, lending));
    // A collection of lent elements kept for later segments is kept, and read by
    // them, in its owned form.
    let owned = segment.materialized.iter().filter(|_| lending).map(|&m| {
        let w = var(graph, "w", m);
        let owned = owned_witness(quote!(#w));
        quote! { let #w = #owned; }
    });
    let held = segment.materialized.iter().map(|&m| {
        let (leaf, w) = (var(graph, "mat", m), element_witness(graph, m, var(graph, "w", m)));
        quote! { let #leaf = ::beam::__private::ops::materialize(#w); }
    });
    quote! { #input #(#stages)* #(#owned)* #(#held)* }
}

/// The segment's input stage, if the segment runs it: a source (keeping its bad
/// records if they are read), or the element type of a flatten or co-group.
fn build_input(graph: &Graph, segment: &Segment) -> TokenStream {
    match segment.input {
        SegmentInput::Source(n) => {
            let node = &graph.nodes[n];
            let (mut op, generics, args) = (node.call.op.clone(), &node.call.generics, &node.call.args);
            match lending(graph, segment) {
                Lending::LineBlocks => op = Ident::new("read_text_line_blocks", op.span()),
                Lending::Lines => op = Ident::new("read_text_lent", op.span()),
                Lending::Nothing => {}
            }
            let (source, w) = (var(graph, "src", n), var(graph, "w", n));
            let keep_bad = bad_records(graph, n).map(|bad| {
                let w_bad = var(graph, "w", bad);
                quote_spanned! {node.call.span=>
                    let #source = ::beam::__private::DeadLetterSource::keep_bad_records(#source);
                    let #w_bad = ::beam::__private::Witness::<::beam::BadRecord>::new();
                }
            });
            quote_spanned! {node.call.span=>
                let (#source, #w) = __ctx.build(#n, || ::beam::__private::ops::#op #generics (#(#args),*))?;
                #keep_bad
            }
        }
        SegmentInput::Flatten(n) if is_grouped(graph, n) => {
            // `co_group_by_key`, `outer_join`: the element type of the grouped inputs.
            let node = &graph.nodes[n];
            let op = &node.call.op;
            let witnesses = node.inputs.iter().filter_map(|i| Some(var_at("w", i.node?, op.span())));
            let witness_fn = Ident::new(&format!("{}_witness", runtime_function(node)), op.span());
            // One value naming the inputs, for the checks here and in the grouping: one
            // declaration of the names, so that errors show them as plain names.
            let (names, w) = (var_at("names", n, op.span()), var(graph, "w", n));
            let declare_names = input_names(graph, n);
            quote_spanned! {op.span()=>
                let #names = #declare_names;
                let #w = ::beam::__private::ops::#witness_fn(#names, (#(#witnesses,)*));
            }
        }
        SegmentInput::Flatten(n) => {
            let first = graph.nodes[n].inputs[0].node.expect("planned nodes have inputs");
            let (w, first) = (var(graph, "w", n), var(graph, "w", first));
            quote! { let #w = #first; }
        }
        // The collection read already has its element type.
        SegmentInput::Shuffled(_) | SegmentInput::Reread(..) => quote!(),
    }
}

/// How a collection windowed by the `window` stage `window` (or never windowed) is
/// windowed, as a value: that stage's windowing, or the global window's.
fn windowing_of(window: Option<NodeId>, at: Span) -> TokenStream {
    match window {
        Some(w) => {
            let window_stage = var_at("op", w, at);
            quote_spanned!(at=> #window_stage.windowing())
        }
        None => quote_spanned!(at=> &::beam::__private::GLOBAL_WINDOWING),
    }
}

/// The late-data node of grouping `n`, if the pipeline reads what it gets too late.
fn late_data(graph: &Graph, n: NodeId) -> Option<NodeId> {
    graph.consumers(n).into_iter().find(|&c| graph.nodes[c].is(Kind::LateData))
}

/// The bad-records node of source `n`, if the pipeline reads its bad records.
fn bad_records(graph: &Graph, n: NodeId) -> Option<NodeId> {
    graph.consumers(n).into_iter().find(|&c| graph.nodes[c].is(Kind::DeadLetters))
}

/// Whether stage `n` reads a side input windowed like its input: per window.
fn reads_side_per_window(graph: &Graph, n: NodeId) -> bool {
    graph.side_input(n).is_some_and(|(producer, _, _)| graph.nodes[producer].timing.window().is_some())
}

/// The name of node `n`'s runtime functions: its registry entry's (see
/// `OpSpec::function`), or its own name.
fn runtime_function(node: &crate::graph::Node) -> String {
    node.spec.map_or_else(|| node.call.op.to_string(), |s| s.function.to_owned())
}

fn is_grouped(graph: &Graph, n: NodeId) -> bool {
    graph.nodes[n].spec.is_some_and(|s| matches!(s.inputs, Inputs::Grouped { .. }))
}

/// One stage of a loop, built from its arguments: `(__op3, __w3)` for an
/// element-wise stage (the stage, and the element type it produces), `__leaf3` for
/// a barrier.
fn build_stage(graph: &Graph, n: NodeId, lending: bool) -> TokenStream {
    let node = &graph.nodes[n];
    let spec = node.spec.expect("planned nodes are known");
    let input = node.inputs[0].node.expect("planned nodes have inputs");
    let at = node.call.op.span();
    if spec.kind == Kind::PartitionOutput {
        // An output of a partition holds the partition's elements; the `i`-th
        // output of a `multi_output` what its closure sends to `out.i`.
        let (w, from) = (var(graph, "w", n), var(graph, "w", input));
        if graph.nodes[input].is_multi_output() {
            let i = syn::Index::from(graph.consumers(input).iter().position(|&port| port == n).unwrap_or(0));
            return quote! { let #w = #from.#i; };
        }
        return quote! { let #w = #from; };
    }
    // The input's witness; a closure that declares its input type is built against
    // that type, and `accept` in the loop reports a mismatch once.
    let checked = var(graph, "in", n);
    let mut check = declared_witness(graph, n).unwrap_or_else(|| {
        let input_witness = var_at("w", input, at);
        quote_spanned!(at=> #input_witness)
    });
    if lending && spec.kind != Kind::ElementWise {
        // A barrier keeps the owned form of what the loop lends it.
        check = owned_witness(check);
    }
    let args = (lending && spec.kind == Kind::ElementWise).then(|| hoisted_args(graph, n));
    let (side_slot, call) = stage_constructor(graph, n, &checked, args.as_ref().map(|a| &a.1));
    let hoisted = args.map(|a| a.0);
    let timed = graph.nodes[input].timing.is_timed();
    let built = if spec.kind == Kind::ElementWise {
        let (stage, out) = (var_at("op", n, at), var_at("w", n, at));
        quote_spanned! {at=>
            let (#stage, #out) = __ctx.build(#n, || #call)?;
        }
    } else {
        let (leaf, out) = (var_at("leaf", n, at), var_at("w", n, at));
        // In a timestamped collection, a grouping or combine works per window, and a
        // sink takes the values.
        let windowing = windowing_of(graph.nodes[input].timing.window(), at);
        // In a pipeline with no unbounded source every window fires once, when the
        // input has been read: a leaner table than one a trigger fires tick by tick.
        // (Not the input's timing alone: a late output re-timestamped downstream of
        // a `test_stream` is untimed, then timed, yet runs tick by tick.)
        let bounded = graph.nodes.iter().all(|node| node.timing.unbounded().is_none());
        let per_window = match spec.kind {
            _ if !timed => quote!(),
            Kind::KeyedShuffle | Kind::GlobalCombine => {
                // `keyed_in_windows`, `global_in_bounded_windows`, ..
                let kind = if spec.kind == Kind::KeyedShuffle { "keyed" } else { "global" };
                let extent = if bounded { "bounded_" } else { "" };
                let in_windows = Ident::new(&format!("{kind}_in_{extent}windows"), at);
                quote_spanned!(at=> let #leaf = ::beam::__private::#in_windows(#leaf, #windowing);)
            }
            _ => quote_spanned!(at=> let #leaf = ::beam::__private::values_of(#leaf);),
        };
        // What a grouping per window receives too late: its input values, late.
        let late = late_data(graph, n).map(|late| {
            let (w_late, w_in) = (var_at("w", late, at), var_at("w", input, at));
            quote_spanned!(at=> let #w_late = ::beam::__private::late_witness(#w_in);)
        });
        quote_spanned! {at=>
            let #leaf = __ctx.build(#n, || #call)?;
            // The element type of the collection the barrier will produce.
            let #out = ::beam::__private::output_witness(&#leaf);
            #per_window
            #late
        }
    };
    let crossing = crossing_check(graph, n, &checked);
    quote_spanned! {at=>
        let #checked = #check;
        #crossing
        #side_slot
        #hoisted
        #built
    }
}

/// Where a barrier's data crosses processes on the distributed runner (feature
/// `timely`: keys, or whole elements for `count_per_element`, `distinct` and
/// `collect`), a check that it serializes, failing in our words: the collection
/// that crosses, the stage and its line. The runtime states the same bound on the
/// stage (and on what only it knows, a combiner's accumulator) in general words;
/// without the feature every type passes.
fn crossing_check(graph: &Graph, n: NodeId, checked: &Ident) -> TokenStream {
    let node = &graph.nodes[n];
    let op = node.call.op.to_string();
    let at = node.call.op.span();
    let (of, what) = match (node.spec.map(|s| s.kind), op.as_str()) {
        (_, "count_per_element" | "distinct") | (_, "collect") => (quote_spanned!(at=> &#checked), "its elements"),
        (Some(Kind::KeyedShuffle), _) => {
            let key = quote_spanned! {at=> {
                #[allow(unused_imports)]
                use ::beam::__private::{NoPairKey as _, PairKey as _};
                (&::beam::__private::KeyOf(&#checked)).key()
            }};
            (quote_spanned!(at=> &#key), "its keys")
        }
        _ => return quote!(),
    };
    let input = node.inputs[0].node.expect("planned nodes have inputs");
    let line = at.start().line;
    let collection = match graph.nodes[input].name.as_ref().or(node.name.as_ref()) {
        Some(name) => format!("`{name}`"),
        None => format!("the input of `{op}`"),
    };
    let message = format!(
        "{collection} is exchanged between processes at `{op}` (line {line}): `{{Self}}` must implement `Serialize` and `Deserialize`"
    );
    let label = format!("{what} cross processes here");
    quote_spanned! {at=>
        {
            #[diagnostic::on_unimplemented(
                message = #message,
                label = #label,
                note = "derive them: `#[derive(serde::Serialize, serde::Deserialize)]` with serde (feature `derive`) in your Cargo.toml, or beam's copy: `#[derive(beam::serde::Serialize, beam::serde::Deserialize)]` and `#[serde(crate = \"beam::serde\")]`"
            )]
            trait SentBetweenProcesses {}
            impl<T: ::beam::Exchangeable> SentBetweenProcesses for T {}
            fn sent_between_processes<T: SentBetweenProcesses>(_: &::beam::__private::Witness<T>) {}
            sent_between_processes(#of);
        }
    }
}

/// The call that makes stage `n` from its arguments, on input witness `checked`
/// (for an element-wise stage in a timestamped collection, wrapped to work on
/// values), and the code that declares its side input's slot. `args` replaces the
/// stage's arguments where its loop lends borrowed elements (see `hoisted_args`).
fn stage_constructor(
    graph: &Graph,
    n: NodeId,
    checked: &Ident,
    args: Option<&Vec<TokenStream>>,
) -> (TokenStream, TokenStream) {
    let node = &graph.nodes[n];
    let spec = node.spec.expect("planned nodes are known");
    let input = node.inputs[0].node.expect("planned nodes have inputs");
    let at = node.call.op.span();
    let written = || node.call.args.iter().map(|a| quote!(#a)).collect::<Vec<_>>();
    let given = args.cloned().unwrap_or_else(written);
    let (op, mut args): (Ident, Vec<TokenStream>) = match spec.via {
        Some((generic, combiner)) => {
            let combiner = Ident::new(combiner, at);
            (Ident::new(generic, at), vec![quote_spanned!(at=> ::beam::combine::#combiner)])
        }
        // `multi_output` with `n` names is the runtime's `multi_output{n}`.
        None if node.is_multi_output() => {
            let op = Ident::new(&format!("multi_output{}", graph.consumers(n).len()), at);
            (op, given)
        }
        None => (node.call.op.clone(), given),
    };
    let mut side_slot = quote!();
    if let Some((producer, kind, span)) = graph.side_input(n) {
        // The side input: a slot filled before the loop starts, lent to the stage in
        // place of its `as_map(..)` argument (or, for a join, as its right side).
        let slot_fn = Ident::new(kind.functions().0, span);
        let (slot, witness) = (var_at("side", n, span), var_at("w", producer, span));
        side_slot = quote_spanned! {span=> let #slot = ::beam::__private::#slot_fn(#witness); };
        match (spec.side, declared_side(graph, n)) {
            // The closure declares the side value's type: checked in our words.
            (Some(index), Some(declared)) => {
                let (marker, declare_marker) = stage_marker(node, declared.span);
                let slot = located_at(&slot, declared.span);
                args[index] = quote_spanned! {declared.span=> {
                    #declare_marker
                    ::beam::__private::SideAccepts::<#declared, #marker>::side(&#slot)
                }};
            }
            (Some(index), None) => args[index] = quote_spanned!(span=> &#slot),
            (None, _) => args.insert(0, quote_spanned!(span=> &#slot)),
        }
    }
    if spec.inputs == Inputs::Join {
        // Before the right side, so the names are known when its key is checked.
        args.insert(0, input_names(graph, n));
    }
    // Bindings located at the stage, so errors about their types land there.
    // Argument expressions are user code: a panic there is the stage's.
    let call = quote_spanned!(at=> ::beam::__private::ops::#op(#checked, #(#args),*));
    if spec.kind != Kind::ElementWise {
        return (side_slot, call);
    }
    // In a timestamped collection, a stage of values keeps each element's time;
    // a stage that reads time, on a collection without it, sees the earliest.
    let timed = graph.nodes[input].timing.is_timed();
    let call = match (spec.time, timed) {
        (Time::Values, false) | (Time::Stamps | Time::Windows | Time::Reads, true) => call,
        (Time::Values, true) if reads_side_per_window(graph, n) => {
            let windowing = windowing_of(graph.nodes[input].timing.window(), at);
            quote_spanned!(at=> ::beam::__private::reads_per_window(#windowing, #call))
        }
        (Time::Values, true) => quote_spanned!(at=> ::beam::__private::in_windows(#call)),
        (_, false) => quote_spanned!(at=> ::beam::__private::untimed(#call)),
    };
    (side_slot, call)
}

/// Whether `segment`'s loop lends its elements: a `read_text` whose every reader
/// declares `&str` lines, in a loop without event time, lends `&str` slices of the
/// worker's buffer instead of making a `String` per line (see `beam_runtime::lent`).
fn lends(graph: &Graph, segment: &Segment) -> bool {
    let SegmentInput::Source(head) = segment.input else { return false };
    let readers = graph.consumers(head);
    graph.nodes[head].call.op == "read_text"
        && bad_records(graph, head).is_none()
        && !segment.materialized.contains(&head)
        && readers.iter().any(|&r| takes_lent(graph, r))
        && readers.iter().all(|&r| segment.members.contains(&r) && (takes_lent(graph, r) || keeps_whole(graph, r)))
        && segment.members.iter().all(|&m| !graph.nodes[m].timing.is_timed())
}

/// How the segment's loop hands the lines of its `read_text` to its stages.
fn lending(graph: &Graph, segment: &Segment) -> Lending {
    if !lends(graph, segment) {
        return Lending::Nothing;
    }
    match segment.input {
        SegmentInput::Source(n) if reads_words_only(graph, n) => Lending::LineBlocks,
        _ => Lending::Lines,
    }
}

/// Whether the lines of source `source` are read only by stages that split them
/// on whitespace (`flat_map(beam::text::words)`, `flat_map(|l: &str|
/// l.split_whitespace())`): words never span lines, so the source may lend
/// blocks of whole lines (see `read_text_line_blocks`).
fn reads_words_only(graph: &Graph, source: NodeId) -> bool {
    graph
        .consumers(source)
        .iter()
        .all(|&r| graph.nodes[r].call.op == "flat_map" && graph.nodes[r].splits_on_whitespace())
}

/// Whether stage `id` is element-wise and its closure takes `&str` lines.
fn takes_lent(graph: &Graph, id: NodeId) -> bool {
    graph.nodes[id].is(Kind::ElementWise) && declares_str(graph, id)
}

/// Whether stage `id` is a barrier that takes its elements whole, with no closure
/// of the user's to see their type (`count`, `collect`, `count_per_element`): it
/// keeps lent lines in their owned form.
fn keeps_whole(graph: &Graph, id: NodeId) -> bool {
    let node = &graph.nodes[id];
    !node.is(Kind::ElementWise) && !node.call.args.iter().any(|arg| matches!(arg, syn::Expr::Closure(_)))
}

/// Stages that take `&str` lines of a `read_text` that cannot lend them: an error
/// at the first such stage's type, saying why, in place of rustc's "takes `&str`,
/// but its input is `String`".
pub fn lending_mistakes(graph: &Graph, plan: &Plan, diag: &mut Diagnostics) {
    for segment in &plan.segments {
        let SegmentInput::Source(head) = segment.input else { continue };
        if graph.nodes[head].call.op != "read_text" || lends(graph, segment) {
            continue;
        }
        let readers = graph.consumers(head);
        let Some(&wants) = readers.iter().find(|&&r| takes_lent(graph, r)) else {
            continue;
        };
        let at = declared_input(graph, wants).map_or_else(|| graph.nodes[wants].call.op.span(), |d| d.span);
        let name = |n: NodeId| {
            let op = &graph.nodes[n].call.op;
            format!("`{op}` (line {})", op.span().start().line)
        };
        let others: Vec<NodeId> =
            readers.iter().copied().filter(|&r| !takes_lent(graph, r) && !keeps_whole(graph, r)).collect();
        let why = if !others.is_empty() {
            let fix = if others.iter().all(|&o| graph.nodes[o].is(Kind::ElementWise)) {
                "declare `&str` there too, or take `String` in all of them"
            } else {
                "declare `&str` in each closure that reads the lines, or take `String` in all of them"
            };
            let (names, verb) = match others.as_slice() {
                [one] => (name(*one), "takes"),
                many => (many.iter().map(|&o| name(o)).collect::<Vec<_>>().join(", "), "take"),
            };
            format!(
                "`read_text` lends its lines as `&str` only when every stage reading them takes `&str`, and {names} {verb} them as `String`: {fix}"
            )
        } else if let Some(&later) = readers.iter().find(|r| !segment.members.contains(r)) {
            format!(
                "{} reads these lines again in a later loop (after a barrier whose result it needs), so they are kept as `String`: take `String` in both, or give one of them a `read_text` of its own",
                name(later)
            )
        } else {
            "a loop with event time reads `String` lines: take `String` here".to_owned()
        };
        diag.error(at, format!("{} takes `&str` lines, but {why}", name(wants)));
    }
}

/// Whether stage `id`'s closure takes `&str` lines (`&&str` for a closure that
/// takes its element by reference, as `filter`'s does), or its function is
/// `beam::text::words`, which takes either.
fn declares_str(graph: &Graph, id: NodeId) -> bool {
    match graph.nodes[id].closure_param() {
        Some((ty, TakesElement::ByValue)) => is_ref_to_str(ty),
        Some((ty, TakesElement::ByRef)) => {
            matches!(ty, Type::Reference(r) if r.mutability.is_none() && is_ref_to_str(&r.elem))
        }
        None => graph.nodes[id].calls_text_words(),
    }
}

/// The witness `w` of what a loop lends, as the barrier keeps it: its owned form
/// (a `Word` for `&str`) where it has one.
fn owned_witness(w: TokenStream) -> TokenStream {
    quote! {{
        #[allow(unused_imports)]
        use ::beam::__private::{OwnedWitness as _, SameWitness as _};
        (&::beam::__private::Owning::of(&#w)).witness()
    }}
}

/// A stage's arguments where its loop lends borrowed elements. Such a stage is
/// made once outside the loop (for its types, with `'static` in place of the
/// chunk's lifetime) and again for each element inside it, where a closure can
/// take the element's one lifetime (a closure made once cannot take `&'c str` for
/// every `'c` and return what borrows it). Closures are written in both places;
/// other arguments are evaluated once, as the stage's task, and reused: a function
/// or closure held in a variable lent by reference, other values copied (or lent).
fn hoisted_args(graph: &Graph, n: NodeId) -> (TokenStream, Vec<TokenStream>) {
    let node = &graph.nodes[n];
    let at = node.call.op.span();
    let values = var_at("args", n, at);
    let mut hoisted = Vec::new();
    let function_at = node.spec.and_then(|spec| spec.closure).map(|(i, _)| i);
    let args = node
        .call
        .args
        .iter()
        .enumerate()
        .map(|(position, arg)| match arg {
            syn::Expr::Closure(closure) => match closure.capture {
                Some(capture) => syn::Error::new(
                    capture.span,
                    "this closure runs on lines lent by `read_text` (or on what is made of them), so it is \
                     written into the loop and made for each line: it cannot be `move`; remove `move`, and \
                     it borrows what it uses",
                )
                .to_compile_error(),
                None => match node.split_whitespace_closure().filter(|_| Some(position) == function_at) {
                    Some(parts) => split_whitespace_as_words(parts),
                    None => quote!(#arg),
                },
            },
            // The side input's place: the stage reads its slot there instead.
            _ if Some(position) == node.spec.and_then(|spec| spec.side) => quote!(#arg),
            // A generic function named in place: made for each line's lifetime.
            syn::Expr::Path(_) if Some(position) == function_at && node.calls_text_words() => quote!(#arg),
            _ => {
                let i = syn::Index::from(hoisted.len());
                hoisted.push(arg);
                let at = syn::spanned::Spanned::span(arg);
                if Some(position) == function_at {
                    // A function held in a variable is lent by reference (`&F` is
                    // a function too), whatever its type turns out to be.
                    quote_spanned!(at=> &#values.#i)
                } else {
                    quote_spanned! {at=> {
                        #[allow(unused_imports)]
                        use ::beam::__private::{ReuseCopy as _, ReuseRef as _};
                        (&::beam::__private::Reused(&#values.#i)).reuse()
                    }}
                }
            }
        })
        .collect();
    let hoist = if hoisted.is_empty() {
        quote!()
    } else {
        quote_spanned!(at=> let #values = __ctx.build(#n, || (#(#hoisted,)*))?;)
    };
    (hoist, args)
}

/// `flat_map(|line: &str| line.split_whitespace())`'s closure, as
/// `beam::text::words`: the same words, found without decoding every character.
/// The closure is still type-checked as written (so that its errors are rustc's
/// own), and its receiver must be its parameter: a `macro_rules!` whose body names
/// a variable of its own that is spelled as the parameter is would otherwise split
/// that variable's text as written and the lines here, so it is an error instead.
fn split_whitespace_as_words((closure, param, receiver): (&syn::ExprClosure, &Ident, &syn::Expr)) -> TokenStream {
    let at = syn::spanned::Spanned::span(closure);
    quote_spanned! {at=> {
        ::beam::__private::check_split_whitespace(#closure);
        let _ = |#param: ::beam::__private::TheClosuresOwnLine| {
            let _: ::beam::__private::TheClosuresOwnLine = #receiver;
        };
        ::beam::text::words
    }}
}

/// How many segments read each held collection (see `Segment::reads`).
fn read_counts(graph: &Graph, plan: &Plan) -> HashMap<NodeId, usize> {
    let mut reads = HashMap::new();
    for segment in &plan.segments {
        for n in segment.reads(graph) {
            *reads.entry(n).or_insert(0) += 1;
        }
    }
    reads
}

/// A typed slot, `__held3`, for each collection a segment keeps after its loop: the
/// result of every barrier that has one, every collection held for a later loop,
/// and the bad records of a source. The runner fills and reads them; a collection
/// read by several segments must be `Clone`, which is checked here, at its name.
fn held_collections(graph: &Graph, plan: &Plan) -> Vec<TokenStream> {
    let reads = read_counts(graph, plan);
    let mut held: Vec<NodeId> = Vec::new();
    for segment in &plan.segments {
        if let SegmentInput::Source(n) = segment.input {
            held.extend(bad_records(graph, n));
        }
        held.extend(segment.members.iter().copied().filter(|&n| holds_result(graph, n)));
        held.extend(segment.members.iter().filter_map(|&n| late_data(graph, n)));
        held.extend(segment.materialized.iter().copied());
    }
    held.into_iter()
        .map(|n| {
            let span = fan_out_span(graph, n);
            let (slot, w) = (var(graph, "held", n), element_witness(graph, n, var_at("w", n, span)));
            let make = if reads.get(&n).copied().unwrap_or(0) > 1 { quote!(shared) } else { quote!(new) };
            quote_spanned! {span=> let #slot = ::beam::__private::Held::#make(#n, #w); }
        })
        .collect()
}

/// Whether barrier `n`'s result is kept: a shuffle's or a combine's, and a
/// `collect()`'s (for `run()`'s output); other sinks make nothing.
fn holds_result(graph: &Graph, n: NodeId) -> bool {
    is_barrier_output(graph, n) || is_collect(graph, n)
}

/// The segment as a value for the runner: `segment(index, input, sides, leaves,
/// look-ahead state, look-ahead, body)`, and the variable that holds it.
fn segment_value(graph: &Graph, index: usize, segment: &Segment) -> (Ident, TokenStream) {
    let head = segment.input.node();
    let input = input_value(graph, segment);
    let sides = side_fills(graph, segment);
    let leaves = leaves(graph, segment);
    // Code about all of the segment's per-worker state is located at one of its
    // leaves: when a leaf's stage fails a trait bound, rustc repeats that error here,
    // and it should land on a stage, not on the whole `pipeline!`. Shuffles and
    // combines have bounds that can fail; `collect` and the like rarely do.
    let segment_span = leaves
        .iter()
        .find(|leaf| is_barrier_output(graph, leaf.node) && !segment.materialized.contains(&leaf.node))
        .or(leaves.first())
        .map_or_else(Span::call_site, |leaf| leaf.leaf.span());
    let leaf_list = leaves.iter().rev().fold(quote!(()), |rest, LeafCode { leaf, node, to, .. }| {
        let late = late_data(graph, *node).map(|late| {
            let held = var(graph, "held", late);
            quote!(.with_late(&#held))
        });
        quote_spanned!(segment_span=> (::beam::__private::LeafTo::new(#node, &#leaf, #to)#late, #rest))
    });
    let locals = leaves.iter().rev().fold(quote!(()), |rest, leaf| {
        let local = &leaf.local;
        quote!((#local, #rest))
    });
    let LookAheadCode { aheads, found, look_ahead } = look_ahead(graph, segment, segment_span);
    let element = var(graph, "x", head);
    let mut tree = consumers(graph, segment, head, &element);
    if lends(graph, segment) {
        // Every stage runs on the line while it is lent, and cannot keep it.
        // The lent line's name, as an error about keeping it shows it; unseen by
        // user code (mixed-site hygiene).
        let line = Ident::new("line", Span::mixed_site());
        tree = quote! { ::beam::__private::lend(#element, |#line, __chunk| { let #element = #line; #tree }); };
    }
    let counted = segment.counted(graph).len();
    let state = Ident::new("__state", segment_span);
    let var = Ident::new(&format!("__seg{index}"), segment_span);
    let value = quote_spanned! {segment_span=>
        ::beam::__private::segment(
            #index,
            #input,
            #sides,
            #leaf_list,
            || (#(#found,)*),
            #look_ahead,
            |#state, #element, __stage, __counts: &mut [u64; #counted]| {
                let (#locals, (#(#aheads,)*)) = #state;
                #tree
            },
        )
    };
    (var, value)
}

/// A barrier a segment ends in: its leaf, the worker's state of it in the fused
/// body, its stage, and where its result goes.
struct LeafCode {
    leaf: Ident,
    local: Ident,
    node: NodeId,
    to: TokenStream,
}

/// The barriers the loop ends in, with where each result goes; then the
/// collections held after the loop.
fn leaves(graph: &Graph, segment: &Segment) -> Vec<LeafCode> {
    let barriers = segment.members.iter().copied().filter(|&n| graph.nodes[n].spec.is_some_and(|s| s.is_barrier()));
    let mut leaves: Vec<LeafCode> = barriers
        .map(|n| {
            let to = if holds_result(graph, n) {
                let held = var(graph, "held", n);
                quote!(&#held)
            } else {
                quote!(&::beam::__private::Discard)
            };
            LeafCode { leaf: var(graph, "leaf", n), local: var(graph, "l", n), node: n, to }
        })
        .collect();
    leaves.extend(segment.materialized.iter().map(|&m| {
        let held = var(graph, "held", m);
        LeafCode { leaf: var(graph, "mat", m), local: var(graph, "m", m), node: m, to: quote!(&#held) }
    }));
    leaves
}

/// What the joins that read the loop's input keep per worker (`aheads`, made by
/// `found`), and the code that looks each chunk up before the loop runs on it.
struct LookAheadCode {
    aheads: Vec<Ident>,
    found: Vec<TokenStream>,
    look_ahead: TokenStream,
}

/// Joins reading the loop's input look each chunk up first, into state of their own
/// per worker. Their code is located at the join, so that a failed bound is
/// reported there, once, with the join's own error.
fn look_ahead(graph: &Graph, segment: &Segment, segment_span: Span) -> LookAheadCode {
    let lookers = looking_ahead(graph, segment);
    let at = |j: NodeId| graph.nodes[j].call.op.span();
    let aheads: Vec<Ident> = lookers.iter().map(|&j| var_at("ahead", j, at(j))).collect();
    let found = lookers
        .iter()
        .map(|&j| {
            let op = var_at("op", j, at(j));
            quote_spanned!(at(j)=> ::beam::__private::LookAhead::found(&#op))
        })
        .collect();
    let look_ahead = if lookers.is_empty() {
        quote_spanned!(segment_span=> |_, _| {})
    } else {
        let calls = lookers.iter().zip(&aheads).map(|(&j, ahead)| {
            let op = var_at("op", j, at(j));
            quote_spanned!(at(j)=> ::beam::__private::LookAhead::look_ahead(&#op, #ahead, __chunk);)
        });
        quote_spanned!(segment_span=> |(_, (#(#aheads,)*)), __chunk| { #(#calls)* })
    };
    LookAheadCode { aheads, found, look_ahead }
}

/// Where the segment's elements come from, as a value for the runner.
fn input_value(graph: &Graph, segment: &Segment) -> TokenStream {
    match segment.input {
        SegmentInput::Source(n) => {
            let source = var(graph, "src", n);
            match bad_records(graph, n) {
                Some(bad) => {
                    let held = var(graph, "held", bad);
                    quote!(::beam::__private::SourceWithBadRecords::new(#n, &#source, &#held))
                }
                None => quote!(::beam::__private::SourceInput::new(#n, &#source)),
            }
        }
        SegmentInput::Shuffled(n) | SegmentInput::Reread(n, _) => {
            let held = var(graph, "held", n);
            quote!(::beam::__private::HeldInput::new(&#held))
        }
        SegmentInput::Flatten(n) if is_grouped(graph, n) => {
            let node = &graph.nodes[n];
            let op = &node.call.op;
            let function = Ident::new(&runtime_function(node), op.span());
            let per_pane = Ident::new(&format!("{function}_per_pane"), op.span());
            let held = node.inputs.iter().map(|input| {
                let held = var_at("held", input.node.expect("planned nodes have inputs"), input.span);
                quote!(&#held)
            });
            let names = var_at("names", n, op.span());
            match node.timing {
                // Per window: the inputs' values, tagged, through a grouping per
                // window that the closure owns (on unbounded input it keeps its
                // panes between ticks), each pane's lists made results by `per_pane`.
                Timing::Timed { window, .. } => {
                    let windowing = windowing_of(window, op.span());
                    quote_spanned! {op.span()=> {
                        let (__groups, __windowing) = (::beam::__private::window_grouping(), #windowing);
                        ::beam::__private::GroupInput::new((#(#held,)*), move |__inputs, __scope| {
                            ::beam::__private::group_in_windows(
                                __windowing, #names, &__groups, __inputs, __scope, ::beam::__private::ops::#per_pane,
                            )
                        })
                    }}
                }
                Timing::Untimed => quote_spanned! {op.span()=>
                    ::beam::__private::GroupInput::new((#(#held,)*), |__inputs, __scope| {
                        ::std::result::Result::Ok(::beam::__private::ops::#function(#names, __inputs, __scope))
                    })
                },
            }
        }
        SegmentInput::Flatten(n) => {
            let node = &graph.nodes[n];
            let first = node.inputs[0].node.expect("planned nodes have inputs");
            let held = node.inputs.iter().enumerate().map(|(i, input)| {
                let held = var_at("held", input.node.expect("planned nodes have inputs"), input.span);
                if i == 0 {
                    quote!(&#held)
                } else {
                    // Each further input is checked against the first one's type.
                    let w = var_at("w", first, input.span);
                    let same = if node.timing.is_timed() { "same_timed" } else { "same" };
                    let same = Ident::new(same, input.span);
                    quote_spanned! {input.span=> ::beam::__private::SameAs::#same(&#w, &#held) }
                }
            });
            quote_spanned! {node.call.span=> ::beam::__private::FlattenInput::new(::std::vec![#(#held),*]) }
        }
    }
}

/// The side inputs of the segment's stages, as a list for the runner: each read from
/// its held collection into the slot its stage borrows.
fn side_fills(graph: &Graph, segment: &Segment) -> TokenStream {
    let fills: Vec<TokenStream> = segment
        .members
        .iter()
        .filter_map(|&n| {
            let (producer, kind, span) = graph.side_input(n)?;
            let (slot, held) = (var_at("side", n, span), var_at("held", producer, span));
            let timing = graph.nodes[producer].timing;
            // Per window if windowed (as the stage's input, `time` checked); the
            // values whole if timestamped in the global window.
            let fill = match (timing.is_timed(), timing.window().is_some()) {
                (true, true) => {
                    let fill_fn = Ident::new(&format!("{}_in_windows", kind.functions().1), span);
                    quote_spanned!(span=> ::beam::__private::#fill_fn(&#slot, __collection))
                }
                (true, false) => {
                    let fill_fn = Ident::new(kind.functions().1, span);
                    quote_spanned!(span=> ::beam::__private::#fill_fn(&#slot, ::beam::__private::side_values(__collection)))
                }
                (false, _) => {
                    let fill_fn = Ident::new(kind.functions().1, span);
                    quote_spanned!(span=> ::beam::__private::#fill_fn(&#slot, __collection))
                }
            };
            Some(quote_spanned! {span=>
                ::beam::__private::SideFill::new(#n, &#held, |__collection| #fill)
            })
        })
        .collect();
    fills.iter().rev().fold(quote!(()), |rest, fill| quote!((#fill, #rest)))
}

/// The element type of collection `id` as held between loops: `witness`'s type,
/// or, for a timestamped collection, that type with its event time.
fn element_witness(graph: &Graph, id: NodeId, witness: Ident) -> TokenStream {
    if graph.nodes[id].timing.is_timed() {
        quote_spanned!(witness.span()=> ::beam::__private::timed_witness(#witness))
    } else {
        quote!(#witness)
    }
}

fn is_collect(graph: &Graph, id: NodeId) -> bool {
    graph.nodes[id].spec.is_some_and(|s| s.outputs == Outputs::Field)
}

/// The code that hands `element`, the output of `id`, to every stage of the segment
/// that reads it. All but the last reader get a clone.
fn consumers(graph: &Graph, segment: &Segment, id: NodeId, element: &Ident) -> TokenStream {
    let readers = readers(graph, segment, id);
    let mut targets: Vec<TokenStream> = Vec::new();
    let count = readers.len() + usize::from(segment.materialized.contains(&id));
    let copy = Ident::new("__copy", Span::call_site());
    // Spanned at the collection's name, so a missing `Clone` is reported there.
    let span = fan_out_span(graph, id);
    let original = Ident::new(&element.to_string(), span);
    let mut give = |target: &dyn Fn(&Ident) -> TokenStream| {
        if targets.len() + 1 < count {
            let body = target(&copy);
            targets
                .push(quote_spanned! {span=> { let #copy = ::beam::__private::FanOut::fan_out(&#original); #body } });
        } else {
            targets.push(target(element));
        }
    };
    for reader in readers {
        give(&|value: &Ident| stage_call(graph, segment, reader, value));
    }
    if segment.materialized.contains(&id) {
        let (leaf, local) = (var(graph, "mat", id), var(graph, "m", id));
        let lending = lends(graph, segment);
        give(&|value: &Ident| push(&leaf, &local, quote!(#value), lending, Span::call_site()));
    }
    quote!(#(#targets)*)
}

/// The names of the inputs of a join or co-group as types, for error messages:
/// `orders` and `customers` in "`orders` is keyed by `u32` and `customers` by
/// `String`".
fn input_names(graph: &Graph, node: NodeId) -> TokenStream {
    let mut names: Vec<Ident> = Vec::new();
    for (i, input) in graph.nodes[node].inputs.iter().enumerate() {
        let named = input.node.and_then(|n| graph.nodes[n].name.clone());
        // Cloned, not rebuilt from text: a raw name (`r#match`) stays raw.
        let mut name = named.unwrap_or_else(|| format_ident!("input{}", i + 1));
        name.set_span(input.span);
        names.push(name);
    }
    // A self-join names one collection twice; it is declared once.
    let mut declared: Vec<&Ident> = Vec::new();
    for name in &names {
        if !declared.contains(&name) {
            declared.push(name);
        }
    }
    quote! {{
        #(#[allow(non_camel_case_types, dead_code)] struct #declared;)*
        ::beam::__private::input_names::<(#(#names,)*)>()
    }}
}

/// The joins of `segment` that read its loop's input as their left input: each
/// looks a whole chunk up before the loop runs on its elements (`LookAhead`).
fn looking_ahead(graph: &Graph, segment: &Segment) -> Vec<NodeId> {
    readers(graph, segment, segment.input.node()).into_iter().filter(|&r| looks_ahead(graph, segment, r)).collect()
}

/// Whether stage `id` is a join whose left input is `segment`'s loop input, of
/// plain values (a chunk of timestamped elements is looked up one by one).
fn looks_ahead(graph: &Graph, segment: &Segment, id: NodeId) -> bool {
    let (node, head) = (&graph.nodes[id], segment.input.node());
    node.spec.is_some_and(|s| s.inputs == Inputs::Join)
        && !graph.nodes[head].timing.is_timed()
        && !lends(graph, segment)
        && node.inputs.iter().any(|i| i.side.is_none() && i.node == Some(head))
}

/// The stages of `segment` that read the output of `id`.
fn readers(graph: &Graph, segment: &Segment, id: NodeId) -> Vec<NodeId> {
    graph.consumers(id).into_iter().filter(|r| segment.members.contains(r)).collect()
}

/// Where errors about cloning a collection's elements land: its name.
fn fan_out_span(graph: &Graph, id: NodeId) -> Span {
    graph.nodes[id].name.as_ref().map_or_else(|| graph.nodes[id].call.op.span(), Ident::span)
}

/// The code that runs stage `id` on `element`, then everything downstream of it.
fn stage_call(graph: &Graph, segment: &Segment, id: NodeId, element: &Ident) -> TokenStream {
    let node = &graph.nodes[id];
    let made = if node.is(Kind::ElementWise) { made_in_loop(graph, segment, id, element) } else { quote!() };
    let input = match declared_input(graph, id) {
        Some(declared) => {
            let (marker, declare_marker) = stage_marker(node, declared.span);
            // In a timestamped collection, the closure takes the value.
            let timed = node.inputs[0].node.is_some_and(|i| graph.nodes[i].timing.is_timed());
            // A trait method, not a function with a bound: rustc then reports the
            // mismatch in `Accepts`'s words alone, without a note pointing at a bound
            // in the runtime.
            let accept = quote_spanned!(declared.span=> ::beam::__private::Accepts::<#declared, #marker>::accept);
            // The element, located at the declared type (where the error points),
            // resolved where it was declared.
            let element = located_at(element, declared.span);
            let checked = if timed {
                quote_spanned!(declared.span=> #element.map(#accept))
            } else {
                quote_spanned!(declared.span=> #accept(#element))
            };
            quote_spanned! {declared.span=> {
                #declare_marker
                #checked
            }}
        }
        None => quote!(#element),
    };
    if node.is_multi_output() {
        // `multi_output`: each element goes to the output it was sent to, as its
        // own type (with the input's time, in a timestamped collection).
        let stage = var_at("op", id, node.call.op.span());
        let k = segment.counter(graph, id);
        let ports = graph.consumers(id);
        let tagged = Ident::new(&format!("Tagged{}", ports.len()), Span::call_site());
        let arms = ports.into_iter().enumerate().map(|(i, port)| {
            let x = var(graph, "x", port);
            let downstream = consumers(graph, segment, port, &x);
            let kp = segment.counter(graph, port);
            let variant = Ident::new(&format!("O{i}"), Span::call_site());
            quote! { ::beam::__private::#tagged::#variant(#x) => { __counts[#kp] += 1; #downstream } }
        });
        return quote_spanned! {node.call.op.span()=>
            __stage.set(#id);
            #made
            ::beam::__private::Stage::process(&#stage, #input, &mut |__routed| {
                __counts[#k] += 1;
                match ::beam::__private::Untag::untag(__routed) {
                    #(#arms)*
                }
                __stage.set(#id);
            });
        };
    }
    if node.spec.is_some_and(|s| s.outputs == Outputs::PerName) {
        // `partition`: each element goes to the one output its index names.
        let stage = var_at("op", id, node.call.op.span());
        let k = segment.counter(graph, id);
        let (index, element) = (Ident::new("__index", Span::call_site()), Ident::new("__element", Span::call_site()));
        let arms = graph.consumers(id).into_iter().enumerate().map(|(i, port)| {
            let x = var(graph, "x", port);
            let downstream = consumers(graph, segment, port, &x);
            let kp = segment.counter(graph, port);
            quote! { #i => { let #x = #element; __counts[#kp] += 1; #downstream } }
        });
        return quote_spanned! {node.call.op.span()=>
            __stage.set(#id);
            #made
            ::beam::__private::Stage::process(&#stage, #input, &mut |__routed| {
                let (#index, #element) = ::beam::__private::Route::route(__routed);
                __counts[#k] += 1;
                match #index {
                    #(#arms)*
                    _ => {}
                }
                __stage.set(#id);
            });
        };
    }
    if node.is(Kind::ElementWise) {
        let (stage, out) = (var_at("op", id, node.call.op.span()), var(graph, "x", id));
        let downstream = consumers(graph, segment, id, &out);
        let k = segment.counter(graph, id);
        let emit = if downstream.is_empty() {
            quote!(|_| { __counts[#k] += 1; })
        } else {
            quote!(|#out| { __counts[#k] += 1; #downstream __stage.set(#id); })
        };
        let at = node.call.op.span();
        let process = if looks_ahead(graph, segment, id) {
            let ahead = var_at("ahead", id, at);
            quote_spanned!(at=> ::beam::__private::LookAhead::process_found(&#stage, #ahead, #input, &mut #emit))
        } else {
            quote_spanned!(at=> ::beam::__private::Stage::process(&#stage, #input, &mut #emit))
        };
        quote_spanned! {node.call.op.span()=>
            __stage.set(#id);
            #made
            #process;
        }
    } else {
        let (leaf, local) = (var_at("leaf", id, node.call.op.span()), var(graph, "l", id));
        let push = push(&leaf, &local, input, lends(graph, segment), node.call.op.span());
        quote_spanned! {node.call.op.span()=>
            __stage.set(#id);
            #push
        }
    }
}

/// The code that hands `element` to barrier `leaf`, whose worker state is `local`.
/// Where the loop lends its elements, the barrier takes what it keeps: a keyed one
/// looks a borrowed key up as it is, others take the owned form (see
/// `beam_runtime::lent::Pushing`).
fn push(leaf: &Ident, local: &Ident, element: TokenStream, lending: bool, at: Span) -> TokenStream {
    if !lending {
        return quote_spanned! {at=> ::beam::__private::Leaf::push(&#leaf, #local, #element); };
    }
    quote_spanned! {at=> {
        #[allow(unused_imports)]
        use ::beam::__private::{PushAsIs as _, PushKeyedLent as _, PushOwned as _};
        let __element = #element;
        (&&&::beam::__private::Pushing::of(&#leaf, &__element, &__chunk)).push_element(#local, __element);
    }}
}

/// Where the loop lends its elements, the code that makes element-wise stage `id`
/// again for `element`, inside the loop (see `hoisted_args`).
fn made_in_loop(graph: &Graph, segment: &Segment, id: NodeId, element: &Ident) -> TokenStream {
    if !lends(graph, segment) {
        return quote!();
    }
    let node = &graph.nodes[id];
    let at = node.call.op.span();
    let (checked, stage) = (var(graph, "in", id), var_at("op", id, at));
    let check =
        declared_witness(graph, id).unwrap_or_else(|| quote_spanned!(at=> ::beam::__private::Witness::of(&#element)));
    let (_, call) = stage_constructor(graph, id, &checked, Some(&hoisted_args(graph, id).1));
    quote_spanned! {at=>
        let #checked = #check;
        let (#stage, _) = #call;
    }
}

/// The witness of the element type stage `id`'s closure declares, if it declares
/// one: the stage is built against it, and `accept` in the loop checks the input.
fn declared_witness(graph: &Graph, id: NodeId) -> Option<TokenStream> {
    let declared = declared_input(graph, id)?;
    Some(quote_spanned!(declared.span=> ::beam::__private::Witness::<#declared>::new()))
}

/// The element type a stage's closure declares, when it declares one:
/// `map(|l: String| ...)` gives `String`, `filter(|x: &u32| ...)` gives `u32`.
fn declared_input(graph: &Graph, id: NodeId) -> Option<DeclaredType> {
    let (param, takes) = graph.nodes[id].closure_param()?;
    let ty = match (takes, param) {
        (TakesElement::ByValue, ty) => ty,
        (TakesElement::ByRef, Type::Reference(r)) if r.mutability.is_none() => &*r.elem,
        _ => return None,
    };
    if contains_infer(ty) {
        return None;
    }
    Some(DeclaredType { ty: ty.clone(), span: syn::spanned::Spanned::span(ty) })
}

/// The type a side-input closure declares for the side value: `Vec<f64>` in
/// `map_with(as_list(rates), |x: u32, rates: &Vec<f64>| ..)`.
fn declared_side(graph: &Graph, id: NodeId) -> Option<DeclaredType> {
    let closure = graph.nodes[id].call.args.iter().find_map(|a| match a {
        syn::Expr::Closure(c) => Some(c),
        _ => None,
    })?;
    let syn::Pat::Type(param) = closure.inputs.iter().nth(1)? else { return None };
    let Type::Reference(r) = &*param.ty else { return None };
    if r.mutability.is_some() || contains_infer(&r.elem) {
        return None;
    }
    Some(DeclaredType { ty: (*r.elem).clone(), span: syn::spanned::Spanned::span(&*r.elem) })
}

/// The stage's name as a type, for `Accepts`'s and `SideAccepts`'s messages: the
/// runtime's for a transform's name, and for a label, one declared here (the
/// second token stream).
fn stage_marker(node: &Node, span: Span) -> (TokenStream, TokenStream) {
    match &node.call.label {
        Some(label) => {
            let marker = Ident::new(&label.to_string(), span);
            (quote!(#marker), quote_spanned!(span=> #[allow(non_camel_case_types, dead_code)] struct #marker;))
        }
        None => {
            let op = Ident::new(&node.call.op.to_string(), span);
            (quote_spanned!(span=> ::beam::__private::stage::#op), quote!())
        }
    }
}

/// `ident`, located at `span` (where an error about it should point), resolved
/// where it was declared.
fn located_at(ident: &Ident, span: Span) -> Ident {
    Ident::new(&ident.to_string(), ident.span().located_at(span))
}

fn contains_infer(ty: &Type) -> bool {
    let text = quote!(#ty).to_string();
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|word| word == "_" || word == "impl")
}

struct DeclaredType {
    ty: Type,
    span: Span,
}

impl quote::ToTokens for DeclaredType {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.ty.to_tokens(tokens)
    }
}

fn plan_tokens(graph: &Graph, plan: &Plan) -> TokenStream {
    let stages = graph.nodes.iter().map(|node| {
        let id = node.id;
        let op = node.op_name();
        let label = match &node.call.label {
            Some(label) => {
                let label = syn::ext::IdentExt::unraw(label).to_string();
                quote!(::core::option::Option::Some(#label))
            }
            None => quote!(::core::option::Option::None),
        };
        let (line, column) = (node.line as u32, node.column as u32);
        // The variant of the plan's `StageKind`, named as the macro's (the same type).
        let kind = Ident::new(&format!("{:?}", node.spec.map_or(Kind::ElementWise, |s| s.kind)), Span::call_site());
        let inputs = node.inputs.iter().filter(|i| i.side.is_none()).filter_map(|i| i.node);
        let side_inputs = node.inputs.iter().filter(|i| i.side.is_some()).filter_map(|i| i.node);
        let name = match &node.name {
            Some(name) => {
                let name = name.to_string();
                quote!(::core::option::Option::Some(#name))
            }
            None => quote!(::core::option::Option::None),
        };
        quote! {
            ::beam::__private::StageInfo {
                id: #id,
                op: #op,
                label: #label,
                line: #line,
                column: #column,
                kind: ::beam::__private::StageKind::#kind,
                inputs: &[#(#inputs),*],
                side_inputs: &[#(#side_inputs),*],
                name: #name,
            }
        }
    });
    let segments = plan.segments.iter().map(|segment| {
        let (input, first) = match segment.input {
            SegmentInput::Source(n) => (quote!(Source(#n)), Some(n)),
            SegmentInput::Shuffled(n) => (quote!(Shuffled(#n)), None),
            SegmentInput::Flatten(n) => (quote!(Flatten(#n)), Some(n)),
            SegmentInput::Reread(n, r) => (quote!(Reread(#n, #r)), None),
        };
        let stages = first.into_iter().chain(segment.members.iter().copied());
        let reads = segment.reads(graph);
        let lends = Ident::new(&format!("{:?}", lending(graph, segment)), Span::call_site());
        quote! {
            ::beam::__private::SegmentInfo {
                input: ::beam::__private::SegmentInput::#input,
                stages: &[#(#stages),*],
                reads: &[#(#reads),*],
                lends: ::beam::__private::Lending::#lends,
            }
        }
    });
    quote! {
        ::beam::__private::Plan { stages: &[#(#stages),*], segments: &[#(#segments),*] }
    }
}
