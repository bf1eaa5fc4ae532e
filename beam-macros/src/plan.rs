//! Phase 4: fusion. Groups the checked graph into segments: each segment is one
//! parallel loop over its input, running every element-wise stage it contains on
//! each element and ending in barriers (shuffles, combines, sinks) whose per-worker
//! state is merged after the loop.

use std::collections::HashSet;

use crate::graph::{Graph, NodeId};
use crate::ops::Kind;

pub use beam_plan::SegmentInput;

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
            .filter(|&n| graph.nodes[n].spec.is_some_and(|s| s.kind.is_counted_in_loop()))
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
///
/// Segments are grown from their inputs; a stage that reads a side input joins the
/// loop of its own input when it can. Two loops can then wait on each other: each
/// holds a stage that reads, as a side input, what the other loop computes
/// (`m1 = xs -> map_with(as_singleton(count_of_ys), ..)` beside
/// `m2 = ys -> map_with(as_singleton(count_of_xs), ..)`). Such a cycle is broken by
/// moving one of those stages into a second pass over its held input, and planning
/// again; each round moves one more stage, so planning ends.
pub fn plan(graph: &Graph) -> Result<Plan, String> {
    let order = topological_order(graph)?;
    let position = |n: NodeId| order.iter().position(|&o| o == n).unwrap_or(usize::MAX);
    let mut second_pass: HashSet<NodeId> = HashSet::new();
    loop {
        let segments = segments(graph, &order, &position, &second_pass);
        match order_segments(graph, segments) {
            Ok(segments) => return Ok(Plan { segments }),
            Err(Cycle { segments, members }) => {
                // A stage of the cycle that waits for another loop of the cycle.
                let waits = members.into_iter().filter(|&m| {
                    graph.side_input(m).is_some_and(|(p, _, _)| segments.iter().any(|s| s.produces(graph, p)))
                });
                match waits.min() {
                    Some(stage) if second_pass.insert(stage) => {}
                    _ => return Err("segments depend on each other in a cycle".to_owned()),
                }
            }
        }
    }
}

/// The segments of the graph, each grown from its input.
fn segments(
    graph: &Graph,
    order: &[NodeId],
    position: &dyn Fn(NodeId) -> usize,
    second_pass: &HashSet<NodeId>,
) -> Vec<Segment> {
    let mut inputs: Vec<SegmentInput> = Vec::new();
    for &id in order {
        let node = &graph.nodes[id];
        match node.spec.map(|s| s.kind) {
            Some(Kind::Source) => inputs.push(SegmentInput::Source(id)),
            Some(Kind::Flatten) => inputs.push(SegmentInput::Flatten(id)),
            Some(Kind::KeyedShuffle | Kind::GlobalCombine | Kind::DeadLetters | Kind::LateData) => {
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
        let (segment, cuts) = grow(graph, input, position, second_pass);
        segments.push(segment);
        queue.extend(cuts);
    }
    segments
}

/// One segment from its input: every stage reachable through element-wise stages.
/// Returns the segment and the segments it had to cut off (see `SegmentInput::Reread`).
fn grow(
    graph: &Graph,
    input: SegmentInput,
    position: &dyn Fn(NodeId) -> usize,
    second_pass: &HashSet<NodeId>,
) -> (Segment, Vec<SegmentInput>) {
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
            if graph.nodes[reader].is(Kind::DeadLetters) || graph.nodes[reader].is(Kind::LateData) {
                // Filled by the source as it reads, or by the grouping as it
                // finishes, not by the loop.
                continue;
            }
            if graph.nodes[reader].is(Kind::Flatten) {
                if !materialized.contains(&id) && !is_barrier_output(graph, id) {
                    materialized.push(id);
                }
            } else if second_pass.contains(&reader)
                || graph.side_input(reader).is_some_and(|(p, _, _)| graph.reaches(anchor, p))
            {
                // `reader` needs a collection this very loop computes (or one computed
                // by a loop that waits for this one): it runs in a later loop over
                // `id`'s output, held after this one.
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

/// Segments that wait on each other: each needs what another one produces.
struct Cycle {
    segments: Vec<Segment>,
    /// The stages of those segments.
    members: Vec<NodeId>,
}

impl Segment {
    /// Whether node `n`'s result is available once this segment has run.
    fn produces(&self, graph: &Graph, n: NodeId) -> bool {
        // A source's bad records, a grouping's late data, are ready when its
        // segment is done.
        let n = if graph.nodes[n].is(Kind::DeadLetters) || graph.nodes[n].is(Kind::LateData) {
            graph.nodes[n].inputs[0].node.unwrap_or(n)
        } else {
            n
        };
        self.members.contains(&n)
            || matches!(self.input, SegmentInput::Source(a) | SegmentInput::Flatten(a) if a == n)
            || self.materialized.contains(&n)
    }

    /// The held collections this segment reads (nodes whose results an earlier
    /// segment kept): its input's, and its stages' side inputs; one entry per read.
    pub fn reads(&self, graph: &Graph) -> Vec<NodeId> {
        let mut reads: Vec<NodeId> = match self.input {
            SegmentInput::Source(_) => Vec::new(),
            SegmentInput::Shuffled(n) | SegmentInput::Reread(n, _) => vec![n],
            SegmentInput::Flatten(f) => graph.nodes[f].inputs.iter().filter_map(|i| i.node).collect(),
        };
        for &member in &self.members {
            reads.extend(graph.side_input(member).map(|(p, _, _)| p));
        }
        reads
    }

    /// The nodes whose results must be made before this segment runs: what it
    /// reads, and, for a loop over a barrier's result, the barrier's inputs.
    fn needs(&self, graph: &Graph) -> Vec<NodeId> {
        let mut needs = self.reads(graph);
        if let SegmentInput::Shuffled(b) = self.input {
            needs.extend(graph.nodes[b].inputs.iter().filter_map(|i| i.node));
        }
        needs
    }
}

/// Runs each segment after the segments that produce what it reads: its input, and
/// the side inputs of its stages. Otherwise keeps plan order. Fails with the
/// segments of a cycle if there is one.
fn order_segments(graph: &Graph, segments: Vec<Segment>) -> Result<Vec<Segment>, Cycle> {
    let home = |n: NodeId| segments.iter().position(|s| s.produces(graph, n));
    let needs: Vec<Vec<usize>> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut needs: Vec<usize> = s.needs(graph).into_iter().filter_map(home).filter(|&h| h != i).collect();
            needs.sort_unstable();
            needs.dedup();
            needs
        })
        .collect();
    let mut done = vec![false; segments.len()];
    let mut order = Vec::new();
    while order.len() < segments.len() {
        match (0..segments.len()).find(|&i| !done[i] && needs[i].iter().all(|&n| done[n])) {
            Some(next) => {
                done[next] = true;
                order.push(next);
            }
            None => {
                // Every segment left waits for another one left: follow the waits
                // until one repeats.
                let mut path: Vec<usize> = vec![(0..segments.len()).find(|&i| !done[i]).unwrap_or(0)];
                loop {
                    let last = path[path.len() - 1];
                    let Some(&next) = needs[last].iter().find(|&&n| !done[n]) else { break };
                    if let Some(at) = path.iter().position(|&p| p == next) {
                        path.drain(..at);
                        break;
                    }
                    path.push(next);
                }
                let mut slots: Vec<Option<Segment>> = segments.into_iter().map(Some).collect();
                let cycle: Vec<Segment> = path.iter().filter_map(|&i| slots[i].take()).collect();
                let members = cycle.iter().flat_map(|s| s.members.iter().copied()).collect();
                return Err(Cycle { segments: cycle, members });
            }
        }
    }
    let mut slots: Vec<Option<Segment>> = segments.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// A barrier's result already is a collection; a flatten reads it as it is.
pub fn is_barrier_output(graph: &Graph, id: NodeId) -> bool {
    graph.nodes[id].spec.is_some_and(|s| {
        matches!(s.kind, Kind::KeyedShuffle | Kind::GlobalCombine | Kind::DeadLetters | Kind::LateData)
    })
}

fn topological_order(graph: &Graph) -> Result<Vec<NodeId>, String> {
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
        if order.len() == before {
            return Err("planned a cyclic graph".to_owned());
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;

    /// The plan of `src`, which must pass every check: one line per segment, in run
    /// order, `input: stages`, each stage as `op` or `op=name`; `held: ..` lists the
    /// collections the loop keeps for a later one.
    fn plan_of(src: &str) -> Vec<String> {
        let mut diag = Diagnostics::default();
        let mut graph = Graph::build(syn::parse_str(src).expect("parses"), &mut diag);
        crate::check::check(&mut graph, &mut diag);
        assert!(!diag.has_errors(), "{:?}", diag.messages());
        let plan = plan(&graph).expect("plans");
        assert_sound(&graph, &plan);
        plan.segments.iter().map(|s| describe(&graph, s)).collect()
    }

    fn label(graph: &Graph, n: NodeId) -> String {
        let node = &graph.nodes[n];
        match &node.name {
            Some(name) => format!("{}={name}", node.op_name()),
            None => node.op_name(),
        }
    }

    fn describe(graph: &Graph, segment: &Segment) -> String {
        let input = match segment.input {
            SegmentInput::Source(n) | SegmentInput::Flatten(n) => label(graph, n),
            SegmentInput::Shuffled(n) => format!("after {}", label(graph, n)),
            SegmentInput::Reread(n, _) => format!("again {}", label(graph, n)),
        };
        let members: Vec<String> = segment.members.iter().map(|&m| label(graph, m)).collect();
        let mut line = format!("{input}: {}", members.join(" "));
        if !segment.materialized.is_empty() {
            let held: Vec<String> = segment.materialized.iter().map(|&m| label(graph, m)).collect();
            line = format!("{line}; held: {}", held.join(" "));
        }
        line
    }

    /// Every stage runs in exactly one loop (a source or flatten as its loop's input,
    /// a source's bad records filled by the source), and every loop runs after the
    /// loops whose results it reads.
    fn assert_sound(graph: &Graph, plan: &Plan) {
        for node in &graph.nodes {
            let homes = plan
                .segments
                .iter()
                .filter(|s| {
                    s.members.contains(&node.id)
                        || matches!(s.input, SegmentInput::Source(a) | SegmentInput::Flatten(a) if a == node.id)
                })
                .count();
            let expected = usize::from(!node.is(Kind::DeadLetters) && !node.is(Kind::LateData));
            assert_eq!(homes, expected, "`{}` runs in {homes} loops", label(graph, node.id));
        }
        for (i, segment) in plan.segments.iter().enumerate() {
            for need in segment.needs(graph) {
                let home = plan.segments.iter().position(|s| s.produces(graph, need));
                assert!(home.is_some_and(|h| h < i), "segment {i} reads `{}` before it is made", label(graph, need));
            }
        }
    }

    #[test]
    fn a_chain_of_element_wise_stages_is_one_loop() {
        let plan = plan_of("xs = from_iter(v); out = xs -> map(f) -> filter(p) -> collect();");
        assert_eq!(plan, ["from_iter=xs: map filter collect=out"]);
    }

    #[test]
    fn a_keyed_shuffle_ends_a_loop_and_starts_another() {
        let plan = plan_of("sums = from_iter(v) -> sum_per_key(); out = sums -> map(f) -> collect();");
        assert_eq!(plan, ["from_iter: sum_per_key=sums", "after sum_per_key=sums: map collect=out"]);
    }

    #[test]
    fn fan_out_branches_inside_one_loop() {
        let plan = plan_of(
            "xs = from_iter(v);
             evens = xs -> filter(p) -> collect();
             total = xs -> count() -> collect();",
        );
        assert_eq!(plan, ["from_iter=xs: filter collect=evens count", "after count: collect=total"]);
    }

    #[test]
    fn flatten_reads_the_held_outputs_of_earlier_loops() {
        let plan = plan_of(
            "a = from_iter(v); b = from_iter(w) -> map(f);
             all = (a, b) -> flatten() -> collect();",
        );
        assert_eq!(plan, ["from_iter=a: ; held: from_iter=a", "from_iter: map=b; held: map=b", "flatten: collect=all"]);
    }

    #[test]
    fn a_side_input_is_computed_before_the_loop_that_reads_it() {
        let plan = plan_of(
            "orders = from_iter(o); rates = from_iter(r);
             out = orders -> map_with(as_map(rates), f) -> collect();",
        );
        assert_eq!(plan, ["from_iter=rates: ; held: from_iter=rates", "from_iter=orders: map_with collect=out"]);
    }

    #[test]
    fn a_side_input_computed_from_the_loops_own_input_needs_a_second_pass() {
        let plan = plan_of(
            "xs = from_iter(v); total = xs -> count();
             out = xs -> map_with(as_singleton(total), f) -> collect();",
        );
        assert_eq!(plan, ["from_iter=xs: count=total; held: from_iter=xs", "again from_iter=xs: map_with collect=out"]);
    }

    #[test]
    fn two_loops_reading_each_others_counts_are_planned_in_three_passes() {
        // Each loop reads the count the other computes: one of the two stages reading
        // a count runs in a second pass.
        let plan = plan_of(
            "xs = from_iter(a); ys = from_iter(b);
             t1 = xs -> count(); t2 = ys -> count();
             m1 = xs -> map_with(as_singleton(t2), f) -> collect();
             m2 = ys -> map_with(as_singleton(t1), g) -> collect();",
        );
        assert_eq!(
            plan,
            [
                "from_iter=xs: count=t1; held: from_iter=xs",
                "from_iter=ys: count=t2 map_with collect=m2",
                "again from_iter=xs: map_with collect=m1",
            ]
        );
    }

    #[test]
    fn three_loops_in_a_ring_of_side_inputs() {
        let plan = plan_of(
            "xs = from_iter(a); ys = from_iter(b); zs = from_iter(c);
             tx = xs -> count(); ty = ys -> count(); tz = zs -> count();
             mx = xs -> map_with(as_singleton(ty), f) -> collect();
             my = ys -> map_with(as_singleton(tz), f) -> collect();
             mz = zs -> map_with(as_singleton(tx), f) -> collect();",
        );
        // One stage of the ring moves to a second pass, which breaks the ring.
        assert_eq!(
            plan,
            [
                "from_iter=xs: count=tx; held: from_iter=xs",
                "from_iter=zs: count=tz map_with collect=mz",
                "from_iter=ys: count=ty map_with collect=my",
                "again from_iter=xs: map_with collect=mx",
            ]
        );
    }

    #[test]
    fn a_join_reads_its_right_input_whole_first() {
        let plan = plan_of(
            "orders = from_iter(o); customers = from_iter(c);
             out = (orders, customers) -> join() -> sum_per_key() -> collect();",
        );
        assert_eq!(
            plan,
            [
                "from_iter=customers: ; held: from_iter=customers",
                "from_iter=orders: join sum_per_key",
                "after sum_per_key: collect=out",
            ]
        );
    }

    #[test]
    fn partition_outputs_run_in_the_partitions_loop() {
        let plan = plan_of(
            "xs = from_iter(v); (small, big) = xs -> partition(2, f);
             s = small -> collect(); b = big -> count() -> collect();",
        );
        assert_eq!(
            plan,
            [
                "from_iter=xs: partition partition_output=small partition_output=big collect=s count",
                "after count: collect=b",
            ]
        );
    }

    #[test]
    fn multi_output_outputs_run_in_its_loop() {
        let plan = plan_of(
            "xs = from_iter(v); (lengths, words) = xs -> multi_output(f);
             l = lengths -> sum() -> collect(); w = words -> map(g) -> collect();",
        );
        assert_eq!(
            plan,
            ["from_iter=xs: multi_output output=lengths output=words sum map collect=w", "after sum: collect=l",]
        );
    }

    #[test]
    fn bad_records_are_read_after_their_source() {
        let plan = plan_of("(rows, bad) = read_csv(p); r = rows -> collect(); b = bad -> collect();");
        assert_eq!(plan, ["read_csv=rows: collect=r", "after bad_records=bad: collect=b"]);
    }

    #[test]
    fn a_co_group_reads_its_held_inputs() {
        let plan = plan_of(
            "a = from_iter(v); b = from_iter(w);
             out = (a, b) -> co_group_by_key() -> collect();",
        );
        assert_eq!(
            plan,
            ["from_iter=a: ; held: from_iter=a", "from_iter=b: ; held: from_iter=b", "co_group_by_key: collect=out"]
        );
    }
}
