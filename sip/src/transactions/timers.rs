//! The timers of RFC 3261 §17 (Table 4) and RFC 6026 (L, M) as data: which timer, and how
//! long it runs for a given transport.

use std::time::Duration;

/// The base intervals; defaults are the RFC's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate (500 ms).
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// Maximum time a message remains in the network (5 s).
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// A transaction timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// INVITE client: request retransmit (unreliable only), starts at T1, doubles.
    A,
    /// INVITE client: transaction timeout, 64*T1.
    B,
    /// INVITE client: wait for response retransmits in Completed; 32 s unreliable, 0 reliable.
    D,
    /// non-INVITE client: request retransmit (unreliable only), T1 doubling up to T2.
    E,
    /// non-INVITE client: transaction timeout, 64*T1.
    F,
    /// INVITE server: response retransmit (unreliable only), T1 doubling up to T2.
    G,
    /// INVITE server: wait for ACK, 64*T1.
    H,
    /// INVITE server: wait for ACK retransmits in Confirmed; T4 unreliable, 0 reliable.
    I,
    /// non-INVITE server: wait for request retransmits; 64*T1 unreliable, 0 reliable.
    J,
    /// non-INVITE client: wait for response retransmits; T4 unreliable, 0 reliable.
    K,
    /// INVITE server (RFC 6026): Accepted state lifetime, 64*T1.
    L,
    /// INVITE client (RFC 6026): Accepted state lifetime, 64*T1.
    M,
}

pub(crate) const TIMER_COUNT: usize = 12;

impl Timer {
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl TimerConfig {
    /// The initial duration of `timer` on a reliable or unreliable transport. Retransmit
    /// timers (A, E, G) start at T1; callers double them.
    pub fn duration(&self, timer: Timer, reliable: bool) -> Duration {
        let unreliable_only = |d: Duration| if reliable { Duration::ZERO } else { d };
        match timer {
            Timer::A | Timer::E | Timer::G => self.t1,
            Timer::B | Timer::F | Timer::H | Timer::L | Timer::M => self.t1 * 64,
            Timer::D => unreliable_only(Duration::from_secs(32).max(self.t1 * 64)),
            Timer::I | Timer::K => unreliable_only(self.t4),
            Timer::J => unreliable_only(self.t1 * 64),
        }
    }
}

/// The deadlines a transaction has set, one slot per timer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deadlines([Option<std::time::Instant>; TIMER_COUNT]);

impl Deadlines {
    pub(crate) fn get(&self, t: Timer) -> Option<std::time::Instant> {
        self.0[t.index()]
    }

    pub(crate) fn set(&mut self, t: Timer, at: std::time::Instant) {
        self.0[t.index()] = Some(at);
    }

    pub(crate) fn clear(&mut self, t: Timer) {
        self.0[t.index()] = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_values() {
        let c = TimerConfig::default();
        assert_eq!(c.duration(Timer::B, false), Duration::from_secs(32));
        assert_eq!(c.duration(Timer::D, false), Duration::from_secs(32));
        assert_eq!(c.duration(Timer::D, true), Duration::ZERO);
        assert_eq!(c.duration(Timer::K, false), Duration::from_secs(5));
        assert_eq!(c.duration(Timer::J, true), Duration::ZERO);
        assert_eq!(c.duration(Timer::L, true), Duration::from_secs(32));
    }
}
