//! Session windows, as in Beam's mobile-gaming `GameStats` (Java
//! `examples/complete/game/GameStats`): each user's play is cut into sessions
//! that end after ten minutes without an event; per session, how long it lasted
//! and how many points it scored, then the mean session length.
//!
//!     cargo run --example sessions

use std::time::Duration;

use beam::prelude::*;

const MINUTE: u64 = 60_000;

/// `(user, points, event time)`: each user plays a few bursts over a day.
fn events() -> Vec<(String, u64, u64)> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut events = Vec::new();
    for user in 0..50 {
        let mut at = next() % (60 * MINUTE);
        for _burst in 0..1 + next() % 4 {
            for _ in 0..5 + next() % 20 {
                at += next() % (3 * MINUTE);
                events.push((format!("user{user}"), 1 + next() % 5, at));
            }
            at += 30 * MINUTE + next() % (120 * MINUTE);
        }
    }
    events
}

fn main() -> Result<(), beam::Error> {
    let out = pipeline! {
        sessions = from_iter(events())
            -> with_timestamps(|e: &(String, u64, u64)| e.2)
            -> window(Sessions::with_gap(Duration::from_secs(600)))
            -> map(|(user, points, _): (String, u64, u64)| (user, points))
            -> sum_per_key()
            -> reify()
            -> collect();
    }
    .run()?;
    if beam::process_index() != 0 {
        return Ok(()); // one of a group of processes: process 0 has the results
    }
    // A session's window runs from its first event to ten minutes after its last.
    let minutes: Vec<f64> = out
        .sessions
        .iter()
        .map(|w| (w.window.end.millis() - w.window.start.millis()) as f64 / MINUTE as f64 - 10.0)
        .collect();
    let mean = minutes.iter().sum::<f64>() / minutes.len() as f64;
    println!("{} sessions of {} users, {mean:.1} minutes on average", out.sessions.len(), 50);
    let best = out.sessions.iter().max_by_key(|w| w.value.1).expect("sessions");
    println!(
        "best session: {} scored {} from {} to {}",
        best.value.0, best.value.1, best.window.start, best.window.end
    );
    Ok(())
}
