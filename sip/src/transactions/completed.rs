//! Completed non-INVITE transactions in compact form (RFC 3261 §17.1.2, §17.2.2).
//!
//! After its final response a non-INVITE transaction only absorbs retransmissions until a
//! timer ends it: a server transaction answers a retransmitted request with its final
//! response until Timer J (64·T1, 32 s on unreliable transports), a client transaction
//! swallows retransmitted final responses until Timer K (T4, 5 s). Under load these are
//! most of a layer's transactions — every REGISTER and MESSAGE answered, every MESSAGE
//! relayed, over UDP, tens of thousands a second — so they leave the table of live
//! transactions (state machine, deadlines, the request kept for retransmission, an entry
//! in the timer heap) and keep only what absorbing needs. J and K each have one duration
//! per layer, so each kind expires in the order it completed: a queue, not the heap.

use std::{collections::VecDeque, hash::Hash, time::Instant};

use bytes::Bytes;

use super::{Map, TxEvent, TxId};

/// What the layer holds under a transaction's key.
#[derive(Debug)]
pub(crate) enum Slot<D> {
    /// A live transaction, by id in the layer's table.
    Live(u64),
    /// A completed non-INVITE transaction.
    Done(D),
}

/// A completed non-INVITE server transaction: its id (reported when it terminates), its
/// final response and where that goes.
#[derive(Debug)]
pub(crate) struct Answered<P> {
    pub id: u64,
    pub last: Bytes,
    pub peer: P,
}

/// The id a completed transaction reports when it terminates.
pub(crate) trait Finished {
    fn id(&self) -> u64;
}

/// A completed client transaction is its id alone.
impl Finished for u64 {
    fn id(&self) -> u64 {
        *self
    }
}

impl<P> Finished for Answered<P> {
    fn id(&self) -> u64 {
        self.id
    }
}

/// The keys of completed transactions of one kind, in the order their timer fires.
#[derive(Debug)]
pub(crate) struct Expiries<K>(VecDeque<(Instant, K)>);

impl<K> Default for Expiries<K> {
    fn default() -> Self {
        Expiries(VecDeque::new())
    }
}

impl<K> Expiries<K> {
    /// Queues `key` to end at `until`. Deadlines arrive in order when the caller's clock
    /// does (every one is `now` + the same duration); one that arrives earlier than its
    /// predecessor ends with it, no sooner.
    pub fn push(&mut self, until: Instant, key: K) {
        self.0.push_back((until, key));
    }

    /// When the next one is due.
    pub fn next(&self) -> Option<Instant> {
        self.0.front().map(|(at, _)| *at)
    }

    /// Ends every transaction due at `now`: removes it from `table` and reports it
    /// terminated.
    pub fn expire<D: Finished>(
        &mut self,
        now: Instant,
        table: &mut Map<K, Slot<D>>,
        events: &mut VecDeque<TxEvent>,
    ) where
        K: Hash + Eq,
    {
        while self.next().is_some_and(|at| at <= now) {
            let Some((_, key)) = self.0.pop_front() else {
                return;
            };
            if let Some(Slot::Done(d)) = table.remove(&key) {
                events.push_back(TxEvent::Terminated { tx: TxId(d.id()) });
            }
        }
    }

    /// Completed transactions held.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}
