//! What a state machine may do while it handles an input: send bytes, report an event,
//! start or stop a timer. The layer drains these queues through its `poll_*` methods.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, VecDeque},
    time::{Duration, Instant},
};

use bytes::Bytes;

use super::{
    timers::{Deadlines, Timer, TimerConfig},
    Transmit, TxEvent, TxId,
};

/// Queues shared by all transactions of a layer.
#[derive(Debug)]
pub(crate) struct Output<P> {
    pub transmits: VecDeque<Transmit<P>>,
    pub events: VecDeque<TxEvent>,
    /// Timer deadlines, lazily invalidated: an entry counts only if the transaction still
    /// has that timer set to that instant.
    pub heap: BinaryHeap<Reverse<(Instant, u64, Timer)>>,
}

impl<P> Default for Output<P> {
    fn default() -> Self {
        Output {
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            heap: BinaryHeap::new(),
        }
    }
}

pub(crate) struct Ctx<'a, P> {
    pub now: Instant,
    pub cfg: &'a TimerConfig,
    pub reliable: bool,
    pub id: TxId,
    pub peer: &'a P,
    pub deadlines: &'a mut Deadlines,
    pub out: &'a mut Output<P>,
}

impl<P: Clone> Ctx<'_, P> {
    pub fn send(&mut self, bytes: Bytes) {
        self.out.transmits.push_back(Transmit {
            tx: self.id,
            peer: self.peer.clone(),
            bytes,
        });
    }

    pub fn event(&mut self, e: TxEvent) {
        self.out.events.push_back(e);
    }

    /// The table duration of `timer` on this transaction's transport.
    pub fn duration(&self, timer: Timer) -> Duration {
        self.cfg.duration(timer, self.reliable)
    }

    /// Starts (or restarts) `timer` to fire `after` from now. Retransmit timers (A, E, G)
    /// never run shorter than 1 ms, so a zero T1/T2 in a config cannot make
    /// `handle_timeout` spin.
    pub fn start(&mut self, timer: Timer, after: Duration) {
        let after = match timer {
            Timer::A | Timer::E | Timer::G => after.max(Duration::from_millis(1)),
            _ => after,
        };
        let at = self.now + after;
        self.deadlines.set(timer, at);
        self.out.heap.push(Reverse((at, self.id.0, timer)));
    }

    /// Starts `timer` with its table duration.
    pub fn start_default(&mut self, timer: Timer) {
        let d = self.duration(timer);
        self.start(timer, d);
    }

    pub fn stop(&mut self, timer: Timer) {
        self.deadlines.clear(timer);
    }

    pub fn terminated(&mut self) {
        self.event(TxEvent::Terminated { tx: self.id });
    }
}
