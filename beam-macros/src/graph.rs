//! Phase 2: syntax tree to a flat graph of stages, with names resolved.
//!
//! Every stage becomes a node; a statement's name is attached to its last node. Name
//! errors (undefined, defined twice) are reported here; a node whose transform is
//! unknown or whose input is undefined is kept but marked, so later phases skip it
//! instead of reporting follow-on errors.

use std::collections::{HashMap, HashSet};

use proc_macro2::Span;
use syn::Ident;

use crate::diag::Diagnostics;
use crate::ops::{self, Kind, OpSpec};
use crate::parse::{Head, PipelineAst, StageCall};

pub type NodeId = usize;

pub struct Graph {
    pub nodes: Vec<Node>,
    /// Names a reported mistake may have meant to read: not reported as unused.
    pub excused: HashSet<String>,
}

pub struct Node {
    pub id: NodeId,
    pub call: StageCall,
    /// `None` when the transform is unknown (already reported).
    pub spec: Option<&'static OpSpec>,
    pub inputs: Vec<Input>,
    /// The name the statement gives this node's result (`words = ...`), if it is the
    /// statement's last node.
    pub name: Option<Ident>,
    /// Whether the node is at the head of its statement (where sources belong).
    pub at_head: bool,
    /// Set when a check failed on this node, so later phases leave it alone.
    pub failed: bool,
    pub line: usize,
    pub column: usize,
}

pub struct Input {
    /// `None` when the name is undefined (already reported).
    pub node: Option<NodeId>,
    /// Where the input is named: the collection's name, or the previous stage.
    pub span: Span,
    /// Read whole, as a side input (`as_map(rates)`), rather than element by element.
    pub side: Option<SideKind>,
}

/// How a side input is handed to the stage that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideKind {
    /// `as_map(c)`: `HashMap<K, V>` of `(K, V)` pairs; a key twice is an error.
    Map,
    /// `as_multimap(c)`: `HashMap<K, Vec<V>>`.
    MultiMap,
    /// `as_list(c)`: `Vec<T>`.
    List,
    /// `as_singleton(c)`: the one element; none or several is an error.
    Singleton,
    /// The right input of a join: a hash table of its values by key.
    JoinTable,
}

impl SideKind {
    fn parse(name: &str) -> Option<SideKind> {
        match name {
            "as_map" => Some(SideKind::Map),
            "as_multimap" => Some(SideKind::MultiMap),
            "as_list" => Some(SideKind::List),
            "as_singleton" => Some(SideKind::Singleton),
            _ => None,
        }
    }

    /// The runtime functions that make the slot for the side value, and fill it.
    pub fn functions(self) -> (&'static str, &'static str) {
        match self {
            SideKind::Map => ("side_map", "fill_map"),
            SideKind::MultiMap => ("side_multimap", "fill_multimap"),
            SideKind::List => ("side_list", "fill_list"),
            SideKind::Singleton => ("side_singleton", "fill_singleton"),
            SideKind::JoinTable => ("side_join_table", "fill_join_table"),
        }
    }
}

/// `2` in `partition(2, f)`.
fn literal_count(arg: &syn::Expr) -> Option<usize> {
    match arg {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }) => n.base10_parse().ok(),
        // `$n` of a reusable transform arrives wrapped in an invisible group.
        syn::Expr::Group(group) => literal_count(&group.expr),
        syn::Expr::Paren(paren) => literal_count(&paren.expr),
        _ => None,
    }
}

/// `as_map(rates)` → (`Map`, `rates`).
fn side_input(arg: &syn::Expr) -> Option<(SideKind, Ident)> {
    let syn::Expr::Call(call) = arg else { return None };
    let syn::Expr::Path(function) = &*call.func else { return None };
    let kind = SideKind::parse(&function.path.get_ident()?.to_string())?;
    let [syn::Expr::Path(name)] = call.args.iter().collect::<Vec<_>>()[..] else { return None };
    Some((kind, name.path.get_ident()?.clone()))
}

impl Node {
    pub fn op_name(&self) -> String {
        self.call.op.to_string()
    }

    pub fn is(&self, kind: Kind) -> bool {
        self.spec.is_some_and(|s| s.kind == kind)
    }
}

/// A node for a further output of `of` (a partition's outputs, a source's bad
/// records), named where the user wrote `name`.
fn output_node(nodes: &mut Vec<Node>, spec: &'static OpSpec, of: NodeId, name: &Ident) -> NodeId {
    let id = nodes.len();
    let start = name.span().start();
    let op = Ident::new(spec.name, name.span());
    nodes.push(Node {
        id,
        call: StageCall { label: None, op, generics: None, args: Vec::new(), span: name.span() },
        spec: Some(spec),
        inputs: vec![Input { node: Some(of), span: name.span(), side: None }],
        name: None,
        at_head: false,
        failed: false,
        line: start.line,
        column: start.column + 1,
    });
    id
}

/// Names `node`'s result `name`, unless the name is taken.
fn register(
    defined: &mut HashMap<String, (Ident, NodeId)>,
    nodes: &mut [Node],
    node: NodeId,
    name: Ident,
    diag: &mut Diagnostics,
) {
    let key = name.to_string();
    if let Some((first, _)) = defined.get(&key) {
        let line = first.span().start().line;
        diag.error(
            name.span(),
            format!("`{name}` is defined twice (first on line {line}); give this collection another name"),
        );
        nodes[node].failed = true;
        // Keep the name on the node so later checks (a `collect()` without a name)
        // do not report the same statement again.
        nodes[node].name = Some(name);
    } else {
        defined.insert(key, (name.clone(), node));
        nodes[node].name = Some(name);
    }
}

impl Graph {
    pub fn build(ast: PipelineAst, diag: &mut Diagnostics) -> Graph {
        let mut nodes: Vec<Node> = Vec::new();
        // Names are resolved after every statement is seen: a statement may read a
        // collection defined further down.
        let mut defined: HashMap<String, (Ident, NodeId)> = HashMap::new();
        let mut pending: Vec<(NodeId, Vec<Ident>)> = Vec::new();
        let mut excused: HashSet<String> = HashSet::new();

        for statement in ast.statements {
            let mut head_refs = Vec::new();
            let mut head_span = None;
            let mut calls = Vec::new();
            match statement.head {
                Head::Stage(call) => calls.push((call, true)),
                Head::Collection(name) => {
                    head_span = Some(name.span());
                    head_refs.push(name);
                }
                Head::Tuple { names, span } => {
                    if names.len() < 2 {
                        // `() -> flatten()` or `(a) -> flatten()`
                        diag.error(
                            span,
                            "a tuple of inputs needs two or more collections, as in `(a, b) -> flatten()`",
                        );
                        excused.extend(names.iter().map(ToString::to_string));
                        continue;
                    }
                    head_span = Some(span);
                    head_refs = names;
                }
            }
            calls.extend(statement.stages.into_iter().map(|c| (c, false)));
            if calls.is_empty() {
                // `a = b;` or `b;`: a statement that does nothing. Its names are
                // excused from "never used" and "cannot find", to not cascade.
                let span = head_span.unwrap_or_else(Span::call_site);
                diag.error(span, "expected `->` and a stage after this: a statement must apply at least one transform");
                excused.extend(head_refs.iter().map(ToString::to_string));
                excused.extend(statement.name.iter().map(ToString::to_string));
                continue;
            }

            let mut previous: Option<NodeId> = None;
            for (call, at_head) in calls {
                let id = nodes.len();
                let spec = ops::lookup(&call.op.to_string());
                let mut failed = false;
                if spec.is_none() {
                    failed = true;
                    let message = match ops::suggest(&call.op.to_string()) {
                        Some(near) => format!("unknown transform `{}`; did you mean `{near}`?", call.op),
                        None => format!("unknown transform `{}`", call.op),
                    };
                    diag.error(call.op.span(), message);
                }
                let start = call.op.span().start();
                let inputs = match previous {
                    Some(prev) => vec![Input { node: Some(prev), span: nodes[prev].call.op.span(), side: None }],
                    None => {
                        if !head_refs.is_empty() {
                            pending.push((id, head_refs.clone()));
                        }
                        Vec::new()
                    }
                };
                nodes.push(Node {
                    id,
                    call,
                    spec,
                    inputs,
                    name: None,
                    at_head,
                    failed,
                    line: start.line,
                    column: start.column + 1,
                });
                previous = Some(id);
            }

            let last = previous.expect("statement has at least one stage");
            if nodes[last].spec.is_some_and(|s| s.outputs) {
                // `(small, big) = xs -> partition(2, f)`: a node per output.
                let names: Vec<Ident> = statement.name.iter().chain(&statement.more_names).cloned().collect();
                let declared = nodes[last].call.args.first().and_then(literal_count);
                match declared {
                    Some(n) if n == names.len() => {}
                    Some(n) => diag.error(
                        nodes[last].call.op.span(),
                        format!("`partition({n}, ..)` has {n} outputs, but {} names are given", names.len()),
                    ),
                    None => diag.error(
                        nodes[last].call.op.span(),
                        "the number of outputs of `partition` must be an integer literal, as in `(a, b) = xs -> partition(2, f)`",
                    ),
                }
                for name in names {
                    let id = output_node(&mut nodes, &ops::PARTITION_OUTPUT, last, &name);
                    register(&mut defined, &mut nodes, id, name, diag);
                }
                continue;
            }
            if let Some(extra) = statement.more_names.first() {
                // `(records, bad) = read_jsonl(..)`: a node for the bad records.
                let supports = nodes[last].spec.is_some_and(|s| s.dead_letters);
                if supports && statement.more_names.len() == 1 {
                    let id = output_node(&mut nodes, &ops::BAD_RECORDS, last, extra);
                    register(&mut defined, &mut nodes, id, extra.clone(), diag);
                } else if nodes[last].spec.is_some() {
                    let op = nodes[last].op_name();
                    let given = statement.more_names.len() + 1;
                    let message = if supports {
                        format!("`{op}` has two outputs, its records and its bad records, but {given} names are given")
                    } else {
                        format!("`{op}` has one output, but {given} names are given")
                    };
                    diag.error(extra.span(), message);
                    // Readers of the extra names are not reported again.
                    excused.extend(statement.more_names.iter().map(ToString::to_string));
                }
            }
            if let Some(name) = statement.name {
                register(&mut defined, &mut nodes, last, name, diag);
            }
        }

        for (id, refs) in pending {
            let mut inputs = Vec::new();
            for name in refs {
                let node = match defined.get(&name.to_string()) {
                    Some(&(_, node)) if nodes[node].is(Kind::Sink) => {
                        diag.error(
                            name.span(),
                            format!("`{name}` is the output of `{}()`, not a collection: read the collection that feeds it instead", nodes[node].op_name()),
                        );
                        None
                    }
                    Some(&(_, node)) => Some(node),
                    None if excused.contains(&name.to_string()) => None,
                    None => {
                        let near = defined
                            .keys()
                            .map(|k| (ops::edit_distance(&name.to_string(), k), k))
                            .filter(|(d, k)| *d <= 2.max(k.len() / 3))
                            .min();
                        if let Some((_, k)) = near {
                            // The user likely meant `k`: do not also call it unused.
                            excused.insert(k.clone());
                        }
                        let message = match near {
                            Some((_, k)) => {
                                format!("cannot find collection `{name}` in this pipeline; did you mean `{k}`?")
                            }
                            None => format!("cannot find collection `{name}` in this pipeline"),
                        };
                        diag.error(name.span(), message);
                        None
                    }
                };
                inputs.push(Input { node, span: name.span(), side: None });
            }
            if inputs.iter().any(|i| i.node.is_none()) {
                nodes[id].failed = true;
            }
            nodes[id].inputs = inputs;
        }

        // `(orders, customers) -> join()`: the right input is read whole.
        for node in nodes.iter_mut() {
            if node.spec.is_some_and(|s| s.join) && node.inputs.len() == 2 {
                node.inputs[1].side = Some(SideKind::JoinTable);
            }
        }

        // Side inputs come after the main inputs: `map_with(as_map(rates), f)`.
        for id in 0..nodes.len() {
            let Some(index) = nodes[id].spec.and_then(|s| s.side) else { continue };
            let Some(arg) = nodes[id].call.args.get(index) else { continue };
            let Some((kind, name)) = side_input(arg) else {
                let op = nodes[id].op_name();
                diag.push(syn::Error::new_spanned(
                    arg,
                    format!("`{op}` reads a collection whole here: write `as_map(name)`, `as_multimap(name)`, `as_list(name)` or `as_singleton(name)`"),
                ));
                nodes[id].failed = true;
                continue;
            };
            let node = match defined.get(&name.to_string()) {
                Some(&(_, node)) if !nodes[node].is(Kind::Sink) => Some(node),
                _ if excused.contains(&name.to_string()) => None,
                _ => {
                    diag.error(
                        name.span(),
                        format!("cannot find collection `{name}` in this pipeline, to read as a side input"),
                    );
                    None
                }
            };
            if node.is_none() {
                nodes[id].failed = true;
            }
            nodes[id].inputs.push(Input { node, span: name.span(), side: Some(kind) });
        }
        Graph { nodes, excused }
    }

    /// The nodes that read `id`'s result element by element, in the order they were
    /// written. (A source's bad-records node counts as one.)
    pub fn consumers(&self, id: NodeId) -> Vec<NodeId> {
        self.nodes
            .iter()
            .filter(|n| n.inputs.iter().any(|i| i.node == Some(id) && i.side.is_none()))
            .map(|n| n.id)
            .collect()
    }

    /// The nodes that read `id`'s result whole, as a side input.
    pub fn side_readers(&self, id: NodeId) -> Vec<NodeId> {
        self.nodes
            .iter()
            .filter(|n| n.inputs.iter().any(|i| i.node == Some(id) && i.side.is_some()))
            .map(|n| n.id)
            .collect()
    }

    /// The side inputs of a node: producer, kind, where it is named.
    pub fn side_inputs(&self, id: NodeId) -> impl Iterator<Item = (NodeId, SideKind, Span)> + '_ {
        self.nodes[id].inputs.iter().filter_map(|i| Some((i.node?, i.side?, i.span)))
    }

    /// Whether `to` can be reached from `from` along any edges (or is `from`).
    pub fn reaches(&self, from: NodeId, to: NodeId) -> bool {
        let mut stack = vec![from];
        let mut seen = vec![false; self.nodes.len()];
        while let Some(n) = stack.pop() {
            if n == to {
                return true;
            }
            if std::mem::replace(&mut seen[n], true) {
                continue;
            }
            stack.extend(self.nodes.iter().filter(|r| r.inputs.iter().any(|i| i.node == Some(n))).map(|r| r.id));
        }
        false
    }
}
