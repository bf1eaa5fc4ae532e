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
use crate::ops::{self, Inputs, Kind, OpSpec, Outputs};
use crate::parse::{Head, PipelineAst, StageCall, Statement};

pub type NodeId = usize;

/// Whether a collection's elements carry event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Timing {
    /// Plain values: what every source makes. Sinks are untimed too: they write,
    /// and `collect()` returns, the values.
    #[default]
    Untimed,
    /// Timestamped, in the windows of the `window` stage `window`, or in the
    /// global window if there is none; unbounded if it comes from the unbounded
    /// source `unbounded` (a `test_stream`).
    Timed { window: Option<NodeId>, unbounded: Option<NodeId> },
}

impl Timing {
    pub fn is_timed(self) -> bool {
        self != Timing::Untimed
    }

    /// The `window` stage that windows the collection, if any.
    pub fn window(self) -> Option<NodeId> {
        match self {
            Timing::Timed { window, .. } => window,
            Timing::Untimed => None,
        }
    }

    pub fn unbounded(self) -> Option<NodeId> {
        match self {
            Timing::Timed { unbounded, .. } => unbounded,
            Timing::Untimed => None,
        }
    }

    /// Whether two collections are windowed alike (boundedness aside).
    pub fn windowed_alike(self, other: Timing) -> bool {
        self.is_timed() == other.is_timed() && self.window() == other.window()
    }
}

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
    /// Whether the node's result carries event time: set by the `time` phase.
    pub timing: Timing,
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

/// The most outputs a `multi_output` stage has.
pub const MOST_OUTPUTS: usize = 6;

impl Node {
    pub fn op_name(&self) -> String {
        self.call.op.to_string()
    }

    /// A stage with outputs of their own types, one per name: `multi_output(f)`.
    pub fn is_multi_output(&self) -> bool {
        self.spec.is_some_and(|s| s.name == "multi_output")
    }

    pub fn is(&self, kind: Kind) -> bool {
        self.spec.is_some_and(|s| s.kind == kind)
    }

    /// The type the stage's element closure declares for its parameter, and how
    /// the closure takes the element: `filter(|x: &u32| ..)` gives `&u32`, by reference.
    pub fn closure_param(&self) -> Option<(&syn::Type, ops::TakesElement)> {
        let (arg, takes) = self.spec?.closure?;
        let syn::Expr::Closure(closure) = self.call.args.get(arg)? else { return None };
        let syn::Pat::Type(param) = closure.inputs.first()? else { return None };
        Some((&param.ty, takes))
    }

    /// Whether the stage's function is `beam::text::words` (or `text::words`),
    /// which splits a `&str` line into `&str` words as readily as a `String` line
    /// into `Word`s: such a stage takes lent lines as a `&str` closure does.
    pub fn calls_text_words(&self) -> bool {
        self.function_path().is_some_and(|names| names.ends_with(&["text".to_owned(), "words".to_owned()]))
    }

    /// Whether the stage's function is named by its whole path,
    /// `beam::text::words`: only then is it surely ours (a `text::words` may be
    /// the user's own), which may be handed a block of lines as one `&str`.
    pub fn calls_beam_text_words(&self) -> bool {
        self.function_path().is_some_and(|names| names == ["beam", "text", "words"])
    }

    /// Whether the stage's function splits a `&str` line on whitespace and does
    /// nothing else: `beam::text::words` named by its whole path, or the closure
    /// `|line: &str| line.split_whitespace()`. Words never span lines, so such a
    /// stage may be handed a block of whole lines as one `&str`.
    pub fn splits_on_whitespace(&self) -> bool {
        self.calls_beam_text_words() || self.split_whitespace_closure().is_some()
    }

    /// The closure of `flat_map(|line: &str| line.split_whitespace())`, if that is
    /// the whole stage, with its parameter's name and the receiver of
    /// `split_whitespace`. `beam::text::words` gives the same words (a test checks
    /// every `char`) without decoding each character, and runs in its place where
    /// lines are lent. `split_whitespace` on a `&str` is always `str`'s own: an
    /// inherent method comes before any trait's. That the receiver
    /// is the parameter is known here by name only: a `macro_rules!` may write a
    /// body whose `line` is another variable (hygiene), which the expansion checks.
    pub fn split_whitespace_closure(&self) -> Option<(&syn::ExprClosure, &syn::Ident, &syn::Expr)> {
        if self.call.op != "flat_map" {
            return None;
        }
        let (arg, _) = self.spec?.closure?;
        let Some(syn::Expr::Closure(closure)) = self.call.args.get(arg) else { return None };
        let [syn::Pat::Type(param)] = &closure.inputs.iter().collect::<Vec<_>>()[..] else { return None };
        let syn::Pat::Ident(name) = &*param.pat else { return None };
        let syn::Expr::MethodCall(call) = unwrap_body(&closure.body) else { return None };
        let receiver_is_line = matches!(&*call.receiver, syn::Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() && p.path.is_ident(&name.ident));
        let plain = closure.attrs.is_empty()
            && param.attrs.is_empty()
            && name.attrs.is_empty()
            && call.attrs.is_empty()
            && closure.lifetimes.is_none()
            && closure.constness.is_none()
            && closure.movability.is_none()
            && closure.capture.is_none()
            && closure.asyncness.is_none()
            && matches!(closure.output, syn::ReturnType::Default)
            && name.by_ref.is_none()
            && name.mutability.is_none()
            && name.subpat.is_none();
        let splits = is_ref_to_str(&param.ty)
            && call.method == "split_whitespace"
            && call.turbofish.is_none()
            && call.args.is_empty()
            && receiver_is_line;
        (plain && splits).then_some((closure, &name.ident, &*call.receiver))
    }

    /// The names of the path that is the stage's function, if it is one.
    fn function_path(&self) -> Option<Vec<String>> {
        let (arg, _) = self.spec.and_then(|spec| spec.closure)?;
        let Some(syn::Expr::Path(path)) = self.call.args.get(arg) else { return None };
        path.qself.is_none().then(|| path.path.segments.iter().map(|s| s.ident.to_string()).collect())
    }
}

/// A closure's body without the parentheses or braces around its one expression.
fn unwrap_body(body: &syn::Expr) -> &syn::Expr {
    match body {
        syn::Expr::Paren(paren) => unwrap_body(&paren.expr),
        syn::Expr::Group(group) => unwrap_body(&group.expr),
        syn::Expr::Block(block) if block.label.is_none() && block.attrs.is_empty() => match &block.block.stmts[..] {
            [syn::Stmt::Expr(expr, None)] => unwrap_body(expr),
            _ => body,
        },
        _ => body,
    }
}

/// Whether `ty` is `&str` (not `&mut str`).
pub fn is_ref_to_str(ty: &syn::Type) -> bool {
    let is_str = |ty: &syn::Type| matches!(ty, syn::Type::Path(p) if p.qself.is_none() && p.path.is_ident("str"));
    matches!(ty, syn::Type::Reference(r) if r.mutability.is_none() && is_str(&r.elem))
}

/// The graph as it is built, statement by statement. Names are resolved after every
/// statement is seen: a statement may read a collection defined further down.
struct Builder<'d> {
    nodes: Vec<Node>,
    /// Every name a statement defines, with the node it names.
    defined: HashMap<String, (Ident, NodeId)>,
    /// Nodes at the head of a statement, with the collections they read.
    pending: Vec<(NodeId, Vec<Ident>)>,
    excused: HashSet<String>,
    diag: &'d mut Diagnostics,
}

impl Graph {
    pub fn build(ast: PipelineAst, diag: &mut Diagnostics) -> Graph {
        let mut builder =
            Builder { nodes: Vec::new(), defined: HashMap::new(), pending: Vec::new(), excused: HashSet::new(), diag };
        for statement in ast.statements {
            builder.statement(statement);
        }
        builder.resolve_inputs();
        builder.resolve_side_inputs();
        Graph { nodes: builder.nodes, excused: builder.excused }
    }
}

impl Builder<'_> {
    /// One statement: its head, a node per stage, and the names it defines.
    fn statement(&mut self, statement: Statement) {
        let Some((head_refs, head_span, mut calls)) = self.head(statement.head) else { return };
        calls.extend(statement.stages.into_iter().map(|c| (c, false)));
        if calls.is_empty() {
            // `a = b;` or `b;`: a statement that does nothing. Its names are
            // excused from "never used" and "cannot find", to not cascade.
            let span = head_span.unwrap_or_else(Span::call_site);
            self.diag
                .error(span, "expected `->` and a stage after this: a statement must apply at least one transform");
            self.excused.extend(head_refs.iter().map(ToString::to_string));
            self.excused.extend(statement.name.iter().map(ToString::to_string));
            return;
        }
        let mut previous: Option<NodeId> = None;
        for (call, at_head) in calls {
            if let Some(prev) = previous {
                self.check_ends_statement(prev, &call);
            }
            previous = Some(self.stage(call, at_head, previous, &head_refs));
        }
        let last = previous.expect("statement has at least one stage");
        let names: Vec<Ident> = statement.name.into_iter().chain(statement.more_names).collect();
        self.name_outputs(last, names);
    }

    /// A stage with one output per name (`partition`) must end its statement: a
    /// stage after it would not say which output it reads.
    fn check_ends_statement(&mut self, stage: NodeId, next: &StageCall) {
        let node = &self.nodes[stage];
        if node.spec.is_none_or(|spec| spec.outputs != Outputs::PerName) {
            return;
        }
        let op = &node.call.op;
        let next = &next.op;
        let args = if node.is_multi_output() { "f" } else { "2, f" };
        let message = format!(
            "`{op}` must be the last stage of its statement: it has several outputs, and `{next}` would not say \
             which one it reads; name them and continue from one, as in `(a, b) = xs -> {op}({args}); ys = a -> {next}(..);`"
        );
        self.diag.error(next.span(), message);
    }

    /// What a statement starts from: the collections it reads (and where they are
    /// named), or its first stage (a source). `None` if the head is malformed.
    #[allow(clippy::type_complexity)]
    fn head(&mut self, head: Head) -> Option<(Vec<Ident>, Option<Span>, Vec<(StageCall, bool)>)> {
        match head {
            Head::Stage(call) => Some((Vec::new(), None, vec![(call, true)])),
            Head::Collection(name) => Some((vec![name.clone()], Some(name.span()), Vec::new())),
            Head::Tuple { names, span } if names.len() < 2 => {
                // `() -> flatten()` or `(a) -> flatten()`
                self.diag.error(span, "a tuple of inputs needs two or more collections, as in `(a, b) -> flatten()`");
                self.excused.extend(names.iter().map(ToString::to_string));
                None
            }
            Head::Tuple { names, span } => Some((names, Some(span), Vec::new())),
        }
    }

    /// A node for one stage, reading the stage before it, or the statement's head.
    fn stage(&mut self, call: StageCall, at_head: bool, previous: Option<NodeId>, head_refs: &[Ident]) -> NodeId {
        let id = self.nodes.len();
        let spec = ops::lookup(&call.op.to_string());
        if spec.is_none() {
            let message = match ops::suggest(&call.op.to_string()) {
                Some(near) => format!("unknown transform `{}`; did you mean `{near}`?", call.op),
                None => format!("unknown transform `{}`", call.op),
            };
            self.diag.error(call.op.span(), message);
        }
        let start = call.op.span().start();
        let inputs = match previous {
            Some(prev) => vec![Input { node: Some(prev), span: self.nodes[prev].call.op.span(), side: None }],
            None => {
                if !head_refs.is_empty() {
                    self.pending.push((id, head_refs.to_vec()));
                }
                Vec::new()
            }
        };
        self.nodes.push(Node {
            id,
            call,
            spec,
            inputs,
            name: None,
            at_head,
            failed: spec.is_none(),
            timing: Timing::Untimed,
            line: start.line,
            column: start.column + 1,
        });
        id
    }

    /// Names what a statement's last node produces: one collection, or, for a
    /// transform with several outputs, one node per name.
    fn name_outputs(&mut self, last: NodeId, names: Vec<Ident>) {
        let Some(spec) = self.nodes[last].spec else {
            // Unknown transform, already reported: its readers read a failed node,
            // and its further names are not reported as undefined.
            self.excused.extend(names.iter().skip(1).map(ToString::to_string));
            if let Some(name) = names.into_iter().next() {
                self.register(last, name);
            }
            return;
        };
        match spec.outputs {
            Outputs::PerName => self.partition_outputs(last, names),
            Outputs::WithBadRecords if names.len() == 2 => {
                // `(records, bad) = read_jsonl(..)`: a node for the bad records.
                let bad = self.output_node(&ops::BAD_RECORDS, last, &names[1]);
                self.register(bad, names[1].clone());
                self.register(last, names[0].clone());
            }
            Outputs::WithLateData if names.len() == 2 => {
                // `(sums, late) = xs -> sum_per_key();`: a node for the late data.
                let late = self.output_node(&ops::LATE_DATA, last, &names[1]);
                self.register(late, names[1].clone());
                self.register(last, names[0].clone());
            }
            _ if names.len() > 1 => {
                let op = self.nodes[last].op_name();
                let given = names.len();
                let message = if spec.outputs == Outputs::WithBadRecords {
                    format!("`{op}` has two outputs, its records and its bad records, but {given} names are given")
                } else if spec.outputs == Outputs::WithLateData {
                    format!(
                        "`{op}` has two outputs, its result and what it received too late, but {given} names are given"
                    )
                } else {
                    format!("`{op}` has one output, but {given} names are given")
                };
                self.diag.error(names[1].span(), message);
                // Readers of the extra names are not reported again.
                self.excused.extend(names[1..].iter().map(ToString::to_string));
                self.register(last, names[0].clone());
            }
            _ => {
                if let Some(name) = names.into_iter().next() {
                    self.register(last, name);
                }
            }
        }
    }

    /// `(small, big) = xs -> partition(2, f)`: a node per output.
    fn partition_outputs(&mut self, partition: NodeId, names: Vec<Ident>) {
        let node = &self.nodes[partition];
        let (op, span) = (&node.call.op, node.call.op.span());
        if node.is_multi_output() {
            // `(a, b) = xs -> multi_output(f)`: as many outputs as names.
            if !(2..=MOST_OUTPUTS).contains(&names.len()) {
                let message = format!(
                    "`{op}` has one output per name, and needs 2 to {MOST_OUTPUTS} of them, as in `(a, b) = xs -> \
                     {op}(f)`; {} {} given",
                    names.len(),
                    if names.len() == 1 { "name is" } else { "names are" }
                );
                self.diag.error(span, message);
            }
            for name in names {
                let id = self.output_node(&ops::MULTI_OUTPUT_PORT, partition, &name);
                self.register(id, name);
            }
            return;
        }
        match node.call.args.first().and_then(literal_count) {
            Some(n) if n == names.len() => {}
            Some(n) => {
                self.diag.error(span, format!("`{op}({n}, ..)` has {n} outputs, but {} names are given", names.len()))
            }
            None => self.diag.error(
                span,
                format!(
                    "the number of outputs of `{op}` must be an integer literal, as in `(a, b) = xs -> {op}(2, f)`"
                ),
            ),
        }
        for name in names {
            let id = self.output_node(&ops::PARTITION_OUTPUT, partition, &name);
            self.register(id, name);
        }
    }

    /// A node for a further output of `of` (a partition's outputs, a source's bad
    /// records), named where the user wrote `name`.
    fn output_node(&mut self, spec: &'static OpSpec, of: NodeId, name: &Ident) -> NodeId {
        let id = self.nodes.len();
        let start = name.span().start();
        let op = Ident::new(spec.name, name.span());
        self.nodes.push(Node {
            id,
            call: StageCall { label: None, op, generics: None, args: Vec::new(), span: name.span() },
            spec: Some(spec),
            inputs: vec![Input { node: Some(of), span: name.span(), side: None }],
            name: None,
            at_head: false,
            failed: false,
            timing: Timing::Untimed,
            line: start.line,
            column: start.column + 1,
        });
        id
    }

    /// Names `node`'s result `name`, unless the name is taken.
    fn register(&mut self, node: NodeId, name: Ident) {
        let key = name.to_string();
        if let Some((first, _)) = self.defined.get(&key) {
            let line = first.span().start().line;
            self.diag.error(
                name.span(),
                format!("`{name}` is defined twice (first on line {line}); give this collection another name"),
            );
            self.nodes[node].failed = true;
        } else {
            self.defined.insert(key, (name.clone(), node));
        }
        // Named even when the name is taken, so that later checks (a `collect()`
        // without a name) do not report the same statement again.
        self.nodes[node].name = Some(name);
    }

    /// The collections each statement's head reads, now that every name is known.
    /// The right input of a join is read whole.
    fn resolve_inputs(&mut self) {
        for (id, refs) in std::mem::take(&mut self.pending) {
            let mut inputs = Vec::new();
            for name in refs {
                let node = self.resolve(&name);
                inputs.push(Input { node, span: name.span(), side: None });
            }
            if inputs.iter().any(|i| i.node.is_none()) {
                self.nodes[id].failed = true;
            }
            if self.nodes[id].spec.is_some_and(|s| s.inputs == Inputs::Join) && inputs.len() == 2 {
                // `(orders, customers) -> join()`
                inputs[1].side = Some(SideKind::JoinTable);
            }
            self.nodes[id].inputs = inputs;
        }
    }

    /// The node a statement's head names, or `None` (reported) if there is none.
    fn resolve(&mut self, name: &Ident) -> Option<NodeId> {
        match self.defined.get(&name.to_string()) {
            Some(&(_, node)) if self.nodes[node].is(Kind::Sink) => {
                let op = self.nodes[node].op_name();
                self.diag.error(
                    name.span(),
                    format!("`{name}` is the output of `{op}()`, not a collection: read the collection that feeds it instead"),
                );
                None
            }
            Some(&(_, node)) => Some(node),
            None if self.excused.contains(&name.to_string()) => None,
            None => {
                let near = self
                    .defined
                    .keys()
                    .map(|k| (ops::edit_distance(&name.to_string(), k), k))
                    .filter(|(d, k)| *d <= 2.max(k.len() / 3))
                    .min()
                    .map(|(_, k)| k.clone());
                let message = match &near {
                    Some(k) => format!("cannot find collection `{name}` in this pipeline; did you mean `{k}`?"),
                    None => format!("cannot find collection `{name}` in this pipeline"),
                };
                // The user likely meant `k`: do not also call it unused.
                self.excused.extend(near);
                self.diag.error(name.span(), message);
                None
            }
        }
    }

    /// Side inputs come after the main inputs: `map_with(as_map(rates), f)`.
    fn resolve_side_inputs(&mut self) {
        for id in 0..self.nodes.len() {
            let Some(index) = self.nodes[id].spec.and_then(|s| s.side) else { continue };
            let Some(arg) = self.nodes[id].call.args.get(index) else { continue };
            let Some((kind, name)) = side_input(arg) else {
                let op = self.nodes[id].op_name();
                self.diag.push(syn::Error::new_spanned(
                    arg,
                    format!("`{op}` reads a collection whole here: write `as_map(name)`, `as_multimap(name)`, `as_list(name)` or `as_singleton(name)`"),
                ));
                self.nodes[id].failed = true;
                continue;
            };
            let node = match self.defined.get(&name.to_string()) {
                Some(&(_, node)) if !self.nodes[node].is(Kind::Sink) => Some(node),
                _ if self.excused.contains(&name.to_string()) => None,
                _ => {
                    self.diag.error(
                        name.span(),
                        format!("cannot find collection `{name}` in this pipeline, to read as a side input"),
                    );
                    None
                }
            };
            if node.is_none() {
                self.nodes[id].failed = true;
            }
            self.nodes[id].inputs.push(Input { node, span: name.span(), side: Some(kind) });
        }
    }
}

impl Graph {
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

    /// The side input of a node (a stage reads at most one: the collection its
    /// `as_map(..)` argument names, or a join's right input): producer, kind, where
    /// it is named. The planner counts reads and the expansion fills slots with it.
    pub fn side_input(&self, id: NodeId) -> Option<(NodeId, SideKind, Span)> {
        self.nodes[id].inputs.iter().find_map(|i| Some((i.node?, i.side?, i.span)))
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
