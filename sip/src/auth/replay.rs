//! Nonce-count replay protection (RFC 7616 §3.3: the server may refuse a repeated nc).
//! The trait is the hook; the pool fills it with a Redis implementation elsewhere.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

/// Records the nonce counts seen per nonce.
pub trait ReplayGuard {
    /// Returns false if `nc` is not greater than the last count seen for `nonce`
    /// (a replay); otherwise records it and returns true.
    fn check_and_record(&mut self, nonce: &str, nc: u32, now_secs: u64) -> bool;
}

/// An in-memory guard with a bound on entries. Nonces are forgotten in the order they were
/// first seen: those older than `max_age_secs` (the nonce lifetime: older nonces are
/// refused as stale anyway) as new ones arrive, and the oldest when the table is full.
/// Every operation is O(1) (amortized): a busy registrar sees a new nonce per REGISTER,
/// and a scan of the table per insert once it was full made the engine's cost per
/// REGISTER grow with the table (100,000 entries: 16 % of the server's samples).
#[derive(Debug)]
pub struct MemoryReplayGuard {
    seen: HashMap<Arc<str>, u32, foldhash::fast::RandomState>,
    /// Nonces in the order they were first seen, with that time.
    order: VecDeque<(Arc<str>, u64)>,
    max_age_secs: u64,
    capacity: usize,
}

impl MemoryReplayGuard {
    pub fn new(max_age_secs: u64, capacity: usize) -> Self {
        MemoryReplayGuard {
            seen: HashMap::default(),
            order: VecDeque::new(),
            max_age_secs,
            capacity: capacity.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Forgets expired nonces, then the oldest ones until one more fits.
    fn make_room(&mut self, now_secs: u64) {
        while let Some((nonce, first)) = self.order.front() {
            let expired = now_secs.saturating_sub(*first) > self.max_age_secs;
            if !expired && self.seen.len() < self.capacity {
                return;
            }
            self.seen.remove(nonce);
            self.order.pop_front();
        }
    }
}

impl ReplayGuard for MemoryReplayGuard {
    fn check_and_record(&mut self, nonce: &str, nc: u32, now_secs: u64) -> bool {
        if let Some(last) = self.seen.get_mut(nonce) {
            if nc <= *last {
                return false;
            }
            *last = nc;
            return true;
        }
        self.make_room(now_secs);
        let nonce: Arc<str> = Arc::from(nonce);
        self.seen.insert(nonce.clone(), nc);
        self.order.push_back((nonce, now_secs));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_repeats_and_bounds_memory() {
        let mut g = MemoryReplayGuard::new(300, 2);
        assert!(g.check_and_record("n1", 1, 0));
        assert!(!g.check_and_record("n1", 1, 1));
        assert!(g.check_and_record("n1", 2, 2));
        assert!(g.check_and_record("n2", 1, 3));
        assert!(g.check_and_record("n3", 1, 4));
        assert_eq!(g.len(), 2);
        // The oldest (n1) went to make room; n2 and n3 still refuse repeats.
        assert!(!g.check_and_record("n2", 1, 5));
        assert!(!g.check_and_record("n3", 1, 5));
        assert!(g.check_and_record("n1", 1, 5), "n1 was forgotten first");
    }

    #[test]
    fn expired_nonces_are_forgotten_before_the_table_is_full() {
        let mut g = MemoryReplayGuard::new(10, 100);
        assert!(g.check_and_record("old", 1, 0));
        assert!(g.check_and_record("mid", 1, 5));
        assert_eq!(g.len(), 2);
        // At 12 "old" is past its age (12 > 10), "mid" is not.
        assert!(g.check_and_record("new", 1, 12));
        assert_eq!(g.len(), 2);
        assert!(!g.check_and_record("mid", 1, 12), "mid is still remembered");
        assert!(!g.check_and_record("new", 1, 12));
    }

    #[test]
    fn stays_at_capacity_over_many_nonces() {
        let mut g = MemoryReplayGuard::new(300, 1000);
        for i in 0..50_000u64 {
            assert!(g.check_and_record(&format!("n{i}"), 1, i / 1000));
            assert!(g.len() <= 1000);
            assert_eq!(g.order.len(), g.len(), "queue and table agree");
        }
        // The last 1,000 are remembered, the one before them is not.
        assert!(!g.check_and_record("n49000", 1, 50));
        assert!(g.check_and_record("n48999", 1, 50));
    }
}
