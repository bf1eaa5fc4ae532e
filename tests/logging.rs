//! The runtime and user code log through one facade, `beam::log`: whatever logger
//! the program installs sees both.

use std::sync::Mutex;

use beam::log::{self, Level, Log, Metadata, Record};
use beam::prelude::*;

/// Keeps every message, with its level.
struct Kept(Mutex<Vec<(Level, String)>>);

impl Log for Kept {
    fn enabled(&self, _: &Metadata) -> bool {
        true
    }
    fn log(&self, record: &Record) {
        self.0.lock().unwrap().push((record.level(), record.args().to_string()));
    }
    fn flush(&self) {}
}

static KEPT: Kept = Kept(Mutex::new(Vec::new()));

#[test]
fn the_runtime_and_user_code_log_through_one_facade() {
    log::set_logger(&KEPT).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("evens");
    pipeline! {
        xs = from_iter(0..10u32);
        evens = xs -> filter(|x: &u32| {
            if *x == 4 {
                log::warn!("four seen");
            }
            x.is_multiple_of(2)
        });
        evens -> write_text(&dest, |x: &u32| *x);
    }
    .run()
    .unwrap();
    let kept = KEPT.0.lock().unwrap().clone();
    let has = |level: Level, text: &str| kept.iter().any(|(l, m)| *l == level && m.contains(text));
    assert!(has(Level::Info, "running a pipeline of"), "{kept:?}");
    assert!(has(Level::Debug, "segment 0 done in"), "{kept:?}");
    assert!(has(Level::Info, &format!("published {}", dest.display())), "{kept:?}");
    assert!(has(Level::Warn, "four seen"), "{kept:?}");
}
