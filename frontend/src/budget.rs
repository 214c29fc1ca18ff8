//! The per-source request budget: a token bucket per IP address, checked for every
//! message before it is parsed or handed on, so that one flooding source costs a hash
//! lookup per packet and cannot starve everyone else. Pure: the caller passes the time.
//!
//! The table is bounded: when it is full, sources whose bucket has refilled (idle ones)
//! are forgotten first; if none has, the new source is admitted without a bucket of its
//! own that round (spoofed UDP sources must not be able to grow memory).

use std::{collections::HashMap, net::IpAddr, time::Instant};

/// What the budget says about one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// Over budget; `first` is true for the first refusal of a run (log it once).
    No {
        first: bool,
    },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    limited: bool,
}

/// Token buckets per source address.
#[derive(Debug)]
pub struct SourceBudget {
    rate: f64,
    burst: f64,
    capacity: usize,
    buckets: HashMap<IpAddr, Bucket>,
}

impl SourceBudget {
    /// `rate` messages per second on average, bursts of up to `burst`; `rate == 0` turns
    /// the budget off.
    pub fn new(rate: u32, burst: u32, capacity: usize) -> SourceBudget {
        SourceBudget {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            capacity: capacity.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Takes one token for a message from `ip`.
    pub fn admit(&mut self, ip: IpAddr, now: Instant) -> Admit {
        if self.rate <= 0.0 {
            return Admit::Yes;
        }
        if !self.buckets.contains_key(&ip) && self.buckets.len() >= self.capacity {
            self.forget_idle(now);
            if self.buckets.len() >= self.capacity {
                return Admit::Yes;
            }
        }
        let (rate, burst) = (self.rate, self.burst);
        let b = self.buckets.entry(ip).or_insert(Bucket {
            tokens: burst,
            at: now,
            limited: false,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            b.limited = false;
            return Admit::Yes;
        }
        let first = !b.limited;
        b.limited = true;
        Admit::No { first }
    }

    /// Number of sources tracked.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    fn forget_idle(&mut self, now: Instant) {
        let (rate, burst) = (self.rate, self.burst);
        self.buckets.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens + elapsed * rate < burst
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[test]
    fn burst_then_rate() {
        let t0 = Instant::now();
        let mut b = SourceBudget::new(10, 5, 100);
        for _ in 0..5 {
            assert_eq!(b.admit(ip(2), t0), Admit::Yes);
        }
        assert_eq!(b.admit(ip(2), t0), Admit::No { first: true });
        assert_eq!(b.admit(ip(2), t0), Admit::No { first: false });
        // Another source is not affected.
        assert_eq!(b.admit(ip(3), t0), Admit::Yes);
        // 100 ms later one token is back.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(b.admit(ip(2), t1), Admit::Yes);
        assert_eq!(b.admit(ip(2), t1), Admit::No { first: true });
    }

    #[test]
    fn table_is_bounded_and_forgets_idle_sources() {
        let t0 = Instant::now();
        let mut b = SourceBudget::new(10, 2, 2);
        b.admit(ip(1), t0);
        b.admit(ip(2), t0);
        // Full, nobody idle: a third source passes but is not tracked.
        assert_eq!(b.admit(ip(3), t0), Admit::Yes);
        assert_eq!(b.len(), 2);
        // After a second both buckets are full again: they are forgotten for the new one.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(b.admit(ip(3), t1), Admit::Yes);
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn zero_rate_is_off() {
        let mut b = SourceBudget::new(0, 0, 1);
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert_eq!(b.admit(ip(1), t0), Admit::Yes);
        }
        assert!(b.is_empty());
    }
}
