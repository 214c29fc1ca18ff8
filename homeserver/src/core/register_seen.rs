//! REGISTERs answered without a server transaction, and how their retransmissions are
//! recognized (RFC 3261 §8.2.7: a registrar may be a stateless UAS, as Kamailio's is).
//!
//! A server transaction keeps its final response for Timer J (64·T1, 32 s over UDP) to
//! answer retransmissions: at 12,000 REGISTER/s, ~400,000 transactions of ~600 bytes each
//! (key, table row, the 200 itself), a fifth of the server's CPU per REGISTER in fresh
//! pages, cache misses and expiry. Here a REGISTER over an unreliable transport leaves
//! only its fingerprint (a keyed hash of what the transaction layer matches a request to
//! its transaction by, RFC 3261 §17.2.3: top Via branch and sent-by, method, and the
//! Call-ID) for the same 64·T1, with
//! what became of it:
//! - still being handled: a retransmission is absorbed, as a proceeding transaction does;
//! - registered: a retransmission is answered 200 with the AOR's bindings now in force,
//!   without authenticating or applying it again (its nonce count was used; re-applying a
//!   stale copy could bring back a binding removed since);
//! - refused: the refusal is kept and sent again (refusals are few);
//! - challenged (401): nothing is kept; a retransmission gets a challenge of its own.
//!
//! A retransmission therefore meets what a transaction would have given it, except that
//! a 200 lists the bindings as they are when it arrives, not as they were. Over reliable
//! transports nothing is kept (Timer J is zero there). Entries are bounded in number: the
//! oldest go first when the table is full.

use std::{
    collections::{HashMap, VecDeque},
    hash::BuildHasher,
    time::{Duration, Instant},
};

use bytes::Bytes;
use herald_sip::{transactions::write_server_key, Request};

use crate::store::Aor;

/// A REGISTER's fingerprint.
pub(super) type Key = u64;

/// What became of a REGISTER seen lately.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Seen {
    /// Being handled (authenticated, applied, written).
    Pending,
    /// Answered 200 for this AOR's bindings.
    Registered(Aor),
    /// Answered with this refusal.
    Refused(Bytes),
}

pub(super) struct SeenRegisters {
    /// Fingerprint -> what became of it, and when it was first seen (an entry is ended
    /// by the queue's element of the same time only).
    seen: HashMap<Key, (Instant, Seen), foldhash::fast::FixedState>,
    order: VecDeque<(Instant, Key)>,
    keep: Duration,
    capacity: usize,
    /// Keys a fingerprint with a random secret: nobody can make two REGISTERs collide.
    hasher: std::hash::RandomState,
    /// The key's text, in a buffer kept between REGISTERs.
    text: String,
}

impl SeenRegisters {
    /// Remembers REGISTERs for `keep` (64·T1), at most `capacity` of them.
    pub fn new(keep: Duration, capacity: usize) -> SeenRegisters {
        SeenRegisters {
            seen: HashMap::default(),
            order: VecDeque::new(),
            keep,
            capacity: capacity.max(1),
            hasher: std::hash::RandomState::new(),
            text: String::new(),
        }
    }

    /// The fingerprint of `req`: a keyed hash of what its server transaction would be
    /// matched by (`herald_sip::transactions::write_server_key`: top Via branch and
    /// sent-by, method, Call-ID). `None` without an RFC 3261 branch or a Call-ID.
    pub fn key(&mut self, req: &Request) -> Option<Key> {
        if !write_server_key(req, &mut self.text) {
            return None;
        }
        Some(self.hasher.hash_one(self.text.as_bytes()))
    }

    /// A REGISTER arrives at `now`: what became of an earlier copy, or `None` when it is
    /// new (it is then noted as being handled).
    pub fn arrive(&mut self, key: Key, now: Instant) -> Option<Seen> {
        self.forget_old(now);
        if let Some((_, seen)) = self.seen.get(&key) {
            return Some(seen.clone());
        }
        self.seen.insert(key, (now, Seen::Pending));
        self.order.push_back((now, key));
        None
    }

    /// The REGISTER was answered: what a retransmission is to get (`None`: nothing, it is
    /// handled anew).
    pub fn settle(&mut self, key: Key, outcome: Option<Seen>) {
        match outcome {
            Some(s) => {
                if let Some((_, seen)) = self.seen.get_mut(&key) {
                    *seen = s;
                }
            }
            None => {
                self.seen.remove(&key);
            }
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Ends entries older than `keep`, then the oldest until one more fits.
    fn forget_old(&mut self, now: Instant) {
        while let Some(&(at, key)) = self.order.front() {
            let due = now.saturating_duration_since(at) >= self.keep;
            if !due && self.seen.len() < self.capacity {
                return;
            }
            self.order.pop_front();
            if self.seen.get(&key).is_some_and(|(since, _)| *since == at) {
                self.seen.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use herald_sip::{parse, Limits, Message, Transport};

    use super::*;

    fn register(branch: &str, host: &str, call_id: &str) -> Request {
        let raw = format!(
            "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP {host};branch={branch}\r\n\
             Max-Forwards: 70\r\nTo: <sip:a@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
        );
        match parse(Bytes::from(raw), &Limits::default(), Transport::Datagram) {
            Ok(Message::Request(r)) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    #[test]
    fn fingerprint_is_what_matches_a_transaction() {
        let mut s = SeenRegisters::new(Duration::from_secs(32), 10);
        let k = s.key(&register("z9hG4bK1", "10.0.0.1:5060", "c1")).unwrap();
        assert_eq!(s.key(&register("z9hG4bK1", "10.0.0.1:5060", "c1")), Some(k));
        assert_eq!(
            s.key(&register("z9hG4bK1", "Host.Example:5060", "c1")),
            s.key(&register("z9hG4bK1", "host.example:5060", "c1")),
            "sent-by compares case-insensitively"
        );
        for other in [
            register("z9hG4bK2", "10.0.0.1:5060", "c1"),
            register("z9hG4bK1", "10.0.0.2:5060", "c1"),
            register("z9hG4bK1", "10.0.0.1:5061", "c1"),
            register("z9hG4bK1", "10.0.0.1", "c1"),
            register("z9hG4bK1", "10.0.0.1:5060", "c2"),
        ] {
            assert_ne!(s.key(&other), Some(k));
        }
        assert_eq!(
            s.key(&register("1234", "10.0.0.1:5060", "c1")),
            None,
            "RFC 2543 branch"
        );
    }

    #[test]
    fn a_retransmission_meets_what_became_of_the_first() {
        let t0 = Instant::now();
        let mut s = SeenRegisters::new(Duration::from_secs(32), 10);
        assert_eq!(s.arrive(1, t0), None);
        assert_eq!(s.arrive(1, t0), Some(Seen::Pending));
        let aor = Aor::parse("a@example.com").unwrap();
        s.settle(1, Some(Seen::Registered(aor.clone())));
        assert_eq!(s.arrive(1, t0), Some(Seen::Registered(aor)));
        assert_eq!(s.arrive(2, t0), None);
        s.settle(2, Some(Seen::Refused(Bytes::from_static(b"SIP/2.0 403"))));
        assert_eq!(
            s.arrive(2, t0),
            Some(Seen::Refused(Bytes::from_static(b"SIP/2.0 403")))
        );
        // Challenged: forgotten, the next copy is new.
        assert_eq!(s.arrive(3, t0), None);
        s.settle(3, None);
        assert_eq!(s.arrive(3, t0), None);
    }

    #[test]
    fn entries_end_after_keep_and_at_capacity() {
        let t0 = Instant::now();
        let mut s = SeenRegisters::new(Duration::from_secs(32), 3);
        assert_eq!(s.arrive(1, t0), None);
        assert_eq!(s.arrive(2, t0 + Duration::from_secs(10)), None);
        // At 32 s key 1 is due, key 2 is not.
        assert_eq!(s.arrive(3, t0 + Duration::from_secs(32)), None);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s.arrive(2, t0 + Duration::from_secs(32)),
            Some(Seen::Pending)
        );
        assert_eq!(s.arrive(1, t0 + Duration::from_secs(32)), None, "1 ended");
        // Full (2, 3, 1): a new one ends the oldest (2).
        assert_eq!(s.arrive(4, t0 + Duration::from_secs(33)), None);
        assert_eq!(s.len(), 3);
        assert_eq!(s.arrive(2, t0 + Duration::from_secs(33)), None, "2 ended");
    }

    #[test]
    fn a_key_forgotten_and_seen_again_is_not_ended_by_its_first_arrival() {
        let t0 = Instant::now();
        let mut s = SeenRegisters::new(Duration::from_secs(32), 10);
        assert_eq!(s.arrive(1, t0), None);
        s.settle(1, None);
        assert_eq!(s.arrive(1, t0 + Duration::from_secs(20)), None);
        // The first arrival's queue entry falls due at 32 s; the second is kept to 52 s.
        assert_eq!(s.arrive(9, t0 + Duration::from_secs(40)), None);
        assert_eq!(
            s.arrive(1, t0 + Duration::from_secs(40)),
            Some(Seen::Pending)
        );
    }
}
