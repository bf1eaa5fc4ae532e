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
use crate::ops::{Kind, TakesElement};
use crate::plan::{Plan, Segment, SegmentInput};

pub fn expand(graph: &Graph, plan: &Plan) -> TokenStream {
    let plan_static = plan_tokens(graph, plan);
    let outputs = collect_outputs(graph);
    let segments: Vec<TokenStream> = plan.segments.iter().map(|s| segment(graph, s)).collect();
    let fields: Vec<&Ident> = outputs.iter().map(|(name, _)| name).collect();
    let values: Vec<Ident> = outputs.iter().map(|&(_, n)| var("out", n)).collect();
    let output = output_struct(&fields);
    let inferred = fields.iter().map(|_| quote!(_));
    quote! {{
        #output
        static __BEAM_PLAN: ::beam::__private::Plan = #plan_static;
        ::beam::__private::Pipeline::new(
            &__BEAM_PLAN,
            |__ctx: &::beam::__private::Context| -> ::beam::Result<__BeamOutput<#(#inferred),*>> {
                #(#segments)*
                ::beam::Result::Ok(__BeamOutput { #(#fields: #values),* })
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
                ::beam::Result::Ok(__BeamOutput { #(#fields: ::beam::__private::unreachable_output()),* })
            },
        )
    }}
}

fn output_struct(fields: &[&Ident]) -> TokenStream {
    let params: Vec<Ident> = (0..fields.len()).map(|i| format_ident!("T{}", i)).collect();
    quote! {
        /// The outputs of a run: one field per `collect()` sink.
        #[derive(Debug)]
        struct __BeamOutput<#(#params),*> {
            #(pub #fields: #params),*
        }
    }
}

/// `name = ... -> collect();` statements, as (field name, collect node).
fn collect_outputs(graph: &Graph) -> Vec<(Ident, NodeId)> {
    graph
        .nodes
        .iter()
        .filter(|n| n.spec.is_some_and(|s| s.name == "collect"))
        .filter_map(|n| n.name.clone().map(|name| (name, n.id)))
        .collect()
}

/// An internal variable, hygienic so it cannot clash with the user's names.
fn var(prefix: &str, id: NodeId) -> Ident {
    Ident::new(&format!("__{prefix}{id}"), Span::mixed_site())
}

fn segment(graph: &Graph, segment: &Segment) -> TokenStream {
    let head = segment.input.node();
    let source = Ident::new("__source", Span::mixed_site());
    let head_witness = var("w", head);

    let open = match segment.input {
        SegmentInput::Source(n) => {
            let node = &graph.nodes[n];
            let op = &node.call.op;
            let args = &node.call.args;
            let id = n;
            quote_spanned! {node.call.span=>
                let (#source, #head_witness) = __ctx.finish(#id, || ::beam::Result::Ok(::beam::__private::ops::#op(#(#args),*)))?;
            }
        }
        SegmentInput::Shuffled(n) => {
            let out = var("out", n);
            quote! { let #source = ::beam::__private::ops::CollectionSource::new(#out); }
        }
        SegmentInput::Flatten(n) => {
            let node = &graph.nodes[n];
            let inputs: Vec<NodeId> = node.inputs.iter().filter_map(|i| i.node).collect();
            let first = var("w", inputs[0]);
            let checks = node.inputs.iter().skip(1).filter_map(|input| {
                let w = var("w", input.node?);
                Some(quote_spanned! {input.span=> ::beam::__private::same_element(&#first, &#w); })
            });
            let collections = inputs.iter().map(|&i| if is_barrier_output(graph, i) { var("out", i) } else { var("mat", i) });
            quote_spanned! {node.call.span=>
                #(#checks)*
                let (#source, #head_witness) = ::beam::__private::ops::flatten(::std::vec![#(#collections),*]);
            }
        }
    };

    let mut build = Vec::new();
    let mut leaves: Vec<(Ident, Ident, NodeId, bool)> = Vec::new(); // (leaf, local, node, is_materialize)
    for &n in &segment.members {
        let node = &graph.nodes[n];
        let spec = node.spec.expect("planned nodes are known");
        let op = &node.call.op;
        let args = &node.call.args;
        let input = node.inputs[0].node.expect("planned nodes have inputs");
        let witness = match declared_input(graph, n) {
            Some(declared) => quote_spanned!(declared.span=> &::beam::__private::Witness::<#declared>::new()),
            None => {
                let w = var("w", input);
                quote!(&#w)
            }
        };
        if spec.kind == Kind::ElementWise {
            let (stage, out) = (var("op", n), var("w", n));
            build.push(quote_spanned! {node.call.span=>
                let (#stage, #out) = ::beam::__private::ops::#op(#witness, #(#args),*);
            });
        } else {
            let leaf = var("leaf", n);
            build.push(quote_spanned! {node.call.span=>
                let #leaf = ::beam::__private::ops::#op(#witness, #(#args),*);
            });
            leaves.push((leaf, var("l", n), n, false));
        }
    }
    for &m in &segment.materialized {
        let (leaf, w) = (var("mat", m), var("w", m));
        build.push(quote! { let #leaf = ::beam::__private::ops::materialize(&#w); });
        leaves.push((leaf, var("m", m), m, true));
    }

    let element = var("x", head);
    let tree = consumers(graph, segment, head, &element);
    let leaf_names: Vec<&Ident> = leaves.iter().map(|(leaf, ..)| leaf).collect();
    let locals: Vec<&Ident> = leaves.iter().map(|(_, local, ..)| local).collect();
    let collected: Vec<Ident> = leaves.iter().map(|&(_, _, n, mat)| var(if mat { "ms" } else { "ls" }, n)).collect();
    let state = Ident::new("__state", Span::mixed_site());
    let all = Ident::new("__locals", Span::mixed_site());

    let finishes = leaves.iter().zip(&collected).map(|((leaf, _, n, mat), states)| {
        let id = *n;
        if *mat {
            let out = var("mat", id);
            quote! { let #out = __ctx.finish(#id, || ::beam::__private::Leaf::finish(#leaf, #states))?; }
        } else {
            let out = var("out", id);
            let witness = if is_barrier_output(graph, id) {
                let w = var("w", id);
                quote! { let #w = ::beam::__private::witness_of(&#out); }
            } else {
                quote!()
            };
            quote! {
                #[allow(unused_variables)]
                let #out = __ctx.finish(#id, || ::beam::__private::Leaf::finish(#leaf, #states))?;
                #witness
            }
        }
    });

    quote! {
        #open
        #(#build)*
        let #all = __ctx.run_segment(
            #head,
            #source,
            |__worker| (#(::beam::__private::Leaf::local(&#leaf_names, __worker),)*),
            |#state, #element, __stage| {
                let (#(#locals,)*) = #state;
                #tree
            },
        )?;
        #(let mut #collected = ::std::vec::Vec::with_capacity(#all.len());)*
        for (#(#locals,)*) in #all {
            #(#collected.push(#locals);)*
        }
        #(#finishes)*
    }
}

fn is_barrier_output(graph: &Graph, id: NodeId) -> bool {
    graph.nodes[id].is(Kind::KeyedShuffle) || graph.nodes[id].is(Kind::GlobalCombine)
}

/// The code that hands `element`, the output of `id`, to every stage of the segment
/// that reads it. All but the last reader get a clone.
fn consumers(graph: &Graph, segment: &Segment, id: NodeId, element: &Ident) -> TokenStream {
    let readers: Vec<NodeId> = graph.consumers(id).into_iter().filter(|r| segment.members.contains(r)).collect();
    let mut targets: Vec<TokenStream> = Vec::new();
    let count = readers.len() + usize::from(segment.materialized.contains(&id));
    let copy = Ident::new("__copy", Span::mixed_site());
    let fan_out_span = graph.nodes[id].name.as_ref().map_or_else(|| graph.nodes[id].call.op.span(), Ident::span);
    let mut give = |target: &dyn Fn(&Ident) -> TokenStream| {
        if targets.len() + 1 < count {
            let body = target(&copy);
            targets.push(quote_spanned! {fan_out_span=> { let #copy = ::beam::__private::fan_out(&#element); #body } });
        } else {
            targets.push(target(element));
        }
    };
    for reader in readers {
        give(&|value: &Ident| stage_call(graph, segment, reader, value));
    }
    if segment.materialized.contains(&id) {
        let (leaf, local) = (var("mat", id), var("m", id));
        give(&|value: &Ident| quote! { ::beam::__private::Leaf::push(&#leaf, #local, #value); });
    }
    quote!(#(#targets)*)
}

/// The code that runs stage `id` on `element`, then everything downstream of it.
fn stage_call(graph: &Graph, segment: &Segment, id: NodeId, element: &Ident) -> TokenStream {
    let node = &graph.nodes[id];
    let input = match declared_input(graph, id) {
        Some(declared) => {
            let marker = Ident::new(&node.call.display_name().to_string(), declared.span);
            quote_spanned! {declared.span=> {
                #[allow(non_camel_case_types, dead_code)]
                struct #marker;
                ::beam::__private::accept::<_, #declared, #marker>(#element)
            }}
        }
        None => quote!(#element),
    };
    if node.is(Kind::ElementWise) {
        let (stage, out) = (var("op", id), var("x", id));
        let downstream = consumers(graph, segment, id, &out);
        let emit = if downstream.is_empty() { quote!(|_| {}) } else { quote!(|#out| { #downstream __stage.set(#id); }) };
        quote! {
            __stage.set(#id);
            ::beam::__private::Stage::process(&#stage, #input, &mut #emit);
        }
    } else {
        let (leaf, local) = (var("leaf", id), var("l", id));
        quote! {
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
                let label = label.to_string();
                quote!(::core::option::Option::Some(#label))
            }
            None => quote!(::core::option::Option::None),
        };
        let (line, column) = (node.line as u32, node.column as u32);
        let kind = match node.spec.map(|s| s.kind) {
            Some(Kind::Source) => quote!(Source),
            Some(Kind::ElementWise) | None => quote!(ElementWise),
            Some(Kind::KeyedShuffle) => quote!(KeyedShuffle),
            Some(Kind::GlobalCombine) => quote!(GlobalCombine),
            Some(Kind::Flatten) => quote!(Flatten),
            Some(Kind::Sink) => quote!(Sink),
        };
        let inputs = node.inputs.iter().filter_map(|i| i.node);
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
                name: #name,
            }
        }
    });
    let segments = plan.segments.iter().map(|segment| {
        let (input, first) = match segment.input {
            SegmentInput::Source(n) => (quote!(Source(#n)), Some(n)),
            SegmentInput::Shuffled(n) => (quote!(Shuffled(#n)), None),
            SegmentInput::Flatten(n) => (quote!(Flatten(#n)), Some(n)),
        };
        let stages = first.into_iter().chain(segment.members.iter().copied());
        quote! {
            ::beam::__private::SegmentInfo {
                input: ::beam::__private::SegmentInput::#input,
                stages: &[#(#stages),*],
            }
        }
    });
    quote! {
        ::beam::__private::Plan { stages: &[#(#stages),*], segments: &[#(#segments),*] }
    }
}
