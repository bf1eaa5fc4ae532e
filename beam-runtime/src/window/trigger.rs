//! Triggers: when a window's results fire, as in Beam. A trigger is described by
//! the builders below (`AfterWatermark::past_end_of_window()`, `AfterCount::new(n)`,
//! ...), each of which converts into a [`Trigger`]; a windowed runner keeps a
//! [`TriggerState`] per window and key and asks it, after each bundle and each
//! advance of the watermark or of processing time, whether to fire.

use std::time::Duration;

use super::{Timestamp, millis_of};

/// When a window's results fire: Beam's `Trigger`. Made by the builders of this
/// module, each of which converts into one.
///
/// ```
/// use beam::window::{AfterCount, AfterProcessingTime, AfterWatermark, Repeatedly, Trigger};
/// use std::time::Duration;
///
/// // Early results every 1000 elements, the on-time result, then one per late element.
/// let trigger: Trigger = AfterWatermark::past_end_of_window()
///     .with_early_firings(AfterCount::new(1000))
///     .with_late_firings(AfterCount::new(1))
///     .into();
/// // Every minute of processing time after the first element of each pane.
/// let _ = Repeatedly::forever(AfterProcessingTime::past_first_element_in_pane().plus_delay(Duration::from_secs(60)));
/// # let _ = trigger;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Trigger(pub(crate) Node);

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    /// Beam's default: fires when the watermark passes the end of the window, then
    /// again for every bundle of late data; never finishes.
    Default,
    AfterWatermark {
        early: Option<Box<Node>>,
        late: Option<Box<Node>>,
    },
    AfterCount(u64),
    AfterProcessingTime(i64),
    Repeatedly(Box<Node>),
    AfterEach(Vec<Node>),
    AfterFirst(Vec<Node>),
    AfterAll(Vec<Node>),
    OrFinally(Box<Node>, Box<Node>),
    Never,
}

impl Trigger {
    /// Beam's default trigger: one pane when the watermark passes the end of the
    /// window, then one for every bundle of late data (within the allowed lateness).
    pub fn default_trigger() -> Trigger {
        Trigger(Node::Default)
    }

    /// Fires as this trigger does, and finishes for good once `until` fires.
    pub fn or_finally(self, until: impl Into<Trigger>) -> Trigger {
        Trigger(Node::OrFinally(Box::new(self.0), Box::new(until.into().0)))
    }
}

impl Default for Trigger {
    fn default() -> Self {
        Trigger::default_trigger()
    }
}

/// Fires when the watermark passes the end of the window (the on-time pane), with
/// optional early firings before and late firings after: Beam's `AfterWatermark`.
#[derive(Clone, Debug)]
pub struct AfterWatermark {
    early: Option<Node>,
    late: Option<Node>,
}

impl AfterWatermark {
    pub fn past_end_of_window() -> AfterWatermark {
        AfterWatermark { early: None, late: None }
    }

    /// Speculative panes before the end of the window, whenever `early` fires
    /// (repeatedly).
    pub fn with_early_firings(self, early: impl Into<Trigger>) -> AfterWatermark {
        AfterWatermark { early: Some(early.into().0), ..self }
    }

    /// Panes for late data after the on-time pane, whenever `late` fires
    /// (repeatedly). Without them, the on-time pane is the last.
    pub fn with_late_firings(self, late: impl Into<Trigger>) -> AfterWatermark {
        AfterWatermark { late: Some(late.into().0), ..self }
    }

    /// Fires as this trigger does, and finishes for good once `until` fires.
    pub fn or_finally(self, until: impl Into<Trigger>) -> Trigger {
        Trigger::from(self).or_finally(until)
    }
}

impl From<AfterWatermark> for Trigger {
    fn from(t: AfterWatermark) -> Trigger {
        Trigger(Node::AfterWatermark { early: t.early.map(Box::new), late: t.late.map(Box::new) })
    }
}

/// Fires once the pane has at least `n` elements, then finishes: Beam's
/// `AfterPane.elementCountAtLeast`.
#[derive(Clone, Copy, Debug)]
pub struct AfterCount(u64);

impl AfterCount {
    pub fn new(n: u64) -> AfterCount {
        AfterCount(n.max(1))
    }
}

impl From<AfterCount> for Trigger {
    fn from(t: AfterCount) -> Trigger {
        Trigger(Node::AfterCount(t.0))
    }
}

/// Fires once processing time has passed the arrival of the pane's first element
/// plus a delay, then finishes: Beam's `AfterProcessingTime`.
#[derive(Clone, Copy, Debug)]
pub struct AfterProcessingTime(i64);

impl AfterProcessingTime {
    pub fn past_first_element_in_pane() -> AfterProcessingTime {
        AfterProcessingTime(0)
    }

    pub fn plus_delay(self, delay: Duration) -> AfterProcessingTime {
        AfterProcessingTime(self.0 + millis_of(delay))
    }
}

impl From<AfterProcessingTime> for Trigger {
    fn from(t: AfterProcessingTime) -> Trigger {
        Trigger(Node::AfterProcessingTime(t.0))
    }
}

/// Fires whenever `trigger` would, starting it afresh after each firing; never
/// finishes: Beam's `Repeatedly.forever`.
pub struct Repeatedly;

impl Repeatedly {
    pub fn forever(trigger: impl Into<Trigger>) -> Trigger {
        Trigger(Node::Repeatedly(Box::new(trigger.into().0)))
    }
}

/// Runs its triggers one after another, each until it finishes: Beam's
/// `AfterEach.inOrder`.
pub struct AfterEach;

impl AfterEach {
    pub fn in_order(triggers: impl IntoIterator<Item = Trigger>) -> Trigger {
        Trigger(Node::AfterEach(triggers.into_iter().map(|t| t.0).collect()))
    }
}

/// Fires when any of its triggers fires, then finishes: Beam's `AfterFirst`.
pub struct AfterFirst;

impl AfterFirst {
    pub fn of(triggers: impl IntoIterator<Item = Trigger>) -> Trigger {
        Trigger(Node::AfterFirst(triggers.into_iter().map(|t| t.0).collect()))
    }
}

/// Fires when every one of its triggers has fired, then finishes: Beam's `AfterAll`.
pub struct AfterAll;

impl AfterAll {
    pub fn of(triggers: impl IntoIterator<Item = Trigger>) -> Trigger {
        Trigger(Node::AfterAll(triggers.into_iter().map(|t| t.0).collect()))
    }
}

/// Never fires: the window's only pane is the one made when it expires (the
/// watermark past its end plus the allowed lateness). Beam's `Never.ever()`.
pub struct Never;

impl Never {
    pub fn ever() -> Trigger {
        Trigger(Node::Never)
    }
}

/// What a trigger is asked in: the watermark, processing time and the window's end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct When {
    pub watermark: Timestamp,
    pub processing_time: Timestamp,
    /// The window's last timestamp: the watermark is past the window once it is
    /// after this.
    pub window_max: Timestamp,
}

impl When {
    fn past_end_of_window(&self) -> bool {
        self.watermark > self.window_max
    }
}

/// The state of one trigger for one window and key.
#[derive(Clone, Debug)]
pub(crate) struct TriggerState {
    node: Node,
    state: State,
}

#[derive(Clone, Debug)]
enum State {
    Finished,
    /// `AfterWatermark`, before the end of the window (early) or after (late).
    Watermark {
        on_time_done: bool,
        early: Option<Box<TriggerState>>,
        late: Option<Box<TriggerState>>,
    },
    Count(u64),
    ProcessingTime(Option<Timestamp>),
    Repeatedly(Box<TriggerState>),
    Each(usize, Vec<TriggerState>),
    Children(Vec<TriggerState>),
    OrFinally(Box<TriggerState>, Box<TriggerState>),
    Idle,
}

impl TriggerState {
    pub fn new(trigger: &Trigger) -> TriggerState {
        TriggerState::of(&trigger.0)
    }

    fn of(node: &Node) -> TriggerState {
        let fresh = |n: &Node| Box::new(TriggerState::of(n));
        let state = match node {
            Node::Default => State::Watermark { on_time_done: false, early: None, late: None },
            Node::AfterWatermark { early, late } => State::Watermark {
                on_time_done: false,
                early: early.as_deref().map(fresh),
                late: late.as_deref().map(fresh),
            },
            Node::AfterCount(_) => State::Count(0),
            Node::AfterProcessingTime(_) => State::ProcessingTime(None),
            Node::Repeatedly(child) => State::Repeatedly(fresh(child)),
            Node::AfterEach(children) => State::Each(0, children.iter().map(TriggerState::of).collect()),
            Node::AfterFirst(children) | Node::AfterAll(children) => {
                State::Children(children.iter().map(TriggerState::of).collect())
            }
            Node::OrFinally(main, until) => State::OrFinally(fresh(main), fresh(until)),
            Node::Never => State::Idle,
        };
        TriggerState { node: node.clone(), state }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    /// Whether the trigger will fire an on-time pane that has not fired yet: then a
    /// pane's output timestamp is held for it.
    pub fn awaits_on_time(&self) -> bool {
        match &self.state {
            State::Watermark { on_time_done, .. } => !on_time_done,
            State::Repeatedly(child) => child.awaits_on_time(),
            State::OrFinally(main, _) => main.awaits_on_time(),
            _ => false,
        }
    }

    /// Whether a processing-time trigger in the active part of this one is
    /// counting down.
    pub fn waits_on_processing_time(&self) -> bool {
        match &self.state {
            State::ProcessingTime(at) => at.is_some(),
            State::Watermark { early, late, .. } => {
                early.iter().chain(late.iter()).any(|child| child.waits_on_processing_time())
            }
            State::Repeatedly(child) => child.waits_on_processing_time(),
            State::Each(i, children) => children.get(*i).is_some_and(TriggerState::waits_on_processing_time),
            State::Children(children) => children.iter().any(TriggerState::waits_on_processing_time),
            State::OrFinally(main, until) => main.waits_on_processing_time() || until.waits_on_processing_time(),
            State::Finished | State::Count(_) | State::Idle => false,
        }
    }

    /// Takes in the state of a trigger of a window merged into this one: counts
    /// add up, a phase that ended for either has ended, a countdown keeps the
    /// earlier deadline.
    pub fn merge(&mut self, other: &TriggerState) {
        match (&mut self.state, &other.state) {
            (_, State::Finished) => self.state = State::Finished,
            (
                State::Watermark { on_time_done, early, late },
                State::Watermark { on_time_done: o, early: oe, late: ol },
            ) => {
                // The default trigger keeps no state, as Beam's: a window that a
                // merge makes fires when the watermark passes its own end, whatever
                // the windows it took in fired (Beam's merge result starts fresh).
                if self.node != Node::Default {
                    *on_time_done |= *o;
                }
                for (mine, theirs) in [(early, oe), (late, ol)] {
                    if let (Some(mine), Some(theirs)) = (mine, theirs) {
                        mine.merge(theirs);
                    }
                }
            }
            (State::Count(n), State::Count(o)) => *n += o,
            (State::ProcessingTime(at), State::ProcessingTime(o)) => {
                *at = match (*at, *o) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            (State::Repeatedly(child), State::Repeatedly(o)) => child.merge(o),
            (State::Each(i, children), State::Each(o, others)) => {
                *i = (*i).max(*o);
                children.iter_mut().zip(others).for_each(|(c, o)| c.merge(o));
            }
            (State::Children(children), State::Children(others)) => {
                children.iter_mut().zip(others).for_each(|(c, o)| c.merge(o));
            }
            (State::OrFinally(main, until), State::OrFinally(om, ou)) => {
                main.merge(om);
                until.merge(ou);
            }
            _ => {}
        }
    }

    /// `n` elements arrived, at processing time `now`.
    pub fn on_elements(&mut self, n: u64, now: Timestamp, when: &When) {
        match &mut self.state {
            State::Finished | State::Idle => {}
            State::Watermark { on_time_done, early, late } => {
                let phase = if *on_time_done || when.past_end_of_window() { late } else { early };
                if let Some(child) = phase {
                    child.on_elements(n, now, when);
                }
            }
            State::Count(count) => *count += n,
            State::ProcessingTime(first) => {
                if first.is_none() {
                    let Node::AfterProcessingTime(delay) = self.node else { unreachable!() };
                    *first = Some(Timestamp::from_millis(now.millis().saturating_add(delay)));
                }
            }
            State::Repeatedly(child) => child.on_elements(n, now, when),
            State::Each(i, children) => {
                if let Some(child) = children.get_mut(*i) {
                    child.on_elements(n, now, when);
                }
            }
            State::Children(children) => children.iter_mut().for_each(|c| c.on_elements(n, now, when)),
            State::OrFinally(main, until) => {
                main.on_elements(n, now, when);
                until.on_elements(n, now, when);
            }
        }
    }

    pub fn should_fire(&self, when: &When) -> bool {
        match &self.state {
            State::Finished | State::Idle => false,
            State::Watermark { on_time_done, early, late } => {
                if !on_time_done {
                    when.past_end_of_window() || early.as_ref().is_some_and(|e| e.should_fire(when))
                } else {
                    match (&self.node, late) {
                        // The default trigger fires for late data as it arrives:
                        // whenever the watermark is past the window's end.
                        (Node::Default, _) => when.past_end_of_window(),
                        (_, Some(late)) => late.should_fire(when),
                        _ => false,
                    }
                }
            }
            State::Count(count) => {
                let Node::AfterCount(n) = self.node else { unreachable!() };
                *count >= n
            }
            State::ProcessingTime(at) => at.is_some_and(|at| when.processing_time >= at),
            State::Repeatedly(child) => child.should_fire(when),
            State::Each(i, children) => children.get(*i).is_some_and(|c| c.should_fire(when)),
            State::Children(children) => match self.node {
                Node::AfterFirst(_) => children.iter().any(|c| c.should_fire(when)),
                _ => children.iter().all(|c| c.is_finished() || c.should_fire(when)),
            },
            State::OrFinally(main, until) => main.should_fire(when) || until.should_fire(when),
        }
    }

    /// The trigger fired: it moves on (a count starts again, a phase ends, a
    /// one-shot trigger finishes).
    pub fn on_fire(&mut self, when: &When) {
        match &mut self.state {
            State::Finished | State::Idle => {}
            State::Watermark { on_time_done, early, late } => {
                if !*on_time_done && when.past_end_of_window() {
                    *on_time_done = true;
                    if late.is_none() && self.node != Node::Default {
                        self.state = State::Finished;
                    }
                } else {
                    // Early and late firings repeat.
                    let node = &self.node;
                    let (phase, child_node) = match (node, on_time_done) {
                        (Node::AfterWatermark { early: Some(e), .. }, false) => (early, e),
                        (Node::AfterWatermark { late: Some(l), .. }, true) => (late, l),
                        _ => return,
                    };
                    *phase = Some(Box::new(TriggerState::of(child_node)));
                }
            }
            State::Count(_) | State::ProcessingTime(_) => self.state = State::Finished,
            State::Repeatedly(child) => {
                child.on_fire(when);
                let Node::Repeatedly(node) = &self.node else { unreachable!() };
                **child = TriggerState::of(node);
            }
            State::Each(i, children) => {
                if let Some(child) = children.get_mut(*i) {
                    child.on_fire(when);
                    if child.is_finished() {
                        *i += 1;
                    }
                }
                if *i >= children.len() {
                    self.state = State::Finished;
                }
            }
            State::Children(_) => self.state = State::Finished,
            State::OrFinally(main, until) => {
                if until.should_fire(when) {
                    self.state = State::Finished;
                } else {
                    main.on_fire(when);
                    if main.is_finished() {
                        self.state = State::Finished;
                    }
                }
            }
        }
    }
}
