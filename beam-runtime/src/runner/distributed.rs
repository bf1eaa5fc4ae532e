//! The distributed runner: the same pipeline on every process of a [`Group`],
//! each reading its share of the input, with barriers exchanged between them.
//!
//! Each process runs the segments in plan order as the local runner does, its
//! rayon threads the workers of its fused loops. Only barriers cross processes,
//! each in one round of [`TimelyLink::all_to_all`]:
//!
//! - a keyed barrier merges its workers' tables in process (combiner lifting),
//!   then sends each partition (of the fixed key hash, the same in every process)
//!   to the process that owns it, `partition % processes`, which merges and
//!   extracts it: each process holds the keys of its partitions;
//! - a global combine merges in process, then sends its one state to process 0,
//!   which merges and extracts;
//! - `collect()` sends its elements to process 0, which returns them from `run()`.
//!
//! Side inputs and co-group inputs take a round each too (see [`AcrossReads`]).
//! A process that fails says so in its next round, so every process fails at the
//! same round with its error; after the last segment, rounds gather the metrics
//! and publish the outputs once every process has succeeded (`publish_across`).

use std::cell::RefCell;

use crate::barrier::{EachWorker, GlobalCombine, KeyedCombine, Leaf, Merge};
use crate::collection::Collection;
use crate::context::{Context, Scope, Worker};
use crate::error::{Error, ErrorKind, Result};
use crate::exchange::{Exchangeable, decode, encode};
use crate::runner::group::Group;
use crate::runner::held::{Held, KeyedElement, ReadHeld};
use crate::runner::local::{InProcess, LocalReads, LocalRunner, finish_as_task};
use crate::runner::segment::{Destination, FinishLeaf};
use crate::runner::timely::TimelyLink;
use crate::runner::{AnySegment, Runner, SegmentTask, Share};
use crate::shuffle::{KeyedTables, by_partition, merge_entries, merge_partition, partition_of};
use crate::transform::timed::{SessionBarrier, SessionList, WindowAcc, WindowedBarrier};
use crate::window::{Accumulate, IntervalWindow, Windowed};
use hashbrown::HashTable;
use std::hash::Hash;

thread_local! {
    /// This process's link to the group, on the thread that drives the run (a
    /// Timely worker is not `Send`).
    static LINK: RefCell<Option<TimelyLink>> = const { RefCell::new(None) };
}

/// One round with the group, on the driving thread.
fn with_link<T>(f: impl FnOnce(&mut TimelyLink) -> Result<T>) -> Result<T> {
    LINK.with_borrow_mut(|link| match link {
        Some(link) => f(link),
        None => Err(Error::internal("the group is reached from a thread that does not drive the run")),
    })
}

/// Runs a pipeline as one process of a group.
#[doc(hidden)]
pub struct DistributedRunner {
    group: Group,
    local: LocalRunner,
}

impl DistributedRunner {
    pub(crate) fn new(group: Group, threads: Option<usize>) -> Self {
        DistributedRunner { group, local: LocalRunner::new(threads) }
    }

    fn run_segments(&self, ctx: &Context, segments: &[&dyn AnySegment]) -> Result<()> {
        if let Some(stage) = ctx.plan().stages.iter().find(|s| s.op == "sample") {
            // Its workers' random streams are seeded by worker, alike in every
            // process: the sample would not be uniform.
            return Err(Error::new(
                ErrorKind::Runner,
                format!("`sample` (line {}) cannot run on several processes yet", stage.line),
            ));
        }
        for segment in segments {
            segment.perform(SegmentTask::Prepare(ctx))?;
        }
        if let Some(schedule) = ctx.take_schedule() {
            // An unbounded input: every segment once per tick, in every process,
            // each tick's bundle shared out as a bounded input is; a grouping per
            // window keeps the panes of its partitions in the process that owns
            // them, and fires them there.
            return crate::runner::run_ticks(ctx, schedule, |tick| {
                let reads = AcrossReads { local: LocalReads::new(ctx.plan()) };
                segments.iter().try_for_each(|segment| segment.perform(SegmentTask::RunTickAcross(ctx, &reads, tick)))
            });
        }
        let reads = AcrossReads { local: LocalReads::new(ctx.plan()) };
        for segment in segments {
            segment.perform(SegmentTask::RunAcross(ctx, &reads))?;
        }
        Ok(())
    }
}

impl Runner for DistributedRunner {
    fn share(&self) -> Share {
        Share { index: self.group.index(), count: self.group.processes() }
    }

    /// Connects to the group, then runs `whole` on this process's pool, on the
    /// thread that holds the connection.
    fn enter(&self, whole: &mut (dyn FnMut() + Send)) -> Result<()> {
        let mut connected = Ok(());
        self.local.enter(&mut || match TimelyLink::connect(&self.group) {
            Ok(link) => {
                LINK.set(Some(link));
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut *whole));
                if let Some(mut link) = LINK.take() {
                    if !link.ended_in_step() {
                        // The run stopped before its rounds were done (building a
                        // stage failed, say): the others hear it at their next.
                        let me = link.index();
                        link.fail(&Error::new(ErrorKind::Runner, format!("process {me} stopped before the run's end")));
                    }
                    link.close();
                }
                if let Err(panic) = ran {
                    std::panic::resume_unwind(panic);
                }
            }
            Err(e) => connected = Err(e),
        })?;
        connected
    }

    fn run(&self, ctx: &Context, segments: &[&dyn AnySegment]) -> Result<()> {
        log::info!(
            "running a pipeline of {} stages as process {} of {}",
            ctx.plan().stages.len(),
            self.group.index(),
            self.group.processes()
        );
        let ran = self.run_segments(ctx, segments);
        ctx.collect_user_metrics();
        rayon::broadcast(|_| ctx.collect_user_metrics());
        match ran {
            Ok(()) => {
                gather_metrics(ctx)?;
                publish_across(ctx)
            }
            Err(e) => {
                let _ = with_link(|link| {
                    link.fail(&e);
                    Ok(())
                });
                Err(e)
            }
        }
    }
}

/// Reads held collections across the group: a segment's input where it is, side
/// inputs and join tables whole in every process (broadcast), a co-group's inputs
/// by key (each element sent to the process that owns its key's partition, as a
/// keyed barrier's states are).
#[doc(hidden)]
pub struct AcrossReads {
    local: LocalReads,
}

impl ReadHeld for AcrossReads {
    fn read<T: Send>(&self, held: &Held<T>) -> Result<Collection<T>> {
        self.local.read(held)
    }

    fn read_everywhere<T: Send + Exchangeable>(&self, held: &Held<T>) -> Result<Collection<T>> {
        let here = self.local.read(held)?.into_vec();
        let bytes = encode(&here)?;
        let (me, received) = with_link(|link| Ok((link.index(), link.all_to_all(vec![bytes; link.processes()])?)))?;
        let mut parts = Vec::with_capacity(received.len());
        let mut here = Some(here);
        for (from, bytes) in received.iter().enumerate() {
            parts.push(if from == me { here.take().unwrap_or_default() } else { decode(bytes)? });
        }
        Ok(Collection::from_parts(parts))
    }

    fn read_by_key<T: Send + Exchangeable + KeyedElement>(&self, held: &Held<T>) -> Result<Collection<T>> {
        let (me, processes) = with_link(|link| Ok((link.index(), link.processes())))?;
        let mut outgoing: Vec<Vec<T>> = (0..processes).map(|_| Vec::new()).collect();
        for element in self.local.read(held)?.into_vec() {
            outgoing[partition_of(element.key_hash()) % processes].push(element);
        }
        let mine = std::mem::take(&mut outgoing[me]);
        let sent = outgoing.iter().map(encode).collect::<Result<Vec<_>>>()?;
        let received = with_link(|link| link.all_to_all(sent))?;
        let mut parts = vec![mine];
        for (_, bytes) in received.iter().enumerate().filter(|(from, _)| *from != me) {
            parts.push(decode(bytes)?);
        }
        Ok(Collection::from_parts(parts))
    }
}

/// What each process sends process 0 for `run()`'s metrics: its stage counts,
/// the bytes it sent, and its user metrics.
type Gathered = (Vec<[u64; 6]>, u64, std::collections::BTreeMap<String, crate::metrics::UserMetric>);

/// Sums every process's stage counts, bytes sent and user metrics on process 0,
/// whose `run()` returns them.
fn gather_metrics(ctx: &Context) -> Result<()> {
    let sent = with_link(|link| Ok(link.bytes_sent()))?;
    if let Some(others) = to_process_zero(&(ctx.stage_counts(), sent, ctx.metrics().user))? {
        ctx.add_bytes_exchanged(sent);
        for bytes in others {
            let (counts, sent, user): Gathered = decode(&bytes)?;
            ctx.add_stage_counts(&counts);
            ctx.add_bytes_exchanged(sent);
            ctx.add_user_metrics(user);
        }
    }
    Ok(())
}

/// Publishes the run's file outputs once every process has succeeded, in three
/// rounds. The first agrees on that (a process that failed says so in it instead)
/// and hands process 0 the temporary directories of every other process's sinks;
/// process 0 moves their parts into its own (the output path is shared). The
/// second lets the others remove their emptied directories, and process 0
/// publishes each sink with one rename, as a single process does. In the third,
/// process 0 says whether that worked, so every process ends with the run's
/// outcome. Nothing reaches a destination unless every process succeeded.
fn publish_across(ctx: &Context) -> Result<()> {
    let publications = ctx.take_publications();
    let temps: Vec<String> = publications.iter().map(|p| p.temp.path.to_string_lossy().into_owned()).collect();
    let me = with_link(|link| Ok(link.index()))?;
    let others = match to_process_zero(&temps) {
        Ok(others) => others,
        Err(e) => {
            crate::io::publish::discard_all(publications);
            return Err(e);
        }
    };
    let adopted = others.unwrap_or_default().iter().try_for_each(|bytes| {
        let theirs: Vec<String> = decode(bytes)?;
        publications.iter().zip(&theirs).try_for_each(|(p, dir)| crate::io::publish::adopt_parts(p, dir.as_ref()))
    });
    // The others' directories are empty now (or, if gathering failed, left to
    // be removed with this run's).
    let done = with_link(|link| link.all_to_all(vec![Vec::new(); link.processes()]).map(drop));
    if let Err(e) = done {
        crate::io::publish::discard_all(publications);
        return Err(e);
    }
    let outcome = match (me, adopted) {
        (0, Ok(())) => crate::io::publish::publish_all(publications),
        (_, outcome) => {
            crate::io::publish::discard_all(publications);
            outcome
        }
    };
    // A last round: process 0 says whether it published, so that every process
    // ends with the run's outcome.
    let said = with_link(|link| {
        let mut outgoing = vec![Vec::new(); link.processes()];
        if let (0, Err(e)) = (me, &outcome) {
            outgoing.iter_mut().skip(1).for_each(|o| *o = e.to_string().into_bytes());
        }
        let received = link.all_to_all(outgoing)?;
        link.finish();
        Ok(received)
    })?;
    match outcome {
        Ok(()) if me != 0 && !said[0].is_empty() => Err(Error::new(
            ErrorKind::Runner,
            format!("process 0 could not publish the run's output: {}", String::from_utf8_lossy(&said[0])),
        )),
        outcome => outcome,
    }
}

/// Finishes each barrier across the group, as a task of its stage.
pub(crate) struct FinishAcross<'c> {
    pub ctx: &'c Context,
}

impl FinishLeaf for FinishAcross<'_> {
    fn finish<L: Leaf, D: Destination<L::Out>>(
        &self,
        stage: usize,
        leaf: &L,
        to: &D,
        locals: Vec<L::Local>,
    ) -> Result<()> {
        finish_as_task(self.ctx, stage, to, |scope| leaf.finish(&Across { here: InProcess { scope } }, locals))
    }
}

/// The partitions of a keyed barrier this process owns (`partition % processes`),
/// each merged from every process's workers: this process's workers' states are
/// merged first (combiner lifting), so one state per key leaves the process, then
/// each partition goes to its owner in one round.
#[allow(clippy::type_complexity)]
pub(crate) fn exchange_partitions<K: Hash + Eq + Send + Exchangeable, S: Send + Exchangeable>(
    scope: &Scope,
    workers: Vec<KeyedTables<K, S>>,
    merge: impl Fn(&mut S, S) + Sync,
) -> Result<Vec<(usize, HashTable<(K, S)>)>> {
    let merged = scope.par_map(by_partition(workers), |tables| merge_partition(tables, &merge));
    let (me, processes) = with_link(|link| Ok((link.index(), link.processes())))?;
    let mut outgoing: Vec<Partitions<K, S>> = (0..processes).map(|_| Vec::new()).collect();
    let mut mine = Vec::new();
    for (partition, table) in merged.into_iter().enumerate() {
        match partition % processes {
            owner if owner == me => mine.push((partition, table)),
            owner if !table.is_empty() => outgoing[owner].push((partition, table.into_iter().collect())),
            _ => {}
        }
    }
    let sent = outgoing.iter().map(encode).collect::<Result<Vec<_>>>()?;
    let received = with_link(|link| link.all_to_all(sent))?;
    for (from, bytes) in received.iter().enumerate().filter(|(from, _)| *from != me) {
        for (partition, entries) in decode::<Partitions<K, S>>(bytes)? {
            let Some((_, table)) = mine.iter_mut().find(|(p, _)| *p == partition) else {
                return Err(Error::internal(format!(
                    "process {from} sent partition {partition}, which process {me} does not own"
                )));
            };
            merge_entries(table, entries, &merge);
        }
    }
    Ok(mine)
}

/// Keyed states on their way to the process that owns their partitions:
/// `(partition, (key, state) pairs)`.
type Partitions<K, S> = Vec<(usize, Vec<(K, S)>)>;

/// Merges one barrier's workers' states across the group.
pub(crate) struct Across<'s, 'c> {
    pub here: InProcess<'s, 'c>,
}

impl Merge for Across<'_, '_> {
    fn keyed<C: KeyedCombine<Key: Exchangeable, Acc: Exchangeable>>(
        &self,
        combine: &C,
        workers: Vec<crate::shuffle::KeyedTables<C::Key, C::Acc>>,
    ) -> Result<Collection<C::Out>> {
        let mine = exchange_partitions(self.here.scope, workers, |acc: &mut C::Acc, other| combine.merge(acc, other))?;
        let parts = self.here.scope.par_map(mine, |(_, table)| {
            let mut out = Vec::with_capacity(table.len());
            for (key, acc) in table {
                combine.extract(key, acc, &mut |element| out.push(element));
            }
            out
        });
        Ok(Collection::from_parts(parts))
    }

    fn global<C: GlobalCombine<Acc: Exchangeable>>(
        &self,
        combine: &C,
        workers: Vec<C::Acc>,
    ) -> Result<Collection<C::Out>> {
        let mut workers = workers.into_iter();
        let mut merged = workers.next().unwrap_or_else(|| combine.create(Worker { index: 0, count: 1 }));
        for other in workers {
            combine.merge(&mut merged, other);
        }
        let out = to_process_zero(&merged)?;
        let mut result = Vec::new();
        if let Some(states) = out {
            for state in states {
                combine.merge(&mut merged, decode(&state)?);
            }
            combine.extract(merged, &mut |element| result.push(element));
        }
        Ok(Collection::from_parts(vec![result]))
    }

    fn each_worker<E: EachWorker>(&self, each: &E, workers: Vec<E::Local>) -> Result<Collection<E::Out>> {
        self.here.each_worker(each, workers)
    }

    fn gathered<E: EachWorker<Out: Exchangeable>>(
        &self,
        each: &E,
        workers: Vec<E::Local>,
    ) -> Result<Collection<E::Out>> {
        let here = self.here.each_worker(each, workers)?.into_vec();
        match to_process_zero(&here)? {
            Some(others) => {
                let mut parts = vec![here];
                for bytes in others {
                    parts.push(decode(&bytes)?);
                }
                Ok(Collection::from_parts(parts))
            }
            None => Ok(Collection::from_parts(Vec::new())),
        }
    }

    /// A bounded input has been read whole (an unbounded one runs in ticks, with
    /// `TickMerge`): every window fires once, on time, as in one process, after
    /// its states are exchanged by `(window, key)` as a keyed barrier's are.
    fn windowed<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable>, M: Accumulate<C::Acc>>(
        &self,
        barrier: &WindowedBarrier<C, M>,
        workers: Vec<crate::shuffle::KeyedTables<(IntervalWindow, C::Key), WindowAcc<C::Acc>>>,
    ) -> Result<Collection<Windowed<C::Out>>> {
        self.keyed(&barrier.per_window, workers)
    }

    /// Each key's sessions, from every process, merged where the key is owned.
    fn sessions<C: KeyedCombine<Key: Clone + Exchangeable, Acc: Exchangeable>, M: Accumulate<C::Acc>>(
        &self,
        barrier: &SessionBarrier<C, M>,
        workers: Vec<crate::shuffle::KeyedTables<C::Key, SessionList<C::Acc>>>,
    ) -> Result<Collection<Windowed<C::Out>>> {
        self.keyed(&barrier.per_session, workers)
    }
}

/// One round that sends `value` to process 0: there, returns what every other
/// process sent, in process order; elsewhere, `None`.
fn to_process_zero<T: Exchangeable>(value: &T) -> Result<Option<Vec<Vec<u8>>>> {
    let me = with_link(|link| Ok(link.index()))?;
    let bytes = if me == 0 { Vec::new() } else { encode(value)? };
    with_link(|link| {
        let mut outgoing = vec![Vec::new(); link.processes()];
        outgoing[0] = bytes;
        let received = link.all_to_all(outgoing)?;
        Ok((me == 0).then(|| received.into_iter().skip(1).collect()))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    /// Free ports for a group on 127.0.0.1.
    pub(crate) fn local_hosts(n: usize) -> Vec<String> {
        let listeners: Vec<_> = (0..n).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap()).collect();
        listeners.iter().map(|l| format!("127.0.0.1:{}", l.local_addr().unwrap().port())).collect()
    }
}
