//! Pacing: how often one viewer is written to, from the rate of captures it sees.

use std::time::{Duration, Instant};

/// How often a viewer is written to. Below [`BUSY_RATE`] every commit goes out as soon as it lands, so a
/// request shows within milliseconds. Above it, nobody reads rows that fast, and a thousand viewers each written
/// on every commit would take the CPU from capture itself; so each viewer is written at most every
/// [`BUSY_INTERVAL`], with the newest [`BUSY_ROWS`] requests and a count of the rest.
pub(super) struct Pace {
    /// Requests that arrived in the current window, and when it started.
    window_start: Instant,
    in_window: usize,
    /// Whether the last full window's rate was above [`BUSY_RATE`].
    busy: bool,
    last_sent: Instant,
}

/// Requests a second above which the stream is paced; see [`Pace`].
const BUSY_RATE: usize = 2000;
/// How long a window of the rate measurement lasts, and how many requests in one make it busy.
const RATE_WINDOW: Duration = Duration::from_millis(250);
const BUSY_PER_WINDOW: usize = BUSY_RATE * RATE_WINDOW.as_millis() as usize / 1000;
/// Shortest time between two writes to one viewer while busy.
const BUSY_INTERVAL: Duration = Duration::from_millis(200);
/// Most request events in one write while busy, and otherwise.
const BUSY_ROWS: usize = 20;
const MAX_ROWS: usize = 500;

impl Pace {
    pub(super) fn new() -> Pace {
        let now = Instant::now();
        Pace {
            window_start: now,
            in_window: 0,
            busy: false,
            last_sent: now,
        }
    }

    /// When the next write may happen, if not at once. A quiet stream reads no clock here: its window rolls when
    /// requests arrive.
    pub(super) fn hold_until(&mut self) -> Option<tokio::time::Instant> {
        if !self.busy {
            return None;
        }
        let now = Instant::now();
        self.roll_window(now);
        let until = self.last_sent + BUSY_INTERVAL;
        (self.busy && until > now).then(|| until.into())
    }

    pub(super) fn arrived(&mut self, requests: usize, now: Instant) {
        self.roll_window(now);
        self.in_window += requests;
        if self.in_window > BUSY_PER_WINDOW {
            self.busy = true;
        }
    }

    pub(super) fn rows_per_frame(&self) -> usize {
        if self.busy { BUSY_ROWS } else { MAX_ROWS }
    }

    pub(super) fn sent(&mut self, now: Instant) {
        self.last_sent = now;
    }

    /// Ends the current window once it is over: its rate decides whether the next one is paced. A window with
    /// nothing in it (the viewer slept through it) counts as quiet.
    fn roll_window(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed < RATE_WINDOW {
            return;
        }
        let per_window = if elapsed < 2 * RATE_WINDOW { self.in_window } else { 0 };
        self.busy = per_window > BUSY_PER_WINDOW;
        self.window_start = now;
        self.in_window = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_paced_only_while_requests_arrive_faster_than_the_busy_rate() {
        let mut pace = Pace::new();
        pace.arrived(BUSY_RATE / 8, Instant::now());
        assert_eq!(pace.rows_per_frame(), MAX_ROWS);
        assert!(pace.hold_until().is_none());
        pace.arrived(BUSY_RATE, Instant::now());
        pace.sent(Instant::now());
        assert_eq!(pace.rows_per_frame(), BUSY_ROWS);
        assert!(pace.hold_until().is_some(), "a busy stream waits between writes");
        // A viewer that slept through two windows sees a quiet stream again.
        pace.window_start -= 3 * RATE_WINDOW;
        pace.last_sent -= BUSY_INTERVAL;
        assert!(pace.hold_until().is_none());
        assert_eq!(pace.rows_per_frame(), MAX_ROWS);
    }
}
