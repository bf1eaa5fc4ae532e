//! Beam's mobile-gaming `LeaderBoard` (Java `examples/complete/game/LeaderBoard`),
//! on generated events through `TestStream`: per team, the score of every
//! ten-minute window of event time, with early results every few events while the
//! window is open, the on-time result when the watermark passes its end, and a
//! late result for each late event within the allowed lateness; events later than
//! that go to their own output, never silently lost. Per user, the total so far in
//! the global window, fired every five minutes of processing time.
//!
//!     cargo run --example leaderboard

use std::time::Duration;

use beam::prelude::*;
use beam::window::Timing;

const MINUTE: u64 = 60_000;

/// `(user, team, score)` events: a game of `minutes`, three teams, with some
/// events arriving late (their phones were offline), and a few very late.
fn game(minutes: u64) -> TestStream<(String, String, u64)> {
    let mut stream = TestStream::new();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut late = Vec::new();
    for minute in 0..minutes {
        let events: Vec<_> = (0..20)
            .map(|_| {
                let (user, team) = (next() % 9, ["red", "green", "blue"][(next() % 3) as usize]);
                let at = minute * MINUTE + next() % MINUTE;
                timestamped((format!("user{user}"), team.to_owned(), 1 + next() % 10), at)
            })
            .collect();
        // One event in ten is held back and arrives six minutes later.
        let (now, held): (Vec<_>, Vec<_>) = events.into_iter().partition(|_| next() % 10 != 0);
        late.push((minute + 6, held));
        stream = stream.add_elements(now);
        for (_, held) in late.iter_mut().filter(|(due, _)| *due == minute) {
            stream = stream.add_elements(std::mem::take(held));
        }
        stream = stream.advance_processing_time(Duration::from_secs(60)).advance_watermark_to(minute * MINUTE);
    }
    // The stragglers, after the allowed lateness: too late.
    let stragglers = late.into_iter().flat_map(|(_, held)| held);
    stream.advance_watermark_to((minutes + 30) * MINUTE).add_elements(stragglers).advance_watermark_to_infinity()
}

fn main() -> Result<(), beam::Error> {
    let out = pipeline! {
        events = test_stream(game(60));
        (team_scores, too_late) = events
            -> map(|(_, team, score): (String, String, u64)| (team, score))
            -> window(FixedWindows::of(Duration::from_secs(600))
                          .triggering(AfterWatermark::past_end_of_window()
                                          .with_early_firings(AfterCount::new(50))
                                          .with_late_firings(AfterCount::new(1)))
                          .with_allowed_lateness(Duration::from_secs(1200))
                          .accumulating_fired_panes())
            -> team_score: sum_per_key();
        teams = team_scores -> reify() -> collect();
        late = too_late -> collect();
        users = events
            -> map(|(user, _, score): (String, String, u64)| (user, score))
            -> window(GlobalWindows
                          .triggering(Repeatedly::forever(AfterProcessingTime::past_first_element_in_pane()
                                                              .plus_delay(Duration::from_secs(300))))
                          .accumulating_fired_panes())
            -> user_score: sum_per_key()
            -> reify()
            -> collect();
    }
    .run()?;
    if beam::process_index() != 0 {
        return Ok(()); // one of a group of processes: process 0 has the results
    }

    let mut teams = out.teams;
    teams.sort_by_key(|w| (w.window.start, w.value.0.clone(), w.pane.index));
    println!("team scores per ten minutes of event time:");
    for w in &teams {
        let timing = match w.pane.timing {
            Timing::Early => "early",
            Timing::OnTime => "on time",
            Timing::Late => "late",
            Timing::Unknown => "?",
        };
        println!("  {} {:>5} {:>4}  ({timing}, pane {})", w.window.start, w.value.0, w.value.1, w.pane.index);
    }
    let on_time = teams.iter().filter(|w| w.pane.timing == Timing::OnTime).count();
    let late_panes = teams.iter().filter(|w| w.pane.timing == Timing::Late).count();
    println!("{} panes: {on_time} on time, {late_panes} late", teams.len());
    println!("{} events came too late for their window:", out.late.len());
    for l in out.late.iter().take(3) {
        println!(
            "  {} scored {} at {}, window {}, watermark already at {}",
            l.value.0, l.value.1, l.timestamp, l.window.start, l.watermark
        );
    }
    let mut users = out.users;
    users.retain(|w| w.pane.is_last);
    users.sort_by_key(|w| std::cmp::Reverse(w.value.1));
    println!("top users (final totals):");
    for w in users.iter().take(3) {
        println!("  {} {}", w.value.0, w.value.1);
    }
    Ok(())
}
