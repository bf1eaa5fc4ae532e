//! Phase 5: code generation. Assumes every check passed.
//!
//! The pipeline becomes one closure, run by `Pipeline::run`, holding one block per
//! segment:
//!
//! 1. build each stage from its arguments (`ops::map(&witness_of_input, closure)`),
//!    in plan order, so rustc checks every closure against its real input type;
//! 2. run the segment: one loop per worker whose body is the segment's stages
//!    nested as closures (`Stage::process(&op, x, &mut |y| next(y))`): static
//!    dispatch, no boxing, nothing materialized between fused stages;
//! 3. merge the per-worker state of each barrier (`Leaf::finish`).
//!
//! Calls are spanned on the user's stage, so type errors land there.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Expr, Ident, Type};

use crate::graph::{Graph, NodeId};
use crate::ops::{Inputs, Kind, Outputs, TakesElement};
use crate::plan::{Plan, Segment, SegmentInput, is_barrier_output};

pub fn expand(graph: &Graph, plan: &Plan) -> TokenStream {
    let plan_static = plan_tokens(graph, plan);
    let outputs = collect_outputs(graph);
    let mut reads = CollectionReads::count(plan, graph);
    let segments: Vec<SegmentCode> = plan.segments.iter().map(|s| segment(graph, s, &mut reads)).collect();
    let build = segments.iter().map(|s| &s.build);
    let prepare = segments.iter().map(|s| &s.prepare);
    let run = segments.iter().map(|s| &s.run);
    let fields: Vec<&Ident> = outputs.iter().map(|(name, _)| name).collect();
    let values: Vec<Ident> = outputs.iter().map(|&(_, n)| var(graph, "out", n)).collect();
    let output = output_struct(&fields);
    let inferred = fields.iter().map(|_| quote!(_));
    quote! {{
        #output
        static __BEAM_PLAN: ::beam::__private::Plan = #plan_static;
        ::beam::__private::Pipeline::new(
            &__BEAM_PLAN,
            |__ctx: &::beam::__private::Context| -> ::beam::Result<__BeamOutput<#(#inferred),*>> {
                // Build every stage, let each check its inputs and outputs, then run.
                #(#build)*
                #(#prepare)*
                #(#run)*
                ::beam::Result::Ok(__BeamOutput { #(#fields: #values,)* metrics: __ctx.metrics() })
            },
        )
    }}
}

/// What `pipeline!` emits beside its errors: a pipeline of the right shape, so that
/// code using its outputs does not report errors of its own.
pub fn placeholder(graph: &Graph) -> TokenStream {
    let outputs = collect_outputs(graph);
    let fields: Vec<&Ident> = outputs.iter().map(|(name, _)| name).collect();
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

/// The code of one segment, in two parts: `build` constructs its stages (run before
/// anything runs, so that every stage can check its inputs and outputs first), and
/// `run` runs its loop and merges its leaves.
struct SegmentCode {
    build: TokenStream,
    prepare: TokenStream,
    run: TokenStream,
}

/// A materialized collection (a barrier's output, or a flatten input) can be read
/// by several segments; every read but the last gets a clone.
struct CollectionReads(std::collections::HashMap<NodeId, usize>);

impl CollectionReads {
    fn count(plan: &Plan, graph: &Graph) -> Self {
        let mut reads = std::collections::HashMap::new();
        for segment in &plan.segments {
            match segment.input {
                SegmentInput::Shuffled(n) => *reads.entry(n).or_insert(0) += 1,
                SegmentInput::Flatten(f) => {
                    for input in graph.nodes[f].inputs.iter().filter_map(|i| i.node) {
                        *reads.entry(input).or_insert(0) += 1;
                    }
                }
                SegmentInput::Reread(m, _) => *reads.entry(m).or_insert(0) += 1,
                SegmentInput::Source(_) => {}
            }
            for &member in &segment.members {
                for (producer, _, _) in graph.side_inputs(member) {
                    *reads.entry(producer).or_insert(0) += 1;
                }
            }
        }
        CollectionReads(reads)
    }

    /// The expression that reads `collection`, the variable holding node `n`'s
    /// collection: a clone unless this is its last read.
    fn read(&mut self, n: NodeId, collection: &Ident, span: Span) -> TokenStream {
        let left = self.0.entry(n).or_insert(1);
        *left -= 1;
        if *left > 0 {
            quote_spanned!(span=> ::beam::__private::fan_out_collection(&#collection))
        } else {
            quote!(#collection)
        }
    }
}

fn segment(graph: &Graph, segment: &Segment, reads: &mut CollectionReads) -> SegmentCode {
    let head = segment.input.node();
    let source = var(graph, "src", head);
    let head_witness = var(graph, "w", head);

    let mut build = Vec::new();
    let mut prepare = Vec::new();
    let mut side_fills = Vec::new();
    let mut dead_letters = quote!();
    // Side inputs are filled before the loop's own input is opened, so their reads
    // of held collections come first (the last read of a collection moves it).
    let side_reads: Vec<(NodeId, TokenStream)> = segment
        .members
        .iter()
        .filter_map(|&n| {
            let (producer, _, span) = graph.side_inputs(n).next()?;
            let collection = var_at(if is_barrier_output(graph, producer) { "out" } else { "mat" }, producer, span);
            Some((n, reads.read(producer, &collection, span)))
        })
        .collect();
    let open = match segment.input {
        SegmentInput::Source(n) => {
            let node = &graph.nodes[n];
            let op = &node.call.op;
            let generics = &node.call.generics;
            let args = &node.call.args;
            build.push(quote_spanned! {node.call.span=>
                let (#source, #head_witness) = __ctx.finish(#n, || ::beam::Result::Ok(::beam::__private::ops::#op #generics (#(#args),*)))?;
            });
            prepare.push(quote_spanned! {node.call.span=>
                __ctx.finish(#n, || ::beam::__private::Source::prepare(&#source, __ctx))?;
                __ctx.source_prepared(&#source);
            });
            let mut after = Vec::new();
            for bad in graph.consumers(n).into_iter().filter(|&c| graph.nodes[c].is(Kind::DeadLetters)) {
                // `(records, bad) = read_jsonl(..)`: keep bad records, collect them after the loop.
                let (w, out) = (var(graph, "w", bad), var(graph, "out", bad));
                build.push(quote_spanned! {node.call.span=>
                    let #source = ::beam::__private::DeadLetterSource::keep_bad_records(#source);
                    let #w = ::beam::__private::Witness::<::beam::BadRecord>::new();
                });
                after.push(quote_spanned! {node.call.span=>
                    let #out = ::beam::__private::DeadLetterSource::bad_records(&#source);
                    __ctx.output_size(#bad, &#out);
                });
            }
            dead_letters = quote!(#(#after)*);
            quote!()
        }
        // `__w{m}` already stands for the elements read again.
        SegmentInput::Reread(m, _) => {
            let held = var(graph, if is_barrier_output(graph, m) { "out" } else { "mat" }, m);
            let collection = reads.read(m, &held, graph.nodes[m].call.op.span());
            quote! { let #source = ::beam::__private::ops::CollectionSource::new(#collection); }
        }
        // The head witness of a shuffled input is the barrier's own (see below).
        SegmentInput::Shuffled(n) => {
            let out = reads.read(n, &var(graph, "out", n), fan_out_span(graph, n));
            quote! { let #source = ::beam::__private::ops::CollectionSource::new(#out); }
        }
        SegmentInput::Flatten(n) if graph.nodes[n].spec.is_some_and(|s| matches!(s.inputs, Inputs::Grouped { .. })) => {
            // `co_group_by_key`, `outer_join`: the inputs, held, grouped by key.
            let node = &graph.nodes[n];
            let op = &node.call.op;
            let witnesses = node.inputs.iter().filter_map(|i| Some(var_at("w", i.node?, op.span())));
            let witness_fn = Ident::new(&format!("{op}_witness"), op.span());
            // One value naming the inputs, for the checks here and in the loop: one
            // declaration of the names, so that errors show them as plain names.
            let names = var_at("names", n, op.span());
            let declare_names = input_names(graph, n);
            build.push(quote_spanned! {op.span()=>
                let #names = #declare_names;
                let #head_witness = ::beam::__private::ops::#witness_fn(#names, (#(#witnesses,)*));
            });
            let collections: Vec<TokenStream> = node
                .inputs
                .iter()
                .map(|input| {
                    let n = input.node.expect("planned nodes have inputs");
                    let collection = var_at(if is_barrier_output(graph, n) { "out" } else { "mat" }, n, input.span);
                    reads.read(n, &collection, input.span)
                })
                .collect();
            quote_spanned! {op.span()=>
                let #source = __ctx.finish(#n, || ::beam::Result::Ok(::beam::__private::ops::#op(#names, (#(#collections,)*))))?;
            }
        }
        SegmentInput::Flatten(n) => {
            let node = &graph.nodes[n];
            let first = node.inputs[0].node.expect("planned nodes have inputs");
            let first_witness = var(graph, "w", first);
            build.push(quote_spanned! {node.call.span=> let #head_witness = #first_witness; });
            let collections: Vec<TokenStream> = node
                .inputs
                .iter()
                .enumerate()
                .map(|(i, input)| {
                    let n = input.node.expect("planned nodes have inputs");
                    let collection = var_at(if is_barrier_output(graph, n) { "out" } else { "mat" }, n, input.span);
                    let collection = reads.read(n, &collection, input.span);
                    if i == 0 {
                        quote!(#collection)
                    } else {
                        // Each further input is checked against the first one's type.
                        let w = var_at("w", first, input.span);
                        quote_spanned! {input.span=> ::beam::__private::same_element(&#w, #collection) }
                    }
                })
                .collect();
            quote_spanned! {node.call.span=>
                let (#source, _) = ::beam::__private::ops::flatten(::std::vec![#(#collections),*]);
            }
        }
    };

    let mut leaves: Vec<(Ident, Ident, NodeId, bool)> = Vec::new(); // (leaf, local, node, is_materialize)
    for &n in &segment.members {
        let node = &graph.nodes[n];
        let spec = node.spec.expect("planned nodes are known");
        let op = &node.call.op;
        let input = node.inputs[0].node.expect("planned nodes have inputs");
        if spec.kind == Kind::PartitionOutput {
            // An output of a partition holds the partition's elements.
            let (w, from) = (var(graph, "w", n), var(graph, "w", input));
            build.push(quote! { let #w = #from; });
            continue;
        }
        // The input's witness; a closure that declares its input type is built
        // against that type, and `accept` in the loop reports a mismatch once.
        let checked = var(graph, "in", n);
        let check = match declared_input(graph, n) {
            Some(declared) => quote_spanned!(declared.span=> ::beam::__private::Witness::<#declared>::new()),
            None => {
                let input_witness = var_at("w", input, op.span());
                quote_spanned!(op.span()=> #input_witness)
            }
        };
        build.push(quote_spanned! {op.span()=> let #checked = #check; });

        let (op, args): (Ident, Vec<TokenStream>) = match spec.via {
            Some((generic, combiner)) => {
                let combiner = Ident::new(combiner, op.span());
                (Ident::new(generic, op.span()), vec![quote_spanned!(op.span()=> ::beam::combine::#combiner)])
            }
            None => (op.clone(), node.call.args.iter().map(|a| quote!(#a)).collect()),
        };
        let mut args = args;
        if let Some((producer, kind, span)) = graph.side_inputs(n).next() {
            // The side input: a slot filled when the segment starts, lent to the stage
            // in place of its `as_map(..)` argument (or, for a join, as its right side).
            let (slot_fn, fill_fn) = kind.functions();
            let (slot_fn, fill_fn) = (Ident::new(slot_fn, span), Ident::new(fill_fn, span));
            let (slot, witness) = (var_at("side", n, span), var_at("w", producer, span));
            build.push(quote_spanned! {span=> let #slot = ::beam::__private::#slot_fn(#witness); });
            match spec.side {
                Some(index) => args[index] = quote_spanned!(span=> &#slot),
                None => args.insert(0, quote_spanned!(span=> &#slot)),
            }
            let collection = side_reads.iter().find(|(r, _)| *r == n).map(|(_, read)| read.clone());
            side_fills.push((n, slot, fill_fn, collection, span));
        }
        if spec.inputs == Inputs::Join {
            // Before the right side, so the names are known when its key is checked.
            args.insert(0, input_names(graph, n));
        }
        // Bindings located at the stage, so errors about their types land there.
        let at = node.call.op.span();
        if spec.kind == Kind::ElementWise {
            let (stage, out) = (var_at("op", n, at), var_at("w", n, at));
            build.push(quote_spanned! {at=>
                // Argument expressions are user code: a panic there is the stage's.
                let (#stage, #out) = __ctx.finish(#n, || ::beam::Result::Ok(::beam::__private::ops::#op(#checked, #(#args),*)))?;
            });
        } else {
            let leaf = var_at("leaf", n, at);
            build.push(quote_spanned! {at=>
                let #leaf = __ctx.finish(#n, || ::beam::Result::Ok(::beam::__private::ops::#op(#checked, #(#args),*)))?;
            });
            if is_barrier_output(graph, n) {
                // The element type of the collection the barrier will produce.
                let w = var_at("w", n, at);
                build.push(quote_spanned! {at=> let #w = ::beam::__private::output_witness(&#leaf); });
            }
            prepare.push(quote_spanned! {at=>
                __ctx.finish(#n, || ::beam::__private::Leaf::prepare(&#leaf, __ctx))?;
            });
            leaves.push((leaf, var(graph, "l", n), n, false));
        }
    }
    for &m in &segment.materialized {
        let (leaf, w) = (var(graph, "mat", m), var(graph, "w", m));
        build.push(quote! { let #leaf = ::beam::__private::ops::materialize(#w); });
        leaves.push((leaf, var(graph, "m", m), m, true));
    }

    let element = var(graph, "x", head);
    let tree = consumers(graph, segment, head, &element);
    let counted = segment.counted(graph);
    let members = &segment.members;
    let owns_input = matches!(segment.input, SegmentInput::Source(_) | SegmentInput::Flatten(_));
    let leaf_names: Vec<&Ident> = leaves.iter().map(|(leaf, ..)| leaf).collect();
    let locals: Vec<&Ident> = leaves.iter().map(|(_, local, ..)| local).collect();
    let collected: Vec<Ident> =
        leaves.iter().map(|&(_, _, n, mat)| var(graph, if mat { "ms" } else { "ls" }, n)).collect();
    // Code about all of the segment's per-worker state is located at one of its
    // leaves: when a leaf's stage fails a trait bound, rustc repeats that error here,
    // and it should land on a stage, not on the whole `pipeline!`. Shuffles and
    // combines have bounds that can fail; `collect` and the like rarely do.
    let segment_span = leaves
        .iter()
        .find(|&&(_, _, n, mat)| !mat && is_barrier_output(graph, n))
        .or(leaves.first())
        .map_or_else(Span::call_site, |(leaf, ..)| leaf.span());
    // Joins reading the loop's input look each chunk up first, into state of their
    // own per worker, kept after the leaves' in the workers' state tuple.
    // Their code is located at the join, so that a failed bound is reported there,
    // once, with the join's own error.
    let lookers = looking_ahead(graph, segment);
    let aheads: Vec<Ident> = lookers.iter().map(|&j| var_at("ahead", j, graph.nodes[j].call.op.span())).collect();
    let skip_aheads: Vec<TokenStream> = aheads.iter().map(|_| quote!(_)).collect();
    let found = lookers.iter().map(|&j| {
        let at = graph.nodes[j].call.op.span();
        let op = var_at("op", j, at);
        quote_spanned!(at=> ::beam::__private::LookAhead::found(&#op))
    });
    let look_ahead = if lookers.is_empty() {
        quote_spanned!(segment_span=> |_, _| {})
    } else {
        let skip_leaves = leaves.iter().map(|_| quote!(_));
        let calls = lookers.iter().zip(&aheads).map(|(&j, ahead)| {
            let at = graph.nodes[j].call.op.span();
            let op = var_at("op", j, at);
            quote_spanned!(at=> ::beam::__private::LookAhead::look_ahead(&#op, #ahead, __chunk);)
        });
        quote_spanned!(segment_span=> |__state, __chunk| {
            let (#(#skip_leaves,)* #(#aheads,)*) = __state;
            #(#calls)*
        })
    };
    let state = Ident::new("__state", segment_span);
    let all = Ident::new("__locals", segment_span);

    let finishes = leaves.iter().zip(&collected).map(|((leaf, _, n, mat), states)| {
        let id = *n;
        let at = graph.nodes[id].call.op.span();
        let finish =
            quote_spanned! {at=> __ctx.finish(#id, || ::beam::__private::Leaf::finish(#leaf, #states, __ctx))? };
        if *mat {
            let out = var(graph, "mat", id);
            quote_spanned! {at=> let #out = #finish; }
        } else if graph.nodes[id].is(Kind::Sink) && !is_collect(graph, id) {
            // `for_each`, `write_text`: nothing to bind.
            quote_spanned! {at=> #finish; }
        } else {
            let out = var(graph, "out", id);
            quote_spanned! {at=> let #out = #finish; __ctx.output_size(#id, &#out); }
        }
    });

    let fills = side_fills.into_iter().map(|(n, slot, fill_fn, collection, span)| {
        quote_spanned! {span=> __ctx.finish(#n, || ::beam::__private::#fill_fn(&#slot, #collection))?; }
    });
    let run = quote_spanned! {segment_span=>
        #(#fills)*
        #open
        let #all = __ctx.run_segment(
            (#head, #owns_input),
            &#source,
            &[#(#members),*],
            &[#(#counted),*],
            |__worker| (
                #(::beam::__private::Leaf::local(&#leaf_names, __worker),)*
                #(#found,)*
            ),
            #look_ahead,
            |#state, #element, __stage, __counts| {
                let (#(#locals,)* #(#aheads,)*) = #state;
                #tree
            },
        )?;
        #(let mut #collected = ::std::vec::Vec::with_capacity(#all.len());)*
        for (#(#locals,)* #(#skip_aheads,)*) in #all {
            #(#collected.push(#locals);)*
        }
        #(#finishes)*
        #dead_letters
    };
    SegmentCode { build: quote!(#(#build)*), prepare: quote!(#(#prepare)*), run }
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
            targets.push(quote_spanned! {span=> { let #copy = ::beam::__private::fan_out(&#original); #body } });
        } else {
            targets.push(target(element));
        }
    };
    for reader in readers {
        give(&|value: &Ident| stage_call(graph, segment, reader, value));
    }
    if segment.materialized.contains(&id) {
        let (leaf, local) = (var(graph, "mat", id), var(graph, "m", id));
        give(&|value: &Ident| quote! { ::beam::__private::Leaf::push(&#leaf, #local, #value); });
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

/// Whether stage `id` is a join whose left input is `segment`'s loop input.
fn looks_ahead(graph: &Graph, segment: &Segment, id: NodeId) -> bool {
    let (node, head) = (&graph.nodes[id], segment.input.node());
    node.spec.is_some_and(|s| s.inputs == Inputs::Join)
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
    let input = match declared_input(graph, id) {
        Some(declared) => {
            let mut marker = node.call.display_name().clone();
            marker.set_span(declared.span);
            quote_spanned! {declared.span=> {
                #[allow(non_camel_case_types, dead_code)]
                struct #marker;
                ::beam::__private::accept::<_, #declared, #marker>(#element)
            }}
        }
        None => quote!(#element),
    };
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
            ::beam::__private::Stage::process(&#stage, #input, &mut |(#index, #element)| {
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
            #process;
        }
    } else {
        let (leaf, local) = (var_at("leaf", id, node.call.op.span()), var(graph, "l", id));
        quote_spanned! {node.call.op.span()=>
            __stage.set(#id);
            ::beam::__private::Leaf::push(&#leaf, #local, #input);
        }
    }
}

/// The element type a stage's closure declares, when it declares one:
/// `map(|l: String| ...)` gives `String`, `filter(|x: &u32| ...)` gives `u32`.
fn declared_input(graph: &Graph, id: NodeId) -> Option<DeclaredType> {
    let node = &graph.nodes[id];
    let (arg, takes) = node.spec?.closure?;
    let Expr::Closure(closure) = node.call.args.get(arg)? else { return None };
    let syn::Pat::Type(param) = closure.inputs.first()? else { return None };
    let ty = match (takes, &*param.ty) {
        (TakesElement::ByValue, ty) => ty,
        (TakesElement::ByRef, Type::Reference(r)) if r.mutability.is_none() => &*r.elem,
        _ => return None,
    };
    if contains_infer(ty) {
        return None;
    }
    Some(DeclaredType { ty: ty.clone(), span: syn::spanned::Spanned::span(ty) })
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
        quote! {
            ::beam::__private::SegmentInfo {
                input: ::beam::__private::SegmentInput::#input,
                stages: &[#(#stages),*],
                reads: &[#(#reads),*],
            }
        }
    });
    quote! {
        ::beam::__private::Plan { stages: &[#(#stages),*], segments: &[#(#segments),*] }
    }
}
