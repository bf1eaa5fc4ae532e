//! Phase 3: checks on the graph that do not need types. Type checks (a closure that
//! does not accept its input, keyed transforms on non-pairs, keys that cannot be
//! hashed) are left to rustc, through the spanned code and the runtime's
//! `#[diagnostic::on_unimplemented]` traits.

use crate::diag::Diagnostics;
use crate::graph::{Graph, NodeId};
use crate::ops::{Inputs, Kind, Outputs, TakesElement};

pub fn check(graph: &mut Graph, diag: &mut Diagnostics) {
    for id in 0..graph.nodes.len() {
        check_node(graph, id, diag);
    }
    check_unused(graph, diag);
    check_cycles(graph, diag);
}

fn check_node(graph: &mut Graph, id: NodeId, diag: &mut Diagnostics) {
    let consumers = graph.consumers(id);
    let node = &graph.nodes[id];
    let Some(spec) = node.spec else { return };
    let op = node.call.op.clone();
    // `xs -> map(f);`: computed, then thrown away.
    if node.name.is_none()
        && consumers.is_empty()
        && !matches!(spec.kind, Kind::Sink | Kind::DeadLetters | Kind::LateData | Kind::PartitionOutput)
    {
        diag.error(
            op.span(),
            format!(
                "the result of `{op}` is not used: end the chain in a sink such as `collect()`, `for_each(..)` or \
                 `write_text(..)`, or name it (`_name = ...` to keep it only for its side effects)"
            ),
        );
    }
    let span = op.span();
    let before = diag.len();

    // `map(f, g)`
    if node.call.args.len() != spec.args.len() {
        let expected = match spec.args.len() {
            0 => "no arguments".to_owned(),
            1 => "1 argument".to_owned(),
            n => format!("{n} arguments"),
        };
        let given = match node.call.args.len() {
            1 => "1 was given".to_owned(),
            n => format!("{n} were given"),
        };
        diag.error(span, format!("`{op}` takes {expected} (`{}`), but {given}", spec.signature()));
    }

    // `filter(|w: &str| ..)`: the closure takes `&T` for elements of type `T`, and
    // no element is a `str`. Said here once, instead of rustc's cascade about `Sized`.
    if let Some((syn::Type::Reference(r), TakesElement::ByRef)) = node.closure_param()
        && let Some(unsized_type) = unsized_type(&r.elem)
    {
        diag.error(
            syn::spanned::Spanned::span(&*r.elem),
            format!(
                "`{op}` passes each element by reference, so its closure takes `&T` for elements of type `T`, and \
                 an element cannot be `{unsized_type}`; for elements of type `&{unsized_type}`, write \
                 `&&{unsized_type}`"
            ),
        );
    }

    if spec.kind == Kind::Source {
        // `words -> from_iter(v)`
        if !node.at_head {
            diag.error(
                span,
                format!("`{op}` is a source: it starts a statement and cannot read the output of another stage"),
            );
        }
    } else if node.at_head {
        // `xs = map(|x| x + 1);`
        diag.error(span, format!("`{op}` needs an input: write `collection -> {}`", spec.signature()));
    } else if !node.failed {
        check_input_count(graph, id, diag);
    }

    if spec.kind == Kind::Sink {
        // `xs -> collect() -> map(f)` (reading a sink by name is reported by `graph`)
        if let Some(&next) = consumers.first() {
            diag.error(graph.nodes[next].call.op.span(), format!("`{op}` ends a chain: nothing can follow it"));
        }
        // `metrics = xs -> collect();`: the field is taken by the run's metrics.
        if let Some(name) = &graph.nodes[id].name
            && name == "metrics"
        {
            diag.error(
                name.span(),
                "`metrics` is the name of the run's metrics in the output of `run()`; name this output differently",
            );
        }
        match (&graph.nodes[id].name, spec.outputs == Outputs::Field && consumers.is_empty()) {
            // `xs -> collect();`
            (None, true) => diag.error(span, "`collect()` needs a name for its output: `name = ... -> collect();`"),
            // `n = xs -> for_each(f);`
            (Some(name), false) => diag.error(
                name.span(),
                format!("`{op}` produces no output, so there is nothing to name `{name}`: remove `{name} =`"),
            ),
            _ => {}
        }
    }
    if diag.len() > before {
        graph.nodes[id].failed = true;
    }
}

/// `xs -> flatten()`, `orders -> join()`, `(a, b) -> map(f)`: what the transform
/// reads against what it is given.
fn check_input_count(graph: &Graph, id: NodeId, diag: &mut Diagnostics) {
    let node = &graph.nodes[id];
    let Some(spec) = node.spec else { return };
    let op = &node.call.op;
    let span = op.span();
    let inputs = node.inputs.iter().filter(|i| i.side.is_none()).count();
    let several = |most: usize| {
        let takes = match most {
            2 => "two inputs".to_owned(),
            usize::MAX => "two or more inputs".to_owned(),
            most => format!("two to {} inputs", number(most)),
        };
        let given = if inputs == 1 { "1 is given".to_owned() } else { format!("{inputs} are given") };
        format!("`{op}` takes {takes}, as in `(a, b) -> {op}()`, but {given}")
    };
    match spec.inputs {
        // `xs -> flatten()`
        Inputs::Concat if inputs < 2 => diag.error(span, several(usize::MAX)),
        // `(a, b, c) -> outer_join()`
        Inputs::Grouped { most } if !(2..=most).contains(&inputs) => diag.error(span, several(most)),
        // `orders -> join()`
        Inputs::Join if node.inputs.len() != 2 => diag.error(
            span,
            format!(
                "`{op}` takes two keyed inputs, as in `(orders, customers) -> {op}()`; the right one is read whole"
            ),
        ),
        // `(a, b) -> map(f)`
        Inputs::One if inputs != 1 => diag.error(
            span,
            format!(
                "`{op}` takes one input, but {inputs} are given; combine them first with `({}) -> flatten()`",
                input_names(graph, id)
            ),
        ),
        _ => {}
    }
}

/// A small count as a word, as in "two to six inputs".
fn number(n: usize) -> String {
    let words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];
    words.get(n).map_or_else(|| n.to_string(), |w| (*w).to_owned())
}

fn input_names(graph: &Graph, id: NodeId) -> String {
    let names: Vec<String> = graph.nodes[id]
        .inputs
        .iter()
        .filter_map(|i| i.node)
        .map(|n| graph.nodes[n].name.as_ref().map_or_else(|| "..".to_owned(), ToString::to_string))
        .collect();
    names.join(", ")
}

/// `evens = xs -> filter(f);` and nothing reads `evens`.
fn check_unused(graph: &Graph, diag: &mut Diagnostics) {
    for node in &graph.nodes {
        let Some(name) = &node.name else { continue };
        if node.failed {
            continue;
        }
        if node.is(Kind::Sink) || name.to_string().starts_with('_') || graph.excused.contains(&name.to_string()) {
            continue;
        }
        if graph.consumers(node.id).is_empty() && graph.side_readers(node.id).is_empty() {
            diag.error(
                name.span(),
                format!("collection `{name}` is never used; read it in another statement, or name it `_{name}` if it is computed only for its side effects"),
            );
        }
    }
}

/// `a = b -> map(f); b = a -> map(g);`
fn check_cycles(graph: &mut Graph, diag: &mut Diagnostics) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; graph.nodes.len()];
    let mut cycles = Vec::new();
    for start in 0..graph.nodes.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Depth-first over inputs, with an explicit stack of (node, next input index).
        let mut stack = vec![(start, 0)];
        marks[start] = Mark::Active;
        while let Some(&(id, next)) = stack.last() {
            if let Some(input) = graph.nodes[id].inputs.get(next) {
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                let Some(to) = input.node else { continue };
                match marks[to] {
                    Mark::New => {
                        marks[to] = Mark::Active;
                        stack.push((to, 0));
                    }
                    Mark::Active => {
                        let at = stack.iter().position(|&(n, _)| n == to).unwrap_or(0);
                        cycles.push(stack[at..].iter().map(|&(n, _)| n).collect::<Vec<_>>());
                    }
                    Mark::Done => {}
                }
            } else {
                marks[id] = Mark::Done;
                stack.pop();
            }
        }
    }
    for cycle in cycles {
        let names: Vec<String> =
            cycle.iter().rev().filter_map(|&n| graph.nodes[n].name.as_ref()).map(|n| format!("`{n}`")).collect();
        let reader = cycle[0];
        let input = graph.nodes[reader].inputs.iter().find(|i| i.node.is_some_and(|n| cycle.contains(&n)));
        let span = input.map_or_else(|| graph.nodes[reader].call.op.span(), |i| i.span);
        let mut path = names.join(" -> ");
        if let Some(first) = names.first() {
            path = format!("{path} -> {first}");
        }
        diag.error(
            span,
            format!("these collections depend on each other in a cycle: {path}; a pipeline must be acyclic"),
        );
        for n in cycle {
            graph.nodes[n].failed = true;
        }
    }
}

/// `str`, `[T]` or `dyn Trait` as written: a type that cannot be an element.
fn unsized_type(ty: &syn::Type) -> Option<String> {
    let unsized_ = match ty {
        syn::Type::Path(path) => path.qself.is_none() && path.path.is_ident("str"),
        syn::Type::Slice(_) | syn::Type::TraitObject(_) => true,
        _ => false,
    };
    unsized_.then(|| quote::quote!(#ty).to_string().replace(" ", ""))
}

#[cfg(test)]
mod tests {
    use crate::diag::Diagnostics;
    use crate::graph::Graph;

    fn errors(src: &str) -> Vec<String> {
        let mut diag = Diagnostics::default();
        let mut graph = Graph::build(syn::parse_str(src).unwrap(), &mut diag);
        super::check(&mut graph, &mut diag);
        diag.messages()
    }

    #[test]
    fn a_valid_pipeline_has_no_errors() {
        assert!(errors("xs = from_iter(v); ys = xs -> map(f); out = (xs, ys) -> flatten() -> collect();").is_empty());
    }

    #[test]
    fn every_mistake_is_reported_once() {
        let found = errors(
            "xs = from_iter(v);
             ys = xs -> mapp(f);
             zs = xs -> filter();
             _n = ws -> count() -> collect();",
        );
        // `ys` and `zs` are unused too, but their stages already failed: no cascade.
        let expected = [
            "unknown transform `mapp`; did you mean `map`?",
            "cannot find collection `ws` in this pipeline; did you mean `xs`?",
            "`filter` takes 1 argument (`filter(predicate)`), but 0 were given",
        ];
        assert_eq!(found.len(), expected.len(), "{found:#?}");
        for (message, start) in found.iter().zip(expected) {
            assert!(message.starts_with(start), "{message}");
        }
    }

    #[test]
    fn cycles_are_reported_with_their_path() {
        let found = errors("a = b -> map(f); b = a -> map(g); _out = b -> collect();");
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("`b` -> `a` -> `b`") || found[0].contains("`a` -> `b` -> `a`"), "{}", found[0]);
    }
}
