//! Every line that uses Timely Dataflow (pinned in `Cargo.toml`: its API changes
//! often, so it is confined here).
//!
//! Each process of a group runs one Timely worker on the thread that drives the
//! run (its rayon pool runs the fused loops). The worker holds one dataflow: an
//! input of messages addressed to processes, exchanged by address, and a sink
//! that keeps what arrives. A round of [`TimelyLink::all_to_all`] is one epoch:
//! every process sends one message to every other, advances its input past the
//! epoch and steps the worker until Timely's progress tracking says the epoch is
//! complete everywhere, so every message of the round has arrived.

use std::cell::RefCell;
use std::net::TcpStream;
use std::rc::Rc;

use timely::communication::allocator::ProcessBuilder;
use timely::communication::allocator::zero_copy::initialize::{CommsGuard, initialize_networking_from_sockets};
use timely::communication::{Allocator, Hooks};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::{Input, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};
use timely::worker::Worker;

use crate::error::{Error, ErrorKind, Result};
use crate::runner::group::Group;

/// A message of one round: (to, from, failed, bytes). A failed process sends its
/// error's text, so every other process fails with it at the same round.
type Message = (u64, u64, bool, Vec<u8>);

/// This process's end of the group's connections, through a Timely worker.
pub(crate) struct TimelyLink {
    index: usize,
    processes: usize,
    worker: Worker,
    input: InputHandle<u64, CapacityContainerBuilder<Vec<Message>>>,
    probe: ProbeHandle<u64>,
    /// What has arrived, with its epoch: a process that has finished a round may
    /// send its next round's messages before this one has finished the round.
    received: Rc<RefCell<Vec<(u64, Message)>>>,
    round: u64,
    /// Whether a round has failed: the group knows, and no more rounds are held.
    failed: bool,
    /// Whether the run's last round is done: closing before it means this process
    /// stopped early, which the others must hear.
    finished: bool,
    /// Bytes this process sent to others, for the run's log.
    bytes_sent: u64,
    /// The network threads; joined when the link is closed cleanly.
    guard: Option<CommsGuard>,
}

impl TimelyLink {
    /// Connects to the group's other processes and starts a Timely worker on them.
    pub(crate) fn connect(group: &Group) -> Result<TimelyLink> {
        let sockets: Vec<Option<TcpStream>> = group.connect()?;
        let hooks = Hooks::default();
        let process = ProcessBuilder::new_typed_vector(1, hooks.refill.clone(), hooks.spill.clone());
        let (mut builders, guard) = initialize_networking_from_sockets(process, sockets, group.index(), 1, hooks)
            .map_err(|e| {
                Error::new(ErrorKind::Runner, format!("process {}: could not start Timely's network", group.index()))
                    .with_source(e)
            })?;
        let builder = builders.pop().expect("one worker per process");
        let allocator = Allocator::Tcp(builder.build());
        let mut worker = Worker::new(timely::WorkerConfig::default(), allocator, Some(std::time::Instant::now()));
        let mut input = InputHandle::new();
        let probe = ProbeHandle::new();
        let received: Rc<RefCell<Vec<(u64, Message)>>> = Rc::default();
        let into = Rc::clone(&received);
        worker.dataflow::<u64, _, _>(|scope| {
            // The probe watches the receiving operator's output: Timely counts the
            // messages each operator consumes, so the probe passes an epoch only
            // once every message of it has been taken in.
            scope
                .input_from(&mut input)
                .container::<Vec<Message>>()
                .unary::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
                    Exchange::new(|m: &Message| m.0),
                    "Receive",
                    move |_, _| {
                        move |input, _output| {
                            input.for_each(|time, data| {
                                let epoch = time.least().copied().unwrap_or_default();
                                into.borrow_mut().extend(data.drain(..).map(|m| (epoch, m)));
                            })
                        }
                    },
                )
                .probe_with(&probe);
        });
        Ok(TimelyLink {
            index: group.index(),
            processes: group.processes(),
            worker,
            input,
            probe,
            received,
            round: 0,
            failed: false,
            finished: false,
            bytes_sent: 0,
            guard: Some(guard),
        })
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    pub(crate) fn processes(&self) -> usize {
        self.processes
    }

    /// Bytes this process has sent to the others so far.
    pub(crate) fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    /// One round: sends `outgoing[p]` to process `p` (this process's own entry is
    /// kept) and returns what each process sent this one, in process order. Every
    /// process must call it the same number of times; a process that failed calls
    /// [`fail`](Self::fail) instead, and every other one returns its error here.
    pub(crate) fn all_to_all(&mut self, outgoing: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>> {
        assert_eq!(outgoing.len(), self.processes, "one message per process");
        let mut incoming: Vec<Vec<u8>> = vec![Vec::new(); self.processes];
        let mut messages = Vec::with_capacity(self.processes);
        for (to, bytes) in outgoing.into_iter().enumerate() {
            if to == self.index {
                incoming[to] = bytes;
            } else {
                self.bytes_sent += bytes.len() as u64;
                messages.push((to as u64, self.index as u64, false, bytes));
            }
        }
        let mut failures = Vec::new();
        let mut heard = vec![false; self.processes];
        heard[self.index] = true;
        for (_, from, failed, bytes) in self.round(messages)? {
            heard[from as usize] = true;
            if failed {
                failures.push(format!("process {from}: {}", String::from_utf8_lossy(&bytes)));
            } else {
                incoming[from as usize] = bytes;
            }
        }
        // Every process still in the run sends to every other in every round: one
        // that did not has left it.
        for (from, _) in heard.iter().enumerate().filter(|(_, heard)| !**heard) {
            failures.push(format!("process {from}: it left the run before this round"));
        }
        if failures.is_empty() {
            Ok(incoming)
        } else {
            self.failed = true;
            Err(Error::new(ErrorKind::Runner, format!("the run failed in {}", failures.join("; "))))
        }
    }

    /// Takes part in the next round as a process that failed with `error`, so that
    /// every other process fails at that round too. Waits for the round to end (a
    /// process that left early would look like a lost connection to the others).
    pub(crate) fn fail(&mut self, error: &Error) {
        if self.failed {
            // The error came from the group (another process failed): it knows.
            return;
        }
        self.failed = true;
        let text = error.to_string().into_bytes();
        let messages = (0..self.processes)
            .filter(|&p| p != self.index)
            .map(|to| (to as u64, self.index as u64, true, text.clone()));
        let _ = self.round(messages.collect());
    }

    /// Sends `messages`, ends the current epoch and steps the worker until every
    /// process's messages of it have arrived. A lost connection makes Timely panic
    /// in its network threads, and then in this worker wherever it touches its
    /// queues (sending too); that becomes an error here.
    fn round(&mut self, messages: Vec<Message>) -> Result<Vec<Message>> {
        self.round += 1;
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for message in messages {
                self.input.send(message);
            }
            self.input.advance_to(self.round);
            while self.probe.less_than(self.input.time()) {
                self.worker.step_or_park(Some(std::time::Duration::from_millis(1)));
            }
        }));
        if stepped.is_err() {
            self.failed = true;
            // The network threads are gone: joining them would panic again.
            std::mem::forget(self.guard.take());
            return Err(Error::new(
                ErrorKind::Runner,
                format!("process {} lost its connection to another process of the group", self.index),
            ));
        }
        let epoch = self.round - 1;
        let mut received = self.received.borrow_mut();
        let (this_round, later): (Vec<_>, Vec<_>) = received.drain(..).partition(|(e, _)| *e == epoch);
        *received = later;
        Ok(this_round.into_iter().map(|(_, m)| m).collect())
    }

    /// Notes that the run's last round is done.
    pub(crate) fn finish(&mut self) {
        self.finished = true;
    }

    /// Whether the run ended in step with the group: its last round done, or a
    /// failure the group has heard of.
    pub(crate) fn ended_in_step(&self) -> bool {
        self.finished || self.failed
    }

    /// Closes the link: the worker's channels, then the network threads, once
    /// every process has closed its side.
    pub(crate) fn close(mut self) {
        log::info!("process {} sent {} bytes to the others in {} rounds", self.index, self.bytes_sent, self.round);
        if self.failed {
            // A connection may be gone, and with it any orderly way down: Timely's
            // queues panic on every use. The process reports its error instead;
            // the worker and its threads are left to the process's exit.
            std::mem::forget(self);
            return;
        }
        // Close the input and step until every process has closed its own, as
        // Timely's own workers do before they exit, so no process waits on one
        // that is gone.
        std::mem::replace(&mut self.input, InputHandle::new()).close();
        let guard = self.guard.take();
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            while !self.probe.done() {
                self.worker.step_or_park(Some(std::time::Duration::from_millis(1)));
            }
        }));
        if stepped.is_err() {
            std::mem::forget(self);
            std::mem::forget(guard);
            return;
        }
        drop(self);
        if let Some(guard) = guard {
            // A process that failed after the last round may close roughly; its
            // network threads' panics are not this run's error.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(guard)));
        }
    }
}

impl Drop for TimelyLink {
    fn drop(&mut self) {
        if self.guard.is_some() {
            // Dropped without `close` (unwinding): do not wait for the network.
            std::mem::forget(self.guard.take());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::distributed::tests::local_hosts;

    #[test]
    fn every_process_receives_what_each_sent_it_round_after_round() {
        for n in [1, 2, 3] {
            let hosts = local_hosts(n);
            let results: Vec<Vec<Vec<u8>>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..n)
                    .map(|me| {
                        let hosts = hosts.clone();
                        s.spawn(move || {
                            let mut link = TimelyLink::connect(&Group::new(me, hosts).unwrap()).unwrap();
                            let mut rounds = Vec::new();
                            for round in 0..3u8 {
                                let out = (0..n).map(|to| vec![me as u8, to as u8, round]).collect();
                                rounds.push(link.all_to_all(out).unwrap());
                            }
                            link.close();
                            rounds.concat()
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for (me, got) in results.iter().enumerate() {
                let want: Vec<Vec<u8>> =
                    (0..3u8).flat_map(|round| (0..n).map(move |from| vec![from as u8, me as u8, round])).collect();
                assert_eq!(got, &want, "{n} processes, process {me}");
            }
        }
    }

    #[test]
    fn a_failed_process_fails_the_others_at_the_same_round() {
        let hosts = local_hosts(3);
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|me| {
                    let hosts = hosts.clone();
                    s.spawn(move || {
                        let mut link = TimelyLink::connect(&Group::new(me, hosts).unwrap()).unwrap();
                        link.all_to_all(vec![vec![]; 3])?;
                        if me == 1 {
                            let error = Error::new(ErrorKind::UserPanic, "stage `parse` panicked");
                            link.fail(&error);
                            link.close();
                            return Err(error);
                        }
                        let second = link.all_to_all(vec![vec![]; 3]);
                        link.close();
                        second.map(|_| ())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (me, result) in results.iter().enumerate() {
            let e = result.as_ref().unwrap_err().to_string();
            if me != 1 {
                assert!(e.contains("process 1") && e.contains("stage `parse` panicked"), "{e}");
            }
        }
    }

    #[test]
    fn a_process_that_never_starts_is_a_timeout() {
        let hosts = local_hosts(2);
        let group = Group::new(0, hosts).unwrap().connect_timeout(std::time::Duration::from_millis(300));
        let started = std::time::Instant::now();
        let e = TimelyLink::connect(&group).err().expect("no peer").to_string();
        assert!(e.contains("process 1") && e.contains("did not connect"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
