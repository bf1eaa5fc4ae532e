//! The seam between the code `pipeline!` generates and its execution.
//!
//! The generated code builds every stage, then hands the runner the pipeline's
//! segments as values ([`AnySegment`]): for each fused loop, its input, the side
//! inputs it reads, its fused body and the barriers it ends in. A [`Runner`] decides
//! the schedule: when each segment runs, on which workers, and what becomes of the
//! workers' states at each barrier ([`Merge`](crate::barrier::Merge)).
//!
//! ```text
//!   pipeline! ──► build stages ──► segments (values) ──► Runner::run
//!                                                          │
//!          LocalRunner (rayon): one segment at a time,     │
//!            every thread a worker, barriers merged in     │
//!            process, held collections in memory  ◄────────┤
//!          (a windowed runner: every segment per tick;     │
//!           a Timely runner: every segment in every   ◄────┘
//!           worker of every process, barriers exchanged)
//! ```

#[cfg(feature = "timely")]
mod distributed;
#[cfg(feature = "timely")]
mod group;
mod held;
mod local;
mod segment;
#[cfg(feature = "timely")]
mod timely;
mod windowed;

#[cfg(feature = "timely")]
pub(crate) use distributed::DistributedRunner;
#[cfg(feature = "timely")]
pub use group::Group;
pub use held::{Discard, Held, ReadHeld};
pub(crate) use local::finish_in_process;
pub use local::{LocalReads, LocalRunner};
pub use segment::{
    Destination, FinishLeaf, FlattenInput, GroupInput, HeldInput, Input, LeafTo, Leaves, SegmentDef, SideFill, Sides,
    SourceInput, SourceWithBadRecords, segment,
};
#[cfg(feature = "timely")]
pub(crate) use windowed::run_ticks;
pub(crate) use windowed::{NO_BUNDLE, Schedule, Step, finish_on_tick};
pub use windowed::{PartitionedPanes, Tick};

use crate::context::{Context, StageCell, Worker};
use crate::error::Result;
use crate::source::Source;

/// How many elements a worker takes from its input at a time.
///
/// Sources hand out their input in chunks of about this many elements (a file
/// source, this many records), and every fused loop runs a whole chunk before it
/// claims the next, so scheduling costs once per chunk rather than once per element.
pub const CHUNK: usize = 2048;

/// Executes a pipeline's segments.
///
/// Implemented by the local runner ([`LocalRunner`]); a distributed runner (Timely
/// Dataflow) and a windowed runner (event time, in ticks) implement it too, and add
/// what they ask of a segment to [`SegmentTask`]. Every
/// task a runner runs that may call user code works in a
/// [`Scope`](crate::context::Scope), which keeps user counters, errors and bytes
/// written with the right run and stage.
#[doc(hidden)]
pub trait Runner: Sync {
    /// Calls `whole`, the whole run (building the stages, then handing them to
    /// [`run`](Runner::run)), where this runner's workers live: the local runner
    /// on its thread pool.
    fn enter(&self, whole: &mut (dyn FnMut() + Send)) -> Result<()>;
    /// Which share of the input this process reads: all of it, unless the
    /// runner runs the pipeline on several processes.
    fn share(&self) -> Share {
        Share { index: 0, count: 1 }
    }
    /// Prepares every segment's sources and sinks, then runs every segment, each
    /// after the segments whose results it reads. `segments` are in plan order.
    fn run(&self, ctx: &Context, segments: &[&dyn AnySegment]) -> Result<()>;
}

/// This process's share of every input, when several processes run a pipeline:
/// split `i` of a file source (or chunk `i` of an in-memory one) is read by the
/// process `i % count`.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub index: usize,
    pub count: usize,
}

impl Share {
    /// The `k`-th of the splits this process reads, numbered among all of them.
    pub fn nth(self, k: usize) -> usize {
        k * self.count + self.index
    }
}

/// What a runner asks of one segment. The segment knows its own type and runs the
/// runner's generic code for it, so everything below one dynamic call per segment
/// is statically dispatched. A runner adds its operations here, as variants with
/// the code they run (the one place in the seam a new runner touches).
#[doc(hidden)]
pub enum SegmentTask<'a> {
    /// Check the segment's inputs and outputs, before any work is done.
    Prepare(&'a Context),
    /// Run the segment's loop in this process, and merge its barriers.
    RunLocally(&'a Context, &'a LocalReads),
    /// Run the segment's loop on one tick of an unbounded input (see
    /// [`windowed`](self::windowed)): groupings per window keep their panes
    /// between ticks and fire them as their triggers say.
    RunTick(&'a Context, &'a LocalReads, &'a Tick),
    /// Run the segment's loop on this process's share of its input, and merge its
    /// barriers across the processes of a group.
    #[cfg(feature = "timely")]
    RunAcross(&'a Context, &'a distributed::AcrossReads),
    /// One tick of an unbounded input across a group of processes.
    #[cfg(feature = "timely")]
    RunTickAcross(&'a Context, &'a distributed::AcrossReads, &'a Tick),
}

/// A segment of any type: the generated code hands the runner its segments as a
/// list of these, each checked at its own stages, one dynamic call per segment.
#[doc(hidden)]
pub trait AnySegment: Sync {
    fn perform(&self, task: SegmentTask<'_>) -> Result<()>;
}

impl<S: Segment> AnySegment for S {
    fn perform(&self, task: SegmentTask<'_>) -> Result<()> {
        match task {
            SegmentTask::Prepare(ctx) => {
                self.input().prepare(ctx)?;
                self.leaves().prepare(ctx)
            }
            SegmentTask::RunLocally(ctx, reads) => {
                local::run_segment(ctx, reads, self, &local::FinishInProcess { ctx })
            }
            SegmentTask::RunTick(ctx, reads, tick) => {
                local::run_segment(ctx, reads, self, &windowed::FinishTick { ctx, tick, across: false })
            }
            #[cfg(feature = "timely")]
            SegmentTask::RunTickAcross(ctx, reads, tick) => {
                local::run_segment(ctx, reads, self, &windowed::FinishTick { ctx, tick, across: true })
            }
            #[cfg(feature = "timely")]
            SegmentTask::RunAcross(ctx, reads) => {
                local::run_segment(ctx, reads, self, &distributed::FinishAcross { ctx })
            }
        }
    }
}

/// The element type a segment's loop reads.
#[doc(hidden)]
pub type Item<S> = <<<S as Segment>::Input as Input>::Source as Source>::Item;

/// One fused loop, as a runner sees it: where its elements come from, the side
/// inputs it reads, what a worker keeps, the fused body, and its barriers.
#[doc(hidden)]
pub trait Segment: Sync {
    type Input: Input;
    type Sides: Sides;
    type Leaves: Leaves;
    /// What a worker keeps while it runs the loop: its barriers' states, and what
    /// its look-ahead stages (joins) found for the current chunk.
    type State: Send;
    /// The loop's element counts, one per counted stage.
    type Counts: AsRef<[u64]> + AsMut<[u64]>;

    /// The segment's index in the plan.
    fn index(&self) -> usize;
    fn input(&self) -> &Self::Input;
    fn sides(&self) -> &Self::Sides;
    fn leaves(&self) -> &Self::Leaves;
    /// A worker's state of the loop: its barriers' states (see [`Leaves::locals`]).
    fn worker(&self, worker: Worker, stage: &StageCell) -> Self::State;
    fn counts(&self) -> Self::Counts;
    /// Called once per chunk, before `process` runs on its elements.
    fn look_ahead(&self, state: &mut Self::State, chunk: &[Item<Self>]);
    /// Runs the fused stages on one element, noting in `stage` which stage it is in.
    fn process(&self, state: &mut Self::State, element: Item<Self>, stage: &StageCell, counts: &mut Self::Counts);
    /// Called once per chunk, after `process` has run on its every element and
    /// before the next chunk is read (see [`Leaf::end_chunk`](crate::barrier::Leaf::end_chunk)).
    fn end_chunk(&self, state: &mut Self::State);
    /// The workers' states as their barriers' states.
    fn into_leaf_states(states: Vec<Self::State>) -> Vec<<Self::Leaves as Leaves>::Locals>;
}
