//! Apache Beam's trigger conformance transcripts (`tests/data/trigger_transcripts.yaml`,
//! copied from Beam 2.77.0 with its license header), run through `pipeline!` and
//! `TestStream` the way Beam's own `BaseTestStreamTranscriptTest` runs them:
//!
//! - every `input` becomes one bundle of elements, each timestamped by its value,
//!   every `watermark` an advance of the watermark;
//! - before each action a marker bundle goes in, so that each pane can be traced to
//!   the action that made it fire; a pane not expected by the next `expect` is
//!   "Unexpected output", an expected pane that did not fire is "Unmatched output";
//! - each transcript runs through both `group_by_key` and `combine_per_key` (a
//!   concatenation), and, where Beam does (the default trigger, accumulating), under
//!   six bundlings of the same input, which must all give the same panes;
//! - the five negative transcripts must make the harness fail, with the error
//!   their `error` names.
//!
//! Skipped, as Beam's Java runners skip it: `timestamp_combiner_custom_timestamping_earliest`
//! with `OUTPUT_AT_EARLIEST_TRANSFORMED`, which needs a Python-only `WindowFn` hook.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use beam::prelude::*;
use beam::window::{PaneInfo, TimestampCombiner, Timing};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use yaml_rust2::{Yaml, YamlLoader};

const MARKER: &str = "marker";

/// What the pipeline saw, in order: a marker before each action's tick, then the
/// panes that action made fire.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Marker(u64),
    Pane { through: &'static str, window: (i64, i64), values: Vec<u64>, timestamp: i64, pane: PaneInfo },
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// Concatenates a key's values, sorted.
struct Concat;

impl CombineFn<u64> for Concat {
    type Acc = Vec<u64>;
    type Out = Vec<u64>;
    fn create_accumulator(&self) -> Vec<u64> {
        Vec::new()
    }
    fn add_input(&self, acc: &mut Vec<u64>, value: u64) {
        acc.push(value);
    }
    fn merge_accumulators(&self, acc: &mut Vec<u64>, other: Vec<u64>) {
        acc.extend(other);
    }
    fn extract_output(&self, mut acc: Vec<u64>) -> Vec<u64> {
        acc.sort();
        acc
    }
}

fn pane_of(through: &'static str, w: Windowed<(&'static str, Vec<u64>)>) -> Seen {
    let mut values = w.value.1;
    values.sort();
    let window = (w.window.start.millis(), w.window.max_timestamp().millis());
    Seen::Pane { through, window, values, timestamp: w.timestamp.millis(), pane: w.pane }
}

/// Runs the pipeline of a transcript with `windowing`, logging into `log`.
macro_rules! run_with {
    ($script:expr, $log:expr, $windowing:expr) => {{
        let (markers, grouped, combined) = ($log.clone(), $log.clone(), $log.clone());
        pipeline! {
            events = test_stream($script)
                -> inspect(move |e: &(&'static str, u64)| {
                    if e.0 == MARKER {
                        markers.lock().unwrap().push(Seen::Marker(e.1));
                    }
                })
                -> filter(|e: &(&'static str, u64)| e.0 != MARKER)
                -> window($windowing);
            events -> group_by_key() -> reify() -> for_each(move |w: Windowed<(&'static str, Vec<u64>)>| {
                grouped.lock().unwrap().push(pane_of("group_by_key", w));
            });
            events -> combine_per_key(Concat) -> reify() -> for_each(move |w: Windowed<(&'static str, Vec<u64>)>| {
                combined.lock().unwrap().push(pane_of("combine_per_key", w));
            });
        }
        .run()
        .map(|_| ())
    }};
}

#[derive(Debug, Clone)]
enum WindowKind {
    Fixed(u64),
    Sessions(u64),
    Global,
}

/// `Name(arg, kw=arg, ..)` of the transcripts' Python syntax.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Int(u64),
    Call(String, Vec<(Option<String>, Expr)>),
}

fn parse_expr(text: &str) -> Expr {
    let tokens: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut at = 0;
    let expr = parse_at(&tokens, &mut at);
    assert_eq!(at, tokens.len(), "trailing text in {text}");
    expr
}

fn parse_at(tokens: &[char], at: &mut usize) -> Expr {
    let start = *at;
    while *at < tokens.len() && (tokens[*at].is_alphanumeric() || tokens[*at] == '_') {
        *at += 1;
    }
    let word: String = tokens[start..*at].iter().collect();
    if let Ok(n) = word.parse() {
        return Expr::Int(n);
    }
    let mut args = Vec::new();
    if tokens.get(*at) == Some(&'(') {
        *at += 1;
        while tokens.get(*at) != Some(&')') {
            let save = *at;
            let mut name = None;
            while *at < tokens.len() && (tokens[*at].is_alphanumeric() || tokens[*at] == '_') {
                *at += 1;
            }
            if tokens.get(*at) == Some(&'=') {
                name = Some(tokens[save..*at].iter().collect());
                *at += 1;
            } else {
                *at = save;
            }
            args.push((name, parse_at(tokens, at)));
            if tokens.get(*at) == Some(&',') {
                *at += 1;
            }
        }
        *at += 1;
    }
    Expr::Call(word, args)
}

fn trigger_of(expr: &Expr) -> Trigger {
    let Expr::Call(name, args) = expr else { panic!("not a trigger: {expr:?}") };
    let arg = |key: &str| args.iter().find(|(k, _)| k.as_deref() == Some(key)).map(|(_, e)| e);
    let positional = || args.iter().filter(|(k, _)| k.is_none()).map(|(_, e)| e);
    match name.as_str() {
        "Default" => Trigger::default_trigger(),
        "AfterWatermark" => {
            let mut t = AfterWatermark::past_end_of_window();
            if let Some(early) = arg("early") {
                t = t.with_early_firings(trigger_of(early));
            }
            if let Some(late) = arg("late") {
                t = t.with_late_firings(trigger_of(late));
            }
            t.into()
        }
        "AfterCount" => match positional().next() {
            Some(Expr::Int(n)) => AfterCount::new(*n).into(),
            other => panic!("AfterCount({other:?})"),
        },
        "Repeatedly" => Repeatedly::forever(trigger_of(positional().next().unwrap())),
        "AfterAny" => AfterFirst::of(positional().map(trigger_of)),
        "AfterAll" => AfterAll::of(positional().map(trigger_of)),
        "AfterEach" => AfterEach::in_order(positional().map(trigger_of)),
        "_Never" => Never::ever(),
        other => panic!("unknown trigger {other}"),
    }
}

fn window_of(doc: &Yaml) -> WindowKind {
    let Some(text) = doc["window_fn"].as_str() else { return WindowKind::Global };
    match parse_expr(text) {
        Expr::Call(name, args) => {
            let size = match args.first() {
                Some((_, Expr::Int(n))) => *n,
                _ => 0,
            };
            match name.as_str() {
                "FixedWindows" | "CustomTimestampingFixedWindowsWindowFn" => WindowKind::Fixed(size),
                "Sessions" => WindowKind::Sessions(size),
                "GlobalWindows" => WindowKind::Global,
                other => panic!("unknown window function {other}"),
            }
        }
        other => panic!("not a window function: {other:?}"),
    }
}

/// One action of a transcript.
#[derive(Debug, Clone)]
enum Action {
    Input(Vec<u64>),
    Watermark(u64),
    Expect(Vec<Vec<(String, Yaml)>>),
    State,
}

fn actions_of(doc: &Yaml) -> Vec<Action> {
    doc["transcript"]
        .as_vec()
        .expect("a transcript")
        .iter()
        .map(|action| {
            let (key, value) = action.as_hash().and_then(|h| h.iter().next()).expect("an action");
            match key.as_str().unwrap() {
                "input" => Action::Input(value.as_vec().unwrap().iter().map(|v| v.as_i64().unwrap() as u64).collect()),
                "watermark" => Action::Watermark(value.as_i64().unwrap() as u64),
                "expect" => Action::Expect(
                    value
                        .as_vec()
                        .unwrap()
                        .iter()
                        .map(|pane| {
                            pane.as_hash()
                                .unwrap()
                                .iter()
                                .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone()))
                                .collect()
                        })
                        .collect(),
                ),
                "state" => Action::State,
                other => panic!("unknown action {other}"),
            }
        })
        .collect()
}

/// The ways one `input` is cut into bundles.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bundling {
    Original,
    Reversed,
    Shuffled,
    Singles,
    ReversedSingles,
    Pairs,
}

fn bundles(input: &[u64], bundling: Bundling, rng: &mut StdRng) -> Vec<Vec<u64>> {
    let mut values = input.to_vec();
    match bundling {
        Bundling::Original => vec![values],
        Bundling::Reversed => {
            values.reverse();
            vec![values]
        }
        Bundling::Shuffled => {
            values.shuffle(rng);
            vec![values]
        }
        Bundling::Singles => values.into_iter().map(|v| vec![v]).collect(),
        Bundling::ReversedSingles => values.into_iter().rev().map(|v| vec![v]).collect(),
        Bundling::Pairs => values.chunks(2).map(<[u64]>::to_vec).collect(),
    }
}

/// The script of a transcript: a marker bundle before each action (and one at the
/// end), then the action.
fn script_of(actions: &[Action], bundling: Bundling) -> TestStream<(&'static str, u64)> {
    let mut rng = StdRng::seed_from_u64(3);
    let mut script = TestStream::new();
    for (i, action) in actions.iter().enumerate() {
        let marker =
            |s: TestStream<(&'static str, u64)>, i: usize| s.add_elements([timestamped((MARKER, i as u64), 0)]);
        match action {
            Action::Input(values) => {
                script = marker(script, i);
                for bundle in bundles(values, bundling, &mut rng) {
                    script = script.add_elements(bundle.into_iter().map(|v| timestamped(("key", v), v as i64)));
                }
            }
            Action::Watermark(to) => script = marker(script, i).advance_watermark_to(*to as i64),
            Action::Expect(_) | Action::State => {}
        }
    }
    script.add_elements([timestamped((MARKER, actions.len() as u64), 0)]).advance_watermark_to_infinity()
}

/// Whether `pane` has every attribute `expected` names.
fn matches(expected: &[(String, Yaml)], pane: &Seen) -> bool {
    let Seen::Pane { window, values, timestamp, pane, .. } = pane else { return false };
    expected.iter().all(|(key, value)| {
        let int = || value.as_i64().unwrap();
        let flag = || value.as_bool().unwrap();
        match key.as_str() {
            "window" => {
                let bounds: Vec<i64> = value.as_vec().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
                bounds == [window.0, window.1]
            }
            "values" => {
                let mut expect: Vec<u64> = value.as_vec().unwrap().iter().map(|v| v.as_i64().unwrap() as u64).collect();
                expect.sort();
                expect == *values
            }
            "timestamp" => int() == *timestamp,
            "index" => int() == i64::from(pane.index),
            "nonspeculative_index" => int() == pane.on_time_index.map_or(-1, i64::from),
            "early" => flag() == (pane.timing == Timing::Early),
            "late" => flag() == (pane.timing == Timing::Late),
            "final" => flag() == pane.is_last,
            other => panic!("unknown pane attribute {other}"),
        }
    })
}

/// Checks what one output (`through`) logged against the transcript, as Beam's
/// harness does. `Err` names the failure as Beam's does.
fn check(actions: &[Action], log: &[Seen], through: &str) -> Result<(), String> {
    // The panes each action made fire: those after its marker.
    let mut fired: Vec<Vec<Seen>> = vec![Vec::new(); actions.len() + 1];
    let mut current = None;
    for seen in log {
        match seen {
            Seen::Marker(i) => current = Some(*i as usize),
            Seen::Pane { through: t, .. } if *t == through => {
                let i = current.expect("a pane fired before the first action");
                fired[i].push(seen.clone());
            }
            Seen::Pane { .. } => {}
        }
    }
    let mut pending: Vec<Seen> = Vec::new();
    for (i, action) in actions.iter().enumerate() {
        match action {
            Action::Expect(expected) => {
                for want in expected {
                    match pending.iter().position(|p| matches(want, p)) {
                        Some(found) => {
                            pending.remove(found);
                        }
                        None => return Err(format!("Unmatched output: {want:?} among {pending:?}")),
                    }
                }
            }
            _ => {
                if !pending.is_empty() {
                    return Err(format!("Unexpected output before action {i}: {pending:?}"));
                }
                pending.append(&mut fired[i]);
            }
        }
    }
    if !pending.is_empty() {
        return Err(format!("Unexpected output at the end: {pending:?}"));
    }
    Ok(())
}

/// Runs one transcript under one bundling; `Err` is the harness's failure.
fn run_transcript(doc: &Yaml, bundling: Bundling) -> Result<(), String> {
    let actions = actions_of(doc);
    let trigger = doc["trigger_fn"].as_str().map_or_else(Trigger::default_trigger, |t| trigger_of(&parse_expr(t)));
    let accumulating = doc["accumulation_mode"].as_str().is_none_or(|m| m.eq_ignore_ascii_case("accumulating"));
    let lateness = Duration::from_millis(doc["allowed_lateness"].as_i64().unwrap_or(0) as u64);
    let combiner = match doc["timestamp_combiner"].as_str().unwrap_or("OUTPUT_AT_EOW") {
        "OUTPUT_AT_EOW" => TimestampCombiner::EndOfWindow,
        "OUTPUT_AT_EARLIEST" => TimestampCombiner::Earliest,
        "OUTPUT_AT_LATEST" => TimestampCombiner::Latest,
        other => panic!("unsupported timestamp combiner {other}"),
    };
    let script = script_of(&actions, bundling);
    let log: Log = Arc::default();
    let ms = Duration::from_millis;
    macro_rules! windowed {
        ($window_fn:expr) => {{
            let windowing =
                $window_fn.triggering(trigger).with_allowed_lateness(lateness).with_timestamp_combiner(combiner);
            if accumulating {
                run_with!(script, log, windowing.accumulating_fired_panes())
            } else {
                run_with!(script, log, windowing)
            }
        }};
    }
    let ran = match window_of(doc) {
        WindowKind::Fixed(size) => windowed!(FixedWindows::of(ms(size))),
        WindowKind::Sessions(gap) => windowed!(Sessions::with_gap(ms(gap))),
        WindowKind::Global => windowed!(GlobalWindows),
    };
    ran.map_err(|e| format!("the pipeline failed: {e}"))?;
    let log = log.lock().unwrap();
    for through in ["group_by_key", "combine_per_key"] {
        check(&actions, &log, through).map_err(|e| format!("{through}, {bundling:?}: {e}"))?;
    }
    Ok(())
}

fn transcripts() -> Vec<Yaml> {
    YamlLoader::load_from_str(include_str!("data/trigger_transcripts.yaml")).expect("the transcripts parse")
}

#[test]
fn every_transcript_gives_beams_panes_through_both_groupings_and_every_bundling() {
    let (mut ran, mut failures) = (0, Vec::new());
    for doc in transcripts() {
        let name = doc["name"].as_str().unwrap_or("unnamed");
        if doc["timestamp_combiner"].as_str() == Some("OUTPUT_AT_EARLIEST_TRANSFORMED") || !doc["error"].is_badvalue() {
            continue;
        }
        let order_agnostic = doc["trigger_fn"].as_str().is_none_or(|t| t == "Default")
            && doc["accumulation_mode"].as_str().is_none_or(|m| m.eq_ignore_ascii_case("accumulating"));
        let bundlings: &[Bundling] = if order_agnostic {
            &[
                Bundling::Original,
                Bundling::Reversed,
                Bundling::Shuffled,
                Bundling::Singles,
                Bundling::ReversedSingles,
                Bundling::Pairs,
            ]
        } else {
            &[Bundling::Original]
        };
        for &bundling in bundlings {
            if let Err(e) = run_transcript(&doc, bundling) {
                failures.push(format!("transcript `{name}`: {e}"));
                break;
            }
        }
        ran += 1;
    }
    assert!(failures.is_empty(), "{} of {ran} transcripts failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(ran, 12, "the 13 positive transcripts but the Python-only one");
}

#[test]
fn the_negative_transcripts_make_the_harness_fail_as_beams_does() {
    let mut ran = 0;
    for doc in transcripts() {
        let Some(error) = doc["error"].as_str() else { continue };
        let name = doc["name"].as_str().unwrap();
        match run_transcript(&doc, Bundling::Original) {
            Ok(()) => panic!("transcript `{name}` should fail with {error}"),
            Err(e) => assert!(e.contains(error), "transcript `{name}`: expected {error}, got {e}"),
        }
        ran += 1;
    }
    assert_eq!(ran, 5);
}
