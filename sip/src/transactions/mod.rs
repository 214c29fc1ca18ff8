//! Transactions (RFC 3261 §17, RFC 6026), sans-IO. A [`TransactionLayer`] owns client and
//! server transactions, matches incoming messages to them, absorbs retransmissions and
//! retransmits on its timers. Inputs carry `now`; outputs are polled:
//! [`poll_transmit`](TransactionLayer::poll_transmit) (bytes for a peer),
//! [`poll_event`](TransactionLayer::poll_event) (requests and responses for the TU,
//! timeouts) and [`poll_timeout`](TransactionLayer::poll_timeout) (when to call
//! [`handle_timeout`](TransactionLayer::handle_timeout)). `P` is the caller's notion of a
//! peer (an address, a flow id) and is handed back with every transmit.

mod client_invite;
mod client_non_invite;
mod completed;
mod ctx;
mod key;
mod server_invite;
mod server_non_invite;
mod timers;

use std::{collections::HashMap, time::Instant};

/// The layer's tables: keyed by ids it hands out and by fingerprints (`key.rs`), hashed
/// with foldhash (seeded per process) rather than SipHash: inserting here was 8 % of the
/// server's samples under REGISTER load, mostly hashing and table growth.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use bytes::Bytes;

pub use key::{write_server_key, ClientKey, ServerKey};
pub use timers::{Timer, TimerConfig};

use self::{
    client_invite::ClientInvite,
    client_non_invite::ClientNonInvite,
    completed::{Answered, Expiries, Slot},
    ctx::Ctx,
    ctx::Output,
    server_invite::ServerInvite,
    server_non_invite::ServerNonInvite,
    timers::Deadlines,
};
use crate::{
    message::{Request, Response},
    method::Method,
    status::StatusCode,
};

/// Identifies a transaction within its layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxId(pub u64);

/// Bytes to send to a peer.
#[derive(Debug, Clone)]
pub struct Transmit<P> {
    pub tx: TxId,
    pub peer: P,
    pub bytes: Bytes,
}

/// What the transaction user learns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxEvent {
    /// A new request; answer it with [`TransactionLayer::respond`].
    Request { tx: TxId, request: Request },
    /// A response to a request sent with [`TransactionLayer::send_request`].
    Response { tx: TxId, response: Response },
    /// An ACK for a 2xx: from an INVITE server transaction in Accepted, or matching none.
    Ack { tx: Option<TxId>, request: Request },
    /// A response no transaction matched (a proxy forwards it statelessly).
    StrayResponse { response: Response },
    /// Timer B, F or H fired.
    Timeout { tx: TxId },
    /// The transport reported a failure for this transaction.
    TransportError { tx: TxId },
    /// The transaction is gone; its id will not be used again.
    Terminated { tx: TxId },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    #[error("top Via has no RFC 3261 branch (z9hG4bK…): not matchable")]
    NoBranch,
    #[error("ACK is not a transaction: send it directly")]
    AckIsNotATransaction,
    #[error("a client transaction with this branch and method exists")]
    DuplicateBranch,
    #[error("no such transaction")]
    Unknown,
    #[error("the transaction already sent its final response")]
    AlreadyAnswered,
}

#[derive(Debug)]
#[allow(clippy::enum_variant_names)] // the four kinds of RFC 3261 §17
enum Machine {
    ClientInvite(ClientInvite),
    ClientNonInvite(ClientNonInvite),
    ServerInvite(ServerInvite),
    ServerNonInvite(ServerNonInvite),
}

impl Machine {
    fn is_terminated(&self) -> bool {
        match self {
            Machine::ClientInvite(m) => m.is_terminated(),
            Machine::ClientNonInvite(m) => m.is_terminated(),
            Machine::ServerInvite(m) => m.is_terminated(),
            Machine::ServerNonInvite(m) => m.is_terminated(),
        }
    }
}

#[derive(Debug)]
enum Key {
    Client(ClientKey),
    Server(ServerKey),
}

#[derive(Debug)]
struct Entry<P> {
    peer: P,
    reliable: bool,
    deadlines: Deadlines,
    key: Key,
    /// Client transactions: the request as sent (for retransmission, and the INVITE for
    /// building ACKs). Boxed: server transactions, the many, keep none.
    request: Option<Box<(Request, Bytes)>>,
    machine: Option<Machine>,
}

/// All transactions of one endpoint or proxy.
#[derive(Debug)]
pub struct TransactionLayer<P> {
    cfg: TimerConfig,
    next_id: u64,
    txs: Map<u64, Entry<P>>,
    clients: Map<ClientKey, Slot<u64>>,
    servers: Map<ServerKey, Slot<Answered<P>>>,
    /// Completed non-INVITE transactions, by when they end (`completed.rs`): clients
    /// (Timer K) and servers (Timer J).
    clients_done: Expiries<ClientKey>,
    servers_done: Expiries<ServerKey>,
    keys: key::Keys,
    out: Output<P>,
}

impl<P: Clone> TransactionLayer<P> {
    pub fn new(cfg: TimerConfig) -> Self {
        TransactionLayer {
            cfg,
            next_id: 1,
            txs: Map::default(),
            clients: Map::default(),
            servers: Map::default(),
            clients_done: Expiries::default(),
            servers_done: Expiries::default(),
            keys: key::Keys::new(),
            out: Output::default(),
        }
    }

    /// Transactions held, live and completed.
    pub fn len(&self) -> usize {
        self.txs.len() + self.clients_done.len() + self.servers_done.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The peer of a live transaction: where its request came from or went to. A
    /// non-INVITE transaction past its final response is no longer live.
    pub fn peer(&self, tx: TxId) -> Option<&P> {
        self.txs.get(&tx.0).map(|e| &e.peer)
    }

    /// Starts a client transaction for `req` (whose top Via carries a fresh branch).
    pub fn send_request(
        &mut self,
        req: Request,
        peer: P,
        reliable: bool,
        now: Instant,
    ) -> Result<TxId, TxError> {
        if req.method == Method::Ack {
            return Err(TxError::AckIsNotATransaction);
        }
        let key = self.keys.client_of_request(&req).ok_or(TxError::NoBranch)?;
        if self.clients.contains_key(&key) {
            return Err(TxError::DuplicateBranch);
        }
        let bytes = req.to_bytes();
        let is_invite = req.method == Method::Invite;
        let id = self.open(
            Key::Client(key),
            peer,
            reliable,
            Some(Box::new((req, bytes.clone()))),
        );
        self.drive(id, now, |_, _, ctx| {
            Some(if is_invite {
                Machine::ClientInvite(ClientInvite::start(ctx, bytes))
            } else {
                Machine::ClientNonInvite(ClientNonInvite::start(ctx, bytes))
            })
        });
        Ok(TxId(id))
    }

    /// A request arrived from `peer`. New requests become server transactions and are
    /// reported as [`TxEvent::Request`]; retransmissions are absorbed (the last response is
    /// re-sent); ACKs go to their INVITE transaction or, for 2xx, to the TU.
    pub fn handle_request(
        &mut self,
        req: Request,
        peer: P,
        reliable: bool,
        now: Instant,
    ) -> Result<(), TxError> {
        let Some(key) = self.keys.server(&req) else {
            if req.method == Method::Ack {
                self.out.events.push_back(TxEvent::Ack {
                    tx: None,
                    request: req,
                });
                return Ok(());
            }
            return Err(TxError::NoBranch);
        };
        match self.servers.get(&key) {
            Some(Slot::Live(id)) => {
                let id = *id;
                self.absorb(id, req, now);
                return Ok(());
            }
            Some(Slot::Done(d)) => {
                // A retransmission of a request already answered: the answer again.
                self.out.transmits.push_back(Transmit {
                    tx: TxId(d.id),
                    peer: d.peer.clone(),
                    bytes: d.last.clone(),
                });
                return Ok(());
            }
            None => {}
        }
        if req.method == Method::Ack {
            // No INVITE transaction: the ACK of a 2xx, end to end (§17.2.3).
            self.out.events.push_back(TxEvent::Ack {
                tx: None,
                request: req,
            });
            return Ok(());
        }
        let is_invite = req.method == Method::Invite;
        let trying = is_invite.then(|| Response::to_request(&req, StatusCode::TRYING).to_bytes());
        let id = self.open(Key::Server(key), peer, reliable, None);
        self.out.events.push_back(TxEvent::Request {
            tx: TxId(id),
            request: req,
        });
        self.drive(id, now, move |_, _, ctx| {
            Some(match trying {
                Some(t) => Machine::ServerInvite(ServerInvite::start(t, ctx)),
                None => Machine::ServerNonInvite(ServerNonInvite::Trying),
            })
        });
        Ok(())
    }

    /// A request matched live server transaction `id`: an ACK for its INVITE, or a
    /// retransmission, answered with the last response if there is one.
    fn absorb(&mut self, id: u64, req: Request, now: Instant) {
        let is_ack = req.method == Method::Ack;
        self.drive(id, now, move |m, _, ctx| {
            Some(match (m?, is_ack) {
                (Machine::ServerInvite(s), true) => Machine::ServerInvite(s.on_ack(req, ctx)),
                (Machine::ServerInvite(s), false) => {
                    Machine::ServerInvite(s.on_retransmission(ctx))
                }
                (Machine::ServerNonInvite(s), _) => {
                    Machine::ServerNonInvite(s.on_retransmission(ctx))
                }
                (other, _) => other,
            })
        });
    }

    /// A response arrived; it goes to its client transaction, or out as a stray.
    pub fn handle_response(&mut self, resp: Response, now: Instant) {
        let id = match self
            .keys
            .client_of_response(&resp)
            .and_then(|k| self.clients.get(&k))
        {
            Some(Slot::Live(id)) => *id,
            // A retransmission of the final response: absorbed (§17.1.2.2, Completed).
            Some(Slot::Done(_)) => return,
            None => {
                self.out
                    .events
                    .push_back(TxEvent::StrayResponse { response: resp });
                return;
            }
        };
        self.drive(id, now, move |m, req, ctx| {
            Some(match m? {
                Machine::ClientInvite(c) => match req {
                    Some((invite, _)) => Machine::ClientInvite(c.on_response(resp, invite, ctx)),
                    None => Machine::ClientInvite(c),
                },
                Machine::ClientNonInvite(c) => Machine::ClientNonInvite(c.on_response(resp, ctx)),
                other => other,
            })
        });
    }

    /// The TU answers the request of server transaction `tx`.
    pub fn respond(&mut self, tx: TxId, resp: Response, now: Instant) -> Result<(), TxError> {
        self.answer(tx, resp, now, false)
    }

    /// Answers the request of non-INVITE server transaction `tx` with a final response
    /// and forgets the transaction (RFC 3261 §8.2.7, stateless UAS behaviour): nothing is
    /// kept for Timer J, and a retransmission of the request comes back to the TU as a new
    /// request. For answers that may be repeated, such as a challenge; an INVITE
    /// transaction (whose non-2xx answer is ACKed hop by hop) is answered statefully.
    pub fn respond_statelessly(
        &mut self,
        tx: TxId,
        resp: Response,
        now: Instant,
    ) -> Result<(), TxError> {
        self.answer(tx, resp, now, true)
    }

    fn answer(
        &mut self,
        tx: TxId,
        resp: Response,
        now: Instant,
        stateless: bool,
    ) -> Result<(), TxError> {
        let status = resp.status;
        let bytes = resp.to_bytes();
        let mut result = Ok(());
        let found = self.drive(tx.0, now, |m, _, ctx| {
            let (next, err) = match m? {
                Machine::ServerInvite(s) => match s.on_tu_response(status, bytes, ctx) {
                    Ok(s) => (Machine::ServerInvite(s), None),
                    Err((s, e)) => (Machine::ServerInvite(s), Some(e)),
                },
                Machine::ServerNonInvite(s) => {
                    match s.on_tu_response(status, bytes, stateless, ctx) {
                        Ok(s) => (Machine::ServerNonInvite(s), None),
                        Err((s, e)) => (Machine::ServerNonInvite(s), Some(e)),
                    }
                }
                client => (client, Some(TxError::Unknown)),
            };
            if let Some(e) = err {
                result = Err(e);
            }
            Some(next)
        });
        if !found {
            return Err(TxError::Unknown);
        }
        result
    }

    /// The transport could not deliver for `tx` (§17.1.4, §17.2.4): the transaction ends.
    pub fn transport_error(&mut self, tx: TxId) {
        if self.txs.contains_key(&tx.0) {
            self.out.events.push_back(TxEvent::TransportError { tx });
            self.out.events.push_back(TxEvent::Terminated { tx });
            self.remove(tx.0);
        }
    }

    /// The INVITE server transaction a CANCEL refers to (§9.2), if it is still there.
    pub fn invite_for_cancel(&self, cancel: &Request) -> Option<TxId> {
        let k = self.keys.invite_of_cancel(cancel)?;
        match self.servers.get(&k)? {
            Slot::Live(id) => Some(TxId(*id)),
            Slot::Done(_) => None,
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let mut next = None;
        while let Some(std::cmp::Reverse((at, id, timer))) = self.out.heap.peek().copied() {
            if self.txs.get(&id).and_then(|e| e.deadlines.get(timer)) == Some(at) {
                next = Some(at);
                break;
            }
            self.out.heap.pop();
        }
        [next, self.clients_done.next(), self.servers_done.next()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(std::cmp::Reverse((at, id, timer))) = self.out.heap.peek().copied() {
            if at > now {
                break;
            }
            self.out.heap.pop();
            let Some(entry) = self.txs.get_mut(&id) else {
                continue;
            };
            if entry.deadlines.get(timer) != Some(at) {
                continue;
            }
            entry.deadlines.clear(timer);
            self.drive(id, now, move |m, req, ctx| {
                let request = req.map(|(_, b)| b.clone()).unwrap_or_default();
                Some(match m? {
                    Machine::ClientInvite(c) => {
                        Machine::ClientInvite(c.on_timer(timer, &request, ctx))
                    }
                    Machine::ClientNonInvite(c) => {
                        Machine::ClientNonInvite(c.on_timer(timer, &request, ctx))
                    }
                    Machine::ServerInvite(s) => Machine::ServerInvite(s.on_timer(timer, ctx)),
                    // Runs no timer: Timer J ends it in compact form, below.
                    Machine::ServerNonInvite(s) => Machine::ServerNonInvite(s),
                })
            });
        }
        self.clients_done
            .expire(now, &mut self.clients, &mut self.out.events);
        self.servers_done
            .expire(now, &mut self.servers, &mut self.out.events);
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit<P>> {
        self.out.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.out.events.pop_front()
    }

    /// Registers a new transaction under `key`; its machine is set by the first `drive`.
    fn open(
        &mut self,
        key: Key,
        peer: P,
        reliable: bool,
        request: Option<Box<(Request, Bytes)>>,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        match &key {
            Key::Client(k) => {
                self.clients.insert(*k, Slot::Live(id));
            }
            Key::Server(k) => {
                self.servers.insert(*k, Slot::Live(id));
            }
        }
        self.txs.insert(
            id,
            Entry {
                peer,
                reliable,
                deadlines: Deadlines::default(),
                key,
                request,
                machine: None,
            },
        );
        id
    }

    /// Runs `f` on transaction `id`'s machine with a context; removes the transaction if it
    /// terminated. Returns false if there is no such transaction.
    fn drive(
        &mut self,
        id: u64,
        now: Instant,
        f: impl FnOnce(Option<Machine>, Option<&(Request, Bytes)>, &mut Ctx<'_, P>) -> Option<Machine>,
    ) -> bool {
        let Some(entry) = self.txs.get_mut(&id) else {
            return false;
        };
        let machine = entry.machine.take();
        let mut ctx = Ctx {
            now,
            cfg: &self.cfg,
            reliable: entry.reliable,
            id: TxId(id),
            peer: &entry.peer,
            deadlines: &mut entry.deadlines,
            out: &mut self.out,
        };
        entry.machine = f(machine, entry.request.as_deref(), &mut ctx);
        match &entry.machine {
            Some(m) if m.is_terminated() => self.remove(id),
            Some(
                Machine::ServerNonInvite(ServerNonInvite::Completed { .. })
                | Machine::ClientNonInvite(ClientNonInvite::Completed { .. }),
            ) => self.compact(id),
            _ => {}
        }
        true
    }

    /// Moves completed non-INVITE transaction `id` out of the live table into compact
    /// form under its key, until its Timer J (server) or K (client).
    fn compact(&mut self, id: u64) {
        let Some(e) = self.txs.remove(&id) else {
            return;
        };
        match (e.key, e.machine) {
            (
                Key::Server(key),
                Some(Machine::ServerNonInvite(ServerNonInvite::Completed { last, until })),
            ) => {
                if let Some(slot) = self.servers.get_mut(&key) {
                    let peer = e.peer;
                    *slot = Slot::Done(Answered { id, last, peer });
                    self.servers_done.push(until, key);
                }
            }
            (
                Key::Client(key),
                Some(Machine::ClientNonInvite(ClientNonInvite::Completed { until })),
            ) => {
                if let Some(slot) = self.clients.get_mut(&key) {
                    *slot = Slot::Done(id);
                    self.clients_done.push(until, key);
                }
            }
            _ => {}
        }
    }

    fn remove(&mut self, id: u64) {
        if let Some(e) = self.txs.remove(&id) {
            match e.key {
                Key::Client(k) => {
                    self.clients.remove(&k);
                }
                Key::Server(k) => {
                    self.servers.remove(&k);
                }
            }
        }
    }
}
