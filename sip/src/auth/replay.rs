//! Nonce-count replay protection (RFC 7616 §3.3: the server may refuse a repeated nc).
//! The trait is the hook; the pool fills it with a Redis implementation elsewhere.

use std::collections::HashMap;

/// Records the nonce counts seen per nonce.
pub trait ReplayGuard {
    /// Returns false if `nc` is not greater than the last count seen for `nonce`
    /// (a replay); otherwise records it and returns true.
    fn check_and_record(&mut self, nonce: &str, nc: u32, now_secs: u64) -> bool;
}

/// An in-memory guard with a bound on entries; entries older than `max_age_secs` (the
/// nonce lifetime: older nonces are refused as stale anyway) are evicted first.
#[derive(Debug)]
pub struct MemoryReplayGuard {
    seen: HashMap<String, (u32, u64)>,
    max_age_secs: u64,
    capacity: usize,
}

impl MemoryReplayGuard {
    pub fn new(max_age_secs: u64, capacity: usize) -> Self {
        MemoryReplayGuard {
            seen: HashMap::new(),
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

    fn make_room(&mut self, now_secs: u64) {
        let max_age = self.max_age_secs;
        self.seen
            .retain(|_, (_, first)| now_secs.saturating_sub(*first) <= max_age);
        if self.seen.len() >= self.capacity {
            if let Some(oldest) = self
                .seen
                .iter()
                .min_by_key(|(_, (_, first))| *first)
                .map(|(k, _)| k.clone())
            {
                self.seen.remove(&oldest);
            }
        }
    }
}

impl ReplayGuard for MemoryReplayGuard {
    fn check_and_record(&mut self, nonce: &str, nc: u32, now_secs: u64) -> bool {
        if let Some((last, _)) = self.seen.get_mut(nonce) {
            if nc <= *last {
                return false;
            }
            *last = nc;
            return true;
        }
        if self.seen.len() >= self.capacity {
            self.make_room(now_secs);
        }
        self.seen.insert(nonce.to_owned(), (nc, now_secs));
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
    }
}
