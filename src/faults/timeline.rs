//! A fault run second by second, as Jepsen's plots show one: messages sent,
//! acknowledged and read per second, the largest latency read in each second,
//! and the fault windows; the report draws it, the verdict does not use it.

use std::time::{Duration, Instant};

use serde::Serialize;

/// One second of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Second {
    /// Sends handed to the client in this second.
    pub sent: u64,
    /// Sends the broker acknowledged in this second.
    pub acked: u64,
    /// Sends that failed in this second.
    pub failed: u64,
    /// Records read in this second, duplicates included.
    pub read: u64,
    /// Records read for the first time in this second.
    pub read_new: u64,
    /// Largest end-to-end latency read in this second (ms; 0 if none was measured).
    pub latency_max_ms: f64,
}

/// A fault from the moment it was injected to the moment it healed (equal for
/// a crash, which is an instant).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Window {
    pub what: String,
    pub from_s: f64,
    pub to_s: f64,
}

/// The run second by second, from the moment traffic started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Timeline {
    pub seconds: Vec<Second>,
    pub faults: Vec<Window>,
}

impl Timeline {
    /// Acknowledged and not yet read at the end of each second: the backlog a
    /// fault builds and the recovery drains.
    pub fn unread(&self) -> Vec<u64> {
        let (mut acked, mut read) = (0u64, 0u64);
        self.seconds
            .iter()
            .map(|s| {
                acked += s.acked;
                read += s.read_new;
                acked.saturating_sub(read)
            })
            .collect()
    }
}

/// Fills a [`Timeline`] as events happen; time zero is set when traffic starts.
#[derive(Debug, Default)]
pub(super) struct TimelineRecorder {
    t0: Option<Instant>,
    pub timeline: Timeline,
}

impl TimelineRecorder {
    pub fn start(&mut self, t0: Instant) {
        self.t0 = Some(t0);
    }

    /// The second `at` falls in, created on first use (none before the start).
    fn second(&mut self, at: Instant) -> Option<&mut Second> {
        let index = at.checked_duration_since(self.t0?)?.as_secs() as usize;
        let seconds = &mut self.timeline.seconds;
        if seconds.len() <= index {
            seconds.resize(index + 1, Second::default());
        }
        seconds.get_mut(index)
    }

    pub fn sent(&mut self, handed_over: Instant, answered: Instant, acked: bool) {
        if let Some(s) = self.second(handed_over) {
            s.sent += 1;
        }
        if let Some(s) = self.second(answered) {
            if acked {
                s.acked += 1;
            } else {
                s.failed += 1;
            }
        }
    }

    pub fn read(&mut self, at: Instant, first_time: bool, latency: Option<Duration>) {
        if let Some(s) = self.second(at) {
            s.read += 1;
            s.read_new += u64::from(first_time);
            if let Some(l) = latency {
                s.latency_max_ms = s.latency_max_ms.max(l.as_secs_f64() * 1000.0);
            }
        }
    }

    /// A fault window, in seconds since the start.
    pub fn fault(&mut self, what: &str, from: Instant, to: Instant) {
        let Some(t0) = self.t0 else { return };
        let secs = |i: Instant| i.saturating_duration_since(t0).as_secs_f64();
        self.timeline.faults.push(Window { what: what.to_string(), from_s: secs(from), to_s: secs(to) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_land_in_their_second_and_the_backlog_is_acked_minus_read() {
        let t0 = Instant::now();
        let mut r = TimelineRecorder::default();
        r.sent(t0, t0, true); // before the start: not recorded
        r.start(t0);
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        r.sent(at(100), at(200), true);
        r.sent(at(900), at(1_100), true);
        r.sent(at(950), at(2_500), false);
        r.read(at(1_500), true, Some(Duration::from_millis(7)));
        r.read(at(1_600), false, Some(Duration::from_millis(3)));
        r.read(at(2_100), true, None);
        r.fault("broker down", at(1_000), at(2_000));
        let t = &r.timeline;
        let sent: Vec<u64> = t.seconds.iter().map(|s| s.sent).collect();
        let acked: Vec<u64> = t.seconds.iter().map(|s| s.acked).collect();
        assert_eq!((sent, acked), (vec![3, 0, 0], vec![1, 1, 0]));
        assert_eq!((t.seconds[1].read, t.seconds[1].read_new, t.seconds[1].latency_max_ms), (2, 1, 7.0));
        assert_eq!((t.seconds[2].failed, t.seconds[2].read_new), (1, 1));
        assert_eq!(t.unread(), vec![1, 1, 0]);
        assert_eq!(t.faults, vec![Window { what: "broker down".into(), from_s: 1.0, to_s: 2.0 }]);
    }
}
