//! The log line per capture, throttled: the first [`LINES_PER_SECOND`] captures of each second get a line of their
//! own, and the rest are counted and summed up in one line when the next second begins. A terminal stays readable
//! under a load test, and logging stops costing a tenth of the throughput (formatting and writing 30,000 lines a
//! second).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Captures a second that get a line of their own.
pub const LINES_PER_SECOND: u32 = 20;

/// Decides which captures get a line.
pub struct CaptureLog {
    window: Mutex<Window>,
}

struct Window {
    started: Instant,
    logged: u32,
    /// Captures of the current window that got no line.
    unlogged: u64,
}

/// What to log for one capture; the default logs nothing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// Captures of the previous window that got no line, to sum up first; 0 for none.
    pub unlogged_before: u64,
    /// Whether this capture gets its own line.
    pub log_this: bool,
}

impl Default for CaptureLog {
    fn default() -> Self {
        CaptureLog {
            window: Mutex::new(Window {
                started: Instant::now(),
                logged: 0,
                unlogged: 0,
            }),
        }
    }
}

impl CaptureLog {
    /// Counts one capture at `now`.
    pub fn decide(&self, now: Instant) -> Decision {
        // A poisoned lock only means another capture panicked mid-decision; the counts are still usable.
        let mut window = self.window.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut unlogged_before = 0;
        if now.saturating_duration_since(window.started) >= Duration::from_secs(1) {
            unlogged_before = window.unlogged;
            *window = Window {
                started: now,
                logged: 0,
                unlogged: 0,
            };
        }
        let log_this = window.logged < LINES_PER_SECOND;
        if log_this {
            window.logged += 1;
        } else {
            window.unlogged += 1;
        }
        Decision {
            unlogged_before,
            log_this,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_captures_are_counted_and_summed_up_in_the_next_second() {
        let log = CaptureLog::default();
        let start = Instant::now();
        let decisions: Vec<Decision> = (0..LINES_PER_SECOND + 5).map(|_| log.decide(start)).collect();
        assert!(decisions[..LINES_PER_SECOND as usize].iter().all(|d| d.log_this));
        assert!(decisions[LINES_PER_SECOND as usize..].iter().all(|d| !d.log_this));
        assert!(decisions.iter().all(|d| d.unlogged_before == 0));
        let next = log.decide(start + Duration::from_secs(1));
        assert_eq!(
            next,
            Decision {
                unlogged_before: 5,
                log_this: true
            }
        );
    }
}
