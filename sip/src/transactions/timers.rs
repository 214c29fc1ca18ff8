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

/// Deadline slots per transaction: each kind of transaction runs at most four timers
/// (client INVITE A, B, D, M; client non-INVITE E, F, K; server INVITE G, H, I, L;
/// server non-INVITE J), so timers of different kinds share slots. J and K are never
/// armed as deadlines: a transaction they would end has left the live table for the
/// queues of `completed.rs`; their slots are kept so that the mapping stays total.
const SLOTS: usize = 4;

impl Timer {
    /// The timer's slot in [`Deadlines`]: distinct among the timers of one kind of
    /// transaction.
    fn slot(self) -> usize {
        match self {
            Timer::A | Timer::E | Timer::G | Timer::J => 0,
            Timer::B | Timer::F | Timer::H => 1,
            Timer::D | Timer::K | Timer::I => 2,
            Timer::M | Timer::L => 3,
        }
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

/// The deadlines a transaction has set, one slot per timer of its kind. Four slots, not
/// one per timer of the RFC's twelve: every live transaction carries them in the layer's
/// table, whose rows are moved when it grows.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deadlines([Option<std::time::Instant>; SLOTS]);

impl Deadlines {
    pub(crate) fn get(&self, t: Timer) -> Option<std::time::Instant> {
        self.0[t.slot()]
    }

    pub(crate) fn set(&mut self, t: Timer, at: std::time::Instant) {
        self.0[t.slot()] = Some(at);
    }

    pub(crate) fn clear(&mut self, t: Timer) {
        self.0[t.slot()] = None;
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

    /// The timers each machine starts (as listed in its file) never share a slot, so one
    /// cannot overwrite or clear another's deadline.
    #[test]
    fn timers_of_one_kind_have_their_own_slots() {
        use Timer::*;
        let kinds: [(&str, &[Timer], &str); 4] = [
            (
                "client INVITE",
                &[A, B, D, M],
                include_str!("client_invite.rs"),
            ),
            (
                "client non-INVITE",
                &[E, F, K],
                include_str!("client_non_invite.rs"),
            ),
            (
                "server INVITE",
                &[G, H, I, L],
                include_str!("server_invite.rs"),
            ),
            (
                "server non-INVITE",
                &[J],
                include_str!("server_non_invite.rs"),
            ),
        ];
        let mut seen = Vec::new();
        for (kind, timers, source) in kinds {
            let mut slots: Vec<usize> = timers.iter().map(|t| t.slot()).collect();
            slots.sort_unstable();
            slots.dedup();
            assert_eq!(slots.len(), timers.len(), "{kind}: two timers share a slot");
            for t in [A, B, D, E, F, G, H, I, J, K, L, M] {
                let used = source.contains(&format!("Timer::{t:?}"));
                assert_eq!(
                    used,
                    timers.contains(&t),
                    "{kind}: Timer::{t:?} used = {used}"
                );
            }
            seen.extend_from_slice(timers);
        }
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 12, "every timer belongs to one kind");
    }
}
