//! A progress bar on stderr for long runs: bytes read of the total, and elements
//! per second. Shown only when stderr is a terminal, so logs and pipes stay clean.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub(crate) struct Progress {
    bar: ProgressBar,
    elements: AtomicU64,
    /// Bytes read by the sources of finished segments.
    done_bytes: AtomicU64,
    started: Instant,
}

impl Progress {
    /// A bar if stderr is a terminal (and `BEAM_PROGRESS` is not `0`), else nothing.
    pub fn for_terminal() -> Option<Progress> {
        if !std::io::stderr().is_terminal() || std::env::var_os("BEAM_PROGRESS").is_some_and(|v| v == "0") {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(4));
        let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Some(Progress { bar, elements: AtomicU64::new(0), done_bytes: AtomicU64::new(0), started: Instant::now() })
    }

    pub fn add_total_bytes(&self, bytes: u64) {
        self.bar.inc_length(bytes);
    }

    /// After a chunk: `bytes` read so far by the current segment's source.
    pub fn chunk(&self, elements: u64, bytes: u64) {
        let total = self.elements.fetch_add(elements, Ordering::Relaxed) + elements;
        self.bar.set_position(self.done_bytes.load(Ordering::Relaxed) + bytes);
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_message(format!("{total} elements, {:.0}/s", total as f64 / secs));
    }

    pub fn segment_done(&self, bytes: u64) {
        self.done_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
