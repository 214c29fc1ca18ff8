//! The home server's engine. One task owns the transaction layer and the state of every
//! fork; requests and responses arrive through the generated `Home` trait (in-process or
//! over gRPC), everything it sends leaves through an `Edge`. Store calls are awaited in
//! the task, so the order of events per user is the order of arrival.

mod admin;
mod counters;
mod dispatch;
mod fork;
mod forward;
mod im;
mod lanes;
mod outbox;
mod ownership;
mod peers;
mod presence;
mod presence_body;
mod presence_store;
mod proxy;
mod recipient;
mod register;
mod register_seen;
mod subscribe;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use herald_proto::v1::{
    edge_server::Edge, home_server::Home, Accepted, AcceptedBatch, FlowRef, Inbound, InboundBatch,
};
use herald_sip::{
    transactions::{Timer, TimerConfig, TransactionLayer, Transmit, TxEvent, TxId},
    Limits, Message, Response,
};
use tokio::sync::mpsc;
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status};

use self::fork::Fork;
pub use self::{
    admin::{EngineGone, Notice, NoticeResult},
    ownership::Ownership,
};
use crate::{
    auth::Authenticator,
    config::HomeConfig,
    flow,
    store::{Aor, Store},
};

/// The handle front ends talk to: implements the `Home` service of the contract.
#[derive(Clone)]
pub struct HomeServer {
    tx: mpsc::Sender<Command>,
    /// Responses have a queue of their own: they complete work already started (a NOTIFY
    /// fan-out brings back thousands at once) and must not crowd out, or be refused
    /// because of, new requests.
    responses: mpsc::Sender<Arrived>,
    bans: crate::bans::BanList,
}

/// A message from the front end, with the SIP message it already parsed and validated when
/// the call was in-process (a `herald_sip::Message` in the tonic request's extensions;
/// extensions do not travel over gRPC, so a pool's home server parses the bytes).
struct Arrived(Inbound, Option<Message>);

impl Arrived {
    fn of(req: GrpcRequest<Inbound>) -> Arrived {
        let (_, mut extensions, inbound) = req.into_parts();
        Arrived(inbound, extensions.remove::<Message>())
    }
}

enum Command {
    Request(Arrived),
    /// A user's XCAP documents (buddy list, presence rules) changed.
    DocumentsChanged(Aor),
    /// An operator's question (admin API).
    Query(admin::Query),
    /// The pool's ring changed: a step of handing presentities over; answered once done.
    Ownership(Ownership, tokio::sync::oneshot::Sender<()>),
}

/// Whether this home server owns an address-of-record (the pool's ring).
pub type Owns = Arc<dyn Fn(&Aor) -> bool + Send + Sync>;

/// How many inbound requests may wait for the engine before front ends get "overloaded"
/// (and answer 503 with Retry-After).
const QUEUE: usize = 8192;
/// How many responses may wait (a NOTIFY to every watcher of a busy presentity returns
/// that many 200s within milliseconds).
const RESPONSE_QUEUE: usize = 131_072;

impl HomeServer {
    /// Starts the engine. It stops when every handle is dropped.
    pub fn start(
        cfg: HomeConfig,
        store: Arc<dyn Store>,
        edge: Arc<dyn Edge>,
    ) -> (HomeServer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (responses, resp_rx) = mpsc::channel(RESPONSE_QUEUE);
        let bans = crate::bans::BanList::new(cfg.bans, crate::auth::BAN_TABLE);
        let (outbox, failures) = outbox::Outbox::new(edge, cfg.edge_is_remote);
        let core = Core::new(cfg, store, outbox, bans.clone());
        (
            HomeServer {
                tx,
                responses,
                bans,
            },
            tokio::spawn(core.run(rx, resp_rx, failures)),
        )
    }

    /// The ban list of this home server (XCAP authenticates against it too).
    pub fn bans(&self) -> crate::bans::BanList {
        self.bans.clone()
    }

    /// A step of a ring change (see [`Ownership`]); returns once the engine has taken it.
    pub async fn set_ownership(&self, step: Ownership) -> Result<(), EngineGone> {
        let (done, taken) = tokio::sync::oneshot::channel();
        self.tx
            .send(Command::Ownership(step, done))
            .await
            .map_err(|_| EngineGone)?;
        taken.await.map_err(|_| EngineGone)
    }

    /// Tells the engine that `aor`'s buddy list or presence rules changed (XCAP writes),
    /// so that watchers are re-authorized and list subscriptions re-read.
    pub async fn documents_changed(&self, aor: Aor) {
        let _ = self.tx.send(Command::DocumentsChanged(aor)).await;
    }

    fn enqueue(&self, c: Command) -> Result<GrpcResponse<Accepted>, Status> {
        match self.tx.try_send(c) {
            Ok(()) => Ok(GrpcResponse::new(Accepted {})),
            Err(mpsc::error::TrySendError::Full(_)) => {
                Err(Status::resource_exhausted("home server queue full"))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                Err(Status::unavailable("home server stopped"))
            }
        }
    }
}

#[tonic::async_trait]
impl Home for HomeServer {
    async fn handle_request(
        &self,
        req: GrpcRequest<Inbound>,
    ) -> Result<GrpcResponse<Accepted>, Status> {
        self.enqueue(Command::Request(Arrived::of(req)))
    }

    async fn handle_response(
        &self,
        req: GrpcRequest<Inbound>,
    ) -> Result<GrpcResponse<Accepted>, Status> {
        match self.responses.try_send(Arrived::of(req)) {
            Ok(()) => Ok(GrpcResponse::new(Accepted {})),
            Err(mpsc::error::TrySendError::Full(_)) => Err(Status::resource_exhausted(
                "home server response queue full",
            )),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                Err(Status::unavailable("home server stopped"))
            }
        }
    }

    /// A pool front end's batch: each message queued as if it came alone.
    async fn handle_batch(
        &self,
        req: GrpcRequest<InboundBatch>,
    ) -> Result<GrpcResponse<AcceptedBatch>, Status> {
        Ok(GrpcResponse::new(
            herald_proto::handle_each(self, req.into_inner()).await,
        ))
    }
}

/// A flow as the engine holds it: shared, since a request's flow is kept by its
/// transaction, handed to the handler and given to every message sent back (a `FlowRef`
/// is two strings; cloning it was ~10 allocations per REGISTER round trip).
pub(crate) type Peer = Arc<FlowRef>;

/// Where an answer to a request goes: its server transaction, or (for requests without
/// an RFC 3261 branch) straight down the flow, or (REGISTER, answered without a
/// transaction: `register_seen.rs`) down the flow, noting what a retransmission of the
/// request with this fingerprint is to get.
#[derive(Debug, Clone)]
enum At {
    Tx(TxId),
    Stateless(FlowRef),
    Register(Peer, Option<register_seen::Key>),
}

/// Most REGISTERs remembered for their retransmissions (64·T1 at 31,000/s).
const SEEN_REGISTERS: usize = 1_000_000;
/// Most flows whose requests share one `Peer` (`peers.rs`).
const SHARED_PEERS: usize = 65_536;

struct Core {
    cfg: Arc<HomeConfig>,
    store: Arc<dyn Store>,
    outbox: outbox::Outbox,
    txl: TransactionLayer<Peer>,
    auth: Authenticator,
    limits: Limits,
    forks: HashMap<u64, Fork>,
    /// `herald_forks_open`: requests being forked to devices now.
    forks_open: metrics::Gauge,
    counters: counters::Counters,
    /// Client transaction -> the fork it is a branch of.
    branch_of: HashMap<TxId, u64>,
    /// INVITE server transaction -> its fork (for CANCEL).
    fork_of_server: HashMap<TxId, u64>,
    /// Offline messages being delivered, per recipient: the ids still to send.
    deliveries: HashMap<Aor, Vec<i64>>,
    next_fork: u64,
    /// The flow of the message being handled (ACKs reach the TU without one).
    inbound_flow: Option<Peer>,
    /// One shared `Peer` per flow seen lately.
    peers: peers::Peers,
    /// Presence: publications, subscriptions, calls.
    watch: presence::Watch,
    /// A pool's home server: where it stands with its membership lease.
    fence: ownership::Fence,
    /// REGISTERs being written through to a networked store, per AOR.
    registering: lanes::Lanes<register::Waiting>,
    /// REGISTERs answered lately, for their retransmissions.
    seen_registers: register_seen::SeenRegisters,
    /// MESSAGEs whose recipient's devices are being looked up there, per recipient.
    looking_up: lanes::Lanes<recipient::Waiting>,
    /// Where the tasks doing that send their results, and where the engine takes them
    /// (taken by `run`).
    settled: mpsc::UnboundedSender<lanes::Settled>,
    settled_rx: Option<mpsc::UnboundedReceiver<lanes::Settled>>,
}

impl Core {
    fn new(
        cfg: HomeConfig,
        store: Arc<dyn Store>,
        outbox: outbox::Outbox,
        bans: crate::bans::BanList,
    ) -> Core {
        let (settled, settled_rx) = lanes::channel();
        Core {
            registering: lanes::Lanes::default(),
            seen_registers: register_seen::SeenRegisters::new(
                TimerConfig::default().duration(Timer::J, false),
                SEEN_REGISTERS,
            ),
            looking_up: lanes::Lanes::default(),
            settled,
            settled_rx: Some(settled_rx),
            auth: Authenticator::new(&cfg, bans),
            cfg: Arc::new(cfg),
            store,
            outbox,
            txl: TransactionLayer::new(TimerConfig::default()),
            limits: Limits::default(),
            forks: HashMap::new(),
            forks_open: metrics::gauge!("herald_forks_open"),
            counters: counters::Counters::new(),
            branch_of: HashMap::new(),
            fork_of_server: HashMap::new(),
            deliveries: HashMap::new(),
            next_fork: 1,
            inbound_flow: None,
            peers: peers::Peers::new(SHARED_PEERS),
            watch: presence::Watch::default(),
            fence: ownership::Fence::default(),
        }
    }

    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Command>,
        mut responses: mpsc::Receiver<Arrived>,
        failures: Option<mpsc::UnboundedReceiver<TxId>>,
    ) {
        // Sends that failed after the engine went on (a pool's queued sends).
        let mut failures = failures.unwrap_or_else(|| mpsc::unbounded_channel().1);
        let mut settled = self
            .settled_rx
            .take()
            .unwrap_or_else(|| mpsc::unbounded_channel().1);
        let mut sweep = tokio::time::interval(Duration::from_secs(1));
        self.restore_presence().await;
        loop {
            let deadline = self.txl.poll_timeout();
            tokio::select! {
                // Work in progress first: responses, then new requests.
                biased;
                Some(i) = responses.recv() => self.on_inbound(i, false).await,
                Some(tx) = failures.recv() => self.send_failed(tx),
                Some(s) = settled.recv() => self.on_settled(s).await,
                cmd = rx.recv() => match cmd {
                    Some(Command::Request(i)) => self.on_inbound(i, true).await,
                    Some(Command::DocumentsChanged(aor)) => self.documents_changed(&aor).await,
                    Some(Command::Query(q)) => self.on_query(q).await,
                    Some(Command::Ownership(step, done)) => {
                        self.on_ownership(step).await;
                        let _ = done.send(());
                    }
                    None => break,
                },
                () = sleep_until(deadline) => self.txl.handle_timeout(Instant::now()),
                () = sleep_until(self.next_notify_due()) => self.flush_notifies().await,
                _ = sweep.tick() => self.sweep().await,
            }
            // NOTIFYs due now go out before the next event is taken, so that watchers
            // see changes in the order they happened.
            self.flush_notifies().await;
            self.drain().await;
            self.save_presence().await;
            self.inbound_flow = None;
        }
        tracing::info!("home server engine stopped");
    }

    async fn on_inbound(&mut self, Arrived(inbound, parsed): Arrived, is_request: bool) {
        let Some(flow) = inbound.flow else {
            tracing::warn!("inbound message without a flow dropped");
            return;
        };
        let transport = if flow::reliable(&flow) {
            herald_sip::Transport::Stream
        } else {
            herald_sip::Transport::Datagram
        };
        let received_at_us = inbound.received_at_us;
        let msg = match parsed {
            Some(m) => Ok(m),
            None => herald_sip::parse(inbound.raw, &self.limits, transport)
                .and_then(|m| m.validate().map(|()| m)),
        };
        let now = Instant::now();
        let flow = self.peers.share(flow);
        self.inbound_flow = Some(flow.clone());
        match msg {
            Err(e) => {
                tracing::info!(error = %e, remote = %flow.remote, "unparsable message from the front end dropped")
            }
            Ok(Message::Request(req))
                if is_request
                    && matches!(
                        req.method,
                        herald_sip::Method::Subscribe | herald_sip::Method::Publish
                    )
                    && self.fence.predates_ownership(received_at_us) =>
            {
                metrics::counter!("herald_presence_fenced_requests_total").increment(1);
                tracing::info!(method = %req.method.as_str(), remote = %flow.remote, "presence request received before this server regained ownership refused (503)");
                let r = crate::reply::unavailable(&req, &self.cfg);
                self.reply(&At::Stateless(FlowRef::clone(&flow)), r).await;
            }
            Ok(Message::Request(mut req)) if is_request => {
                // RFC 2543 requests (no magic-cookie branch) have no transaction here:
                // answered statelessly. Their ACKs still go to the layer, which reports them.
                let rfc3261 = match herald_sip::text::parse_socket_addr(&flow.remote) {
                    Some(source) => crate::via::mark_source(&mut req, source),
                    None => req.headers.top_via().is_ok_and(|v| v.is_rfc3261()),
                };
                if !rfc3261 && req.method != herald_sip::Method::Ack {
                    return self
                        .on_request(At::Stateless(FlowRef::clone(&flow)), req, Some(flow))
                        .await;
                }
                if req.method == herald_sip::Method::Register {
                    return self.register_arrived(req, flow, now).await;
                }
                let reliable = flow::reliable(&flow);
                if let Err(e) = self.txl.handle_request(req, flow, reliable, now) {
                    tracing::info!(error = ?e, "request refused by the transaction layer");
                }
            }
            Ok(Message::Response(resp)) if !is_request => self.txl.handle_response(resp, now),
            Ok(_) => tracing::warn!("front end sent a request as a response or the reverse"),
        }
    }

    async fn on_settled(&mut self, s: lanes::Settled) {
        match s {
            lanes::Settled::Registered(done) => self.register_done(done).await,
            lanes::Settled::Looked(looked) => self.looked_up(looked).await,
        }
    }

    /// Sends what the transaction layer produced and handles what it reported, until both
    /// are empty.
    async fn drain(&mut self) {
        loop {
            let mut busy = false;
            while let Some(t) = self.txl.poll_transmit() {
                busy = true;
                self.transmit(t).await;
            }
            while let Some(e) = self.txl.poll_event() {
                busy = true;
                self.on_event(e).await;
            }
            if !busy {
                return;
            }
        }
    }

    async fn transmit(&mut self, t: Transmit<Peer>) {
        // No NOTIFY from a server whose lease lapsed, nor later retransmissions of one
        // it had in flight then: the dialog may have moved on under another server.
        if self.is_notify(t.tx) && (!self.may_act() || self.fence.muted.contains(&t.tx)) {
            return;
        }
        let peer = Arc::unwrap_or_clone(t.peer);
        if let Err(status) = self.outbox.send(peer, t.bytes, Some(t.tx)).await {
            tracing::info!(tx = t.tx.0, %status, "flow gone");
            self.send_failed(t.tx);
        }
    }

    /// A message of transaction `tx` could not be sent: its flow is gone.
    fn send_failed(&mut self, tx: TxId) {
        tracing::debug!(tx = tx.0, "message not sent: transport error");
        self.txl.transport_error(tx);
    }

    /// Sends a message that belongs to no transaction.
    async fn send(&self, flow: FlowRef, raw: bytes::Bytes) -> Result<(), Status> {
        self.outbox.send(flow, raw, None).await
    }

    async fn on_event(&mut self, e: TxEvent) {
        match e {
            TxEvent::Request { tx, request } => {
                let flow = self.txl_peer(tx);
                self.on_request(At::Tx(tx), request, flow).await;
            }
            TxEvent::Response { tx, response } if self.is_notify(tx) => {
                self.on_notify_response(tx, response.status.as_u16())
            }
            TxEvent::Response { tx, response } => self.on_branch_response(tx, response).await,
            TxEvent::Timeout { tx } if self.is_notify(tx) => self.on_notify_response(tx, 408),
            TxEvent::TransportError { tx } if self.is_notify(tx) => {
                self.on_notify_response(tx, 430)
            }
            TxEvent::Ack { request, .. } => self.on_ack(request).await,
            TxEvent::StrayResponse { response } => {
                tracing::debug!(status = response.status.as_u16(), "stray response dropped");
            }
            TxEvent::Timeout { tx } => self.on_branch_failure(tx, 408).await,
            TxEvent::TransportError { tx } => self.on_branch_failure(tx, 430).await,
            TxEvent::Terminated { tx } => self.on_terminated(tx),
            _ => {}
        }
    }

    /// The flow a server transaction's request came over.
    fn txl_peer(&self, tx: TxId) -> Option<Peer> {
        self.txl.peer(tx).cloned()
    }

    /// Answers a request where it came from.
    async fn reply(&mut self, at: &At, resp: Response) {
        match at {
            At::Tx(tx) => {
                if let Err(e) = self.txl.respond(*tx, resp, Instant::now()) {
                    tracing::debug!(error = ?e, "response not sent");
                }
            }
            At::Stateless(flow) => {
                if let Err(status) = self.send(flow.clone(), resp.to_bytes()).await {
                    tracing::info!(%status, "stateless response not sent");
                }
            }
            At::Register(flow, key) => {
                let raw = resp.to_bytes();
                if let Some(key) = *key {
                    self.register_answered(key, resp.status, &raw);
                }
                if let Err(status) = self.send(FlowRef::clone(flow), raw).await {
                    tracing::info!(%status, "REGISTER response not sent");
                }
            }
        }
    }

    /// Answers a request with a response that may be repeated (a challenge) without
    /// keeping its transaction for Timer J (RFC 3261 §8.2.7); INVITEs keep theirs.
    async fn reply_statelessly(&mut self, at: &At, resp: Response) {
        match at {
            At::Tx(tx) => {
                if let Err(e) = self.txl.respond_statelessly(*tx, resp, Instant::now()) {
                    tracing::debug!(error = ?e, "response not sent");
                }
            }
            At::Stateless(_) | At::Register(..) => self.reply(at, resp).await,
        }
    }

    async fn sweep(&mut self) {
        match self.store.expire_bindings(now_secs()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "bindings expired"),
            Err(e) => tracing::error!(error = %e, "binding expiry failed"),
        }
        self.sweep_presence().await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
