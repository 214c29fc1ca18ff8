//! A pool home server's membership lease: its right to act for the presentities the ring
//! gives it. The lease holds until a little before the moment the pool would count the
//! server as gone (its announcement's expiry, TTL after the renewal was *sent*, less a
//! margin for clock rates), so a server cut off from Redis — or stopped, or swapped out —
//! stops sending NOTIFYs before any other server takes its presentities over. A lapse is
//! remembered (`lapses`) even once the lease is renewed again: whatever the server held
//! when it lapsed may have been taken over meanwhile and must not be acted upon.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// The share of the TTL a lease lasts (the rest is the margin).
const SHARE: f64 = 0.8;

#[derive(Clone)]
pub struct Lease(Arc<State>);

struct State {
    origin: Instant,
    /// Milliseconds after `origin` until which the lease holds; 0: never granted.
    until_ms: AtomicU64,
    lapses: AtomicU64,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("holds", &self.holds())
            .field("lapses", &self.lapses())
            .finish()
    }
}

impl Default for Lease {
    fn default() -> Self {
        Lease::new()
    }
}

impl Lease {
    /// A lease not yet granted.
    pub fn new() -> Lease {
        Lease(Arc::new(State {
            origin: Instant::now(),
            until_ms: AtomicU64::new(0),
            lapses: AtomicU64::new(0),
        }))
    }

    fn ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.0.origin).as_millis()).unwrap_or(u64::MAX)
    }

    /// A renewal sent at `sent` was confirmed: the announcement lives `ttl` from about
    /// then. Counts a lapse if the lease had run out before this confirmation.
    pub fn renewed(&self, sent: Instant, ttl: Duration) {
        self.renewed_at(sent, ttl, Instant::now());
    }

    fn renewed_at(&self, sent: Instant, ttl: Duration, now: Instant) {
        let until = self.ms(sent + ttl.mul_f64(SHARE)).max(1);
        let before = self.0.until_ms.fetch_max(until, Ordering::AcqRel);
        if before != 0 && before < self.ms(now) {
            self.0.lapses.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Whether the lease holds now.
    pub fn holds(&self) -> bool {
        self.holds_at(Instant::now())
    }

    fn holds_at(&self, now: Instant) -> bool {
        self.ms(now) < self.0.until_ms.load(Ordering::Acquire)
    }

    /// How many times the lease has run out and been renewed since.
    pub fn lapses(&self) -> u64 {
        self.0.lapses.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(2);

    #[test]
    fn holds_for_most_of_the_ttl_after_the_renewal_was_sent() {
        let l = Lease::new();
        let t0 = Instant::now();
        assert!(!l.holds_at(t0), "not before it is granted");
        l.renewed_at(t0, TTL, t0 + Duration::from_millis(5));
        assert!(l.holds_at(t0 + Duration::from_millis(1500)));
        assert!(
            !l.holds_at(t0 + Duration::from_millis(1700)),
            "ends before the TTL"
        );
        assert_eq!(l.lapses(), 0, "the first grant is not a lapse");
    }

    #[test]
    fn a_renewal_after_the_lease_ran_out_counts_a_lapse() {
        let l = Lease::new();
        let t0 = Instant::now();
        l.renewed_at(t0, TTL, t0);
        l.renewed_at(
            t0 + Duration::from_millis(500),
            TTL,
            t0 + Duration::from_millis(501),
        );
        assert_eq!(l.lapses(), 0, "renewed in time");
        // Stopped for 5 s: the next confirmation comes after the lease ran out.
        let late = t0 + Duration::from_secs(5);
        l.renewed_at(late, TTL, late);
        assert_eq!(l.lapses(), 1);
        assert!(l.holds_at(late + Duration::from_millis(100)));
    }

    #[test]
    fn a_confirmation_of_an_old_renewal_does_not_extend_it() {
        let l = Lease::new();
        let t0 = Instant::now();
        l.renewed_at(t0, TTL, t0);
        // Sent before a 4 s stall, confirmed after it: it proves nothing about now.
        l.renewed_at(
            t0 + Duration::from_millis(100),
            TTL,
            t0 + Duration::from_secs(4),
        );
        assert!(!l.holds_at(t0 + Duration::from_secs(4)));
        assert_eq!(l.lapses(), 1);
    }
}
