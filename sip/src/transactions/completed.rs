//! Completed non-INVITE server transactions in compact form (RFC 3261 §17.2.2).
//!
//! After its final response a non-INVITE server transaction only answers retransmissions
//! of its request with that response, until Timer J (64·T1, 32 s, on unreliable
//! transports) ends it. Under load these are most of a layer's transactions — every
//! REGISTER and MESSAGE answered over UDP, tens of thousands a second, each kept 32 s —
//! so they leave the table of live transactions (state machine, deadlines, an entry in
//! the timer heap) and keep only what a retransmission needs. Timer J has one duration
//! per layer, so they expire in the order they completed: a queue, not the heap.

use std::{collections::VecDeque, time::Instant};

use bytes::Bytes;

use super::key::ServerKey;

/// What the layer holds under a server transaction's key.
#[derive(Debug)]
pub(crate) enum ServerSlot<P> {
    /// A live transaction, by id in the layer's table.
    Live(u64),
    /// A completed non-INVITE transaction.
    Done(Done<P>),
}

/// A completed non-INVITE server transaction: its id (reported when it terminates), its
/// final response and where that goes.
#[derive(Debug)]
pub(crate) struct Done<P> {
    pub id: u64,
    pub last: Bytes,
    pub peer: P,
}

/// The keys of completed transactions in the order their Timer J fires.
#[derive(Debug)]
pub(crate) struct Expiries(VecDeque<(Instant, ServerKey)>);

impl Default for Expiries {
    fn default() -> Self {
        Expiries(VecDeque::new())
    }
}

impl Expiries {
    /// Queues `key` to end at `until`. Deadlines arrive in order when the caller's clock
    /// does (every one is `now` + the layer's J); one that arrives earlier than its
    /// predecessor ends with it, no sooner.
    pub fn push(&mut self, until: Instant, key: ServerKey) {
        self.0.push_back((until, key));
    }

    /// When the next one is due.
    pub fn next(&self) -> Option<Instant> {
        self.0.front().map(|(at, _)| *at)
    }

    /// The next key due at `now`, taken off the queue.
    pub fn pop_due(&mut self, now: Instant) -> Option<ServerKey> {
        if self.next()? > now {
            return None;
        }
        self.0.pop_front().map(|(_, k)| k)
    }

    /// Completed transactions held.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}
