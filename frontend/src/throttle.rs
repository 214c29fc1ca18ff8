//! Log lines for events that come in floods (an overloaded home server refuses thousands
//! of requests a second): at most one line per second per kind, saying how many were
//! held back. The metrics still count every one; writing every line would only add load
//! to a server that is already over it.

use std::sync::atomic::{AtomicU64, Ordering};

/// One kind of repeated event.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    /// The second (Unix time) of the last line written, plus one (0: none yet).
    last: AtomicU64,
    held: AtomicU64,
}

impl Throttle {
    /// At second `now`: `Some(n)` when a line may be written (`n` events were held back
    /// since the previous line), `None` when this one is held back.
    pub(crate) fn allow_at(&self, now: u64) -> Option<u64> {
        let stamp = now + 1;
        let last = self.last.load(Ordering::Relaxed);
        if stamp > last
            && self
                .last
                .compare_exchange(last, stamp, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.held.swap(0, Ordering::Relaxed));
        }
        self.held.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// [`allow_at`](Self::allow_at) now.
    pub(crate) fn allow(&self) -> Option<u64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.allow_at(now)
    }
}

#[cfg(test)]
mod tests {
    use super::Throttle;

    #[test]
    fn one_line_per_second_with_the_count_held_back() {
        let t = Throttle::default();
        assert_eq!(t.allow_at(100), Some(0));
        assert_eq!(t.allow_at(100), None);
        assert_eq!(t.allow_at(100), None);
        assert_eq!(t.allow_at(101), Some(2));
        assert_eq!(t.allow_at(101), None);
        // A clock that steps back holds lines back until it passes the last one again.
        assert_eq!(t.allow_at(99), None);
        assert_eq!(t.allow_at(102), Some(2));
        assert_eq!(Throttle::default().allow_at(0), Some(0));
    }
}
