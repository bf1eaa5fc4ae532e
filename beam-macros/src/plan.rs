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
}

impl SegmentInput {
    pub fn node(self) -> NodeId {
        match self {
            SegmentInput::Source(n) | SegmentInput::Shuffled(n) | SegmentInput::Flatten(n) => n,
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
        self.members.iter().copied().filter(|&n| graph.nodes[n].is(Kind::ElementWise)).collect()
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

    let segments = inputs
        .into_iter()
        .map(|input| {
            let mut members = Vec::new();
            let mut materialized = Vec::new();
            let mut frontier = vec![input.node()];
            while let Some(id) = frontier.pop() {
                let produces_collection = !graph.nodes[id].is(Kind::Sink);
                // A barrier's own output is read by a later segment, unless it is the
                // input of this one.
                let ends_here = graph.nodes[id].spec.is_some_and(|s| s.is_barrier()) && id != input.node();
                if ends_here || !produces_collection {
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
                    } else if !members.contains(&reader) {
                        members.push(reader);
                        frontier.push(reader);
                    }
                }
            }
            members.sort_by_key(|&n| position(n));
            materialized.sort_by_key(|&n| position(n));
            Segment { input, members, materialized }
        })
        .collect();
    Plan { segments }
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
