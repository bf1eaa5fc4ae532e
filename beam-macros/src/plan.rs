//! Phase 4: fusion. Groups the checked graph into segments: each segment is one
//! parallel loop over its input, running every element-wise stage it contains on
//! each element and ending in barriers (shuffles, combines, sinks) whose per-worker
//! state is merged after the loop.

use crate::graph::{Graph, NodeId};
use crate::ops::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentInput {
    /// A source node, run by the segment.
    Source(NodeId),
    /// The collection a barrier node produced in an earlier segment.
    Shuffled(NodeId),
    /// A flatten node: the concatenation of its inputs' collections.
    Flatten(NodeId),
    /// The materialized output of a node, read again by one stage (the second
    /// node) that could not run in the first pass: it reads a side input that the
    /// first pass computes.
    Reread(NodeId, NodeId),
}

impl SegmentInput {
    pub fn node(self) -> NodeId {
        match self {
            SegmentInput::Source(n)
            | SegmentInput::Shuffled(n)
            | SegmentInput::Flatten(n)
            | SegmentInput::Reread(n, _) => n,
        }
    }
}

pub struct Segment {
    pub input: SegmentInput,
    /// The nodes run inside the loop (element-wise stages and barriers), in
    /// topological order.
    pub members: Vec<NodeId>,
    /// Nodes whose output must be held as a collection after the loop, because a
    /// `flatten` reads them.
    pub materialized: Vec<NodeId>,
}

impl Segment {
    /// The stages whose output the loop counts, element by element (metrics): its
    /// element-wise members. The runtime counts a source's output per chunk, and
    /// every stage's input is the output of the stages it reads.
    pub fn counted(&self, graph: &Graph) -> Vec<NodeId> {
        self.members
            .iter()
            .copied()
            .filter(|&n| graph.nodes[n].is(Kind::ElementWise) || graph.nodes[n].is(Kind::PartitionOutput))
            .collect()
    }

    /// The index of `node` among [`counted`](Self::counted).
    pub fn counter(&self, graph: &Graph, node: NodeId) -> usize {
        self.counted(graph).iter().position(|&n| n == node).expect("counted stage")
    }
}

pub struct Plan {
    /// Segments in the order they run.
    pub segments: Vec<Segment>,
}

/// Plans a graph that passed every check (no unknown transforms, no cycles).
pub fn plan(graph: &Graph) -> Plan {
    let order = topological_order(graph);
    let position = |n: NodeId| order.iter().position(|&o| o == n).unwrap_or(usize::MAX);

    let mut inputs: Vec<SegmentInput> = Vec::new();
    for &id in &order {
        let node = &graph.nodes[id];
        match node.spec.map(|s| s.kind) {
            Some(Kind::Source) => inputs.push(SegmentInput::Source(id)),
            Some(Kind::Flatten) => inputs.push(SegmentInput::Flatten(id)),
            Some(Kind::KeyedShuffle | Kind::GlobalCombine | Kind::DeadLetters) => {
                // Only worth a loop if something other than a flatten reads it.
                let readers = graph.consumers(id);
                if readers.iter().any(|&r| !graph.nodes[r].is(Kind::Flatten)) {
                    inputs.push(SegmentInput::Shuffled(id));
                }
            }
            _ => {}
        }
    }
    inputs.sort_by_key(|i| position(i.node()));

    let mut segments: Vec<Segment> = Vec::new();
    let mut queue: Vec<SegmentInput> = inputs;
    queue.reverse();
    while let Some(input) = queue.pop() {
        let (segment, cuts) = grow(graph, input, &position);
        segments.push(segment);
        queue.extend(cuts);
    }
    let segments = order_segments(graph, segments);
    Plan { segments }
}

/// One segment from its input: every stage reachable through element-wise stages.
/// Returns the segment and the segments it had to cut off (see `SegmentInput::Reread`).
fn grow(graph: &Graph, input: SegmentInput, position: &dyn Fn(NodeId) -> usize) -> (Segment, Vec<SegmentInput>) {
    let mut members = Vec::new();
    let mut materialized = Vec::new();
    let mut cuts = Vec::new();
    let anchor = input.node();
    let mut frontier = match input {
        // A reread runs only the stage that was cut off, and what follows it.
        SegmentInput::Reread(_, reader) => {
            members.push(reader);
            vec![reader]
        }
        _ => vec![anchor],
    };
    // (A reread's input is held by the segment that produced it.)
    if !graph.side_readers(anchor).is_empty()
        && !is_barrier_output(graph, anchor)
        && !matches!(input, SegmentInput::Reread(..))
    {
        materialized.push(anchor);
    }
    while let Some(id) = frontier.pop() {
        let produces_collection = !graph.nodes[id].is(Kind::Sink);
        // A barrier's own output is read by a later segment, unless it is the
        // input of this one.
        let ends_here = graph.nodes[id].spec.is_some_and(|s| s.is_barrier()) && id != anchor;
        if ends_here || !produces_collection {
            continue;
        }
        if id != anchor && !graph.side_readers(id).is_empty() && !materialized.contains(&id) {
            // Read whole by some stage: held after the loop.
            materialized.push(id);
        }
        if matches!(input, SegmentInput::Reread(..)) && id == anchor {
            continue;
        }
        for reader in graph.consumers(id) {
            if graph.nodes[reader].is(Kind::DeadLetters) {
                // Filled by the source as it reads, not by the loop.
                continue;
            }
            if graph.nodes[reader].is(Kind::Flatten) {
                if !materialized.contains(&id) && !is_barrier_output(graph, id) {
                    materialized.push(id);
                }
            } else if graph.side_inputs(reader).any(|(p, _, _)| graph.reaches(anchor, p)) {
                // `reader` needs a collection this very loop computes: it runs in a
                // later loop over `id`'s output, held after this one.
                if !materialized.contains(&id) && !is_barrier_output(graph, id) {
                    materialized.push(id);
                }
                cuts.push(SegmentInput::Reread(id, reader));
            } else if !members.contains(&reader) {
                members.push(reader);
                frontier.push(reader);
            }
        }
    }
    members.sort_by_key(|&n| position(n));
    materialized.sort_by_key(|&n| position(n));
    (Segment { input, members, materialized }, cuts)
}

/// Runs each segment after the segments that produce what it reads: its input, and
/// the side inputs of its stages. Otherwise keeps plan order.
fn order_segments(graph: &Graph, segments: Vec<Segment>) -> Vec<Segment> {
    // The segment where each node's result becomes available.
    let home = |n: NodeId| {
        // A source's bad records are ready when its segment is done.
        let n = if graph.nodes[n].is(Kind::DeadLetters) { graph.nodes[n].inputs[0].node.unwrap_or(n) } else { n };
        segments.iter().position(|s| {
            s.members.contains(&n)
                || matches!(s.input, SegmentInput::Source(a) | SegmentInput::Flatten(a) if a == n)
                || s.materialized.contains(&n)
        })
    };
    let needs: Vec<Vec<usize>> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut producers: Vec<NodeId> = match s.input {
                SegmentInput::Source(_) => Vec::new(),
                SegmentInput::Shuffled(b) => {
                    graph.nodes[b].inputs.iter().filter_map(|i| i.node).chain(std::iter::once(b)).collect()
                }
                SegmentInput::Flatten(f) => graph.nodes[f].inputs.iter().filter_map(|i| i.node).collect(),
                SegmentInput::Reread(m, _) => vec![m],
            };
            for &member in &s.members {
                producers.extend(graph.side_inputs(member).map(|(p, _, _)| p));
            }
            let mut needs: Vec<usize> = producers.into_iter().filter_map(home).filter(|&h| h != i).collect();
            needs.sort_unstable();
            needs.dedup();
            needs
        })
        .collect();
    let mut done = vec![false; segments.len()];
    let mut order = Vec::new();
    while order.len() < segments.len() {
        let next = (0..segments.len())
            .find(|&i| !done[i] && needs[i].iter().all(|&n| done[n]))
            .expect("segments depend on each other in a cycle");
        done[next] = true;
        order.push(next);
    }
    let mut slots: Vec<Option<Segment>> = segments.into_iter().map(Some).collect();
    order.into_iter().map(|i| slots[i].take().expect("each segment once")).collect()
}

/// A barrier's result already is a collection; a flatten reads it as it is.
pub fn is_barrier_output(graph: &Graph, id: NodeId) -> bool {
    graph.nodes[id].spec.is_some_and(|s| matches!(s.kind, Kind::KeyedShuffle | Kind::GlobalCombine | Kind::DeadLetters))
}

fn topological_order(graph: &Graph) -> Vec<NodeId> {
    let mut order = Vec::with_capacity(graph.nodes.len());
    let mut placed = vec![false; graph.nodes.len()];
    // The graph is small (one node per stage written) and acyclic: repeat until every
    // node whose inputs are placed is placed, in source order.
    while order.len() < graph.nodes.len() {
        let before = order.len();
        for node in &graph.nodes {
            if !placed[node.id] && node.inputs.iter().all(|i| i.node.is_none_or(|n| placed[n])) {
                placed[node.id] = true;
                order.push(node.id);
            }
        }
        assert!(order.len() > before, "planned a cyclic graph");
    }
    order
}
