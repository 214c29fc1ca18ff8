//! The front end's way to the home servers of a pool: the `Home` service, implemented by
//! picking for each message the home server that owns it — requests by their
//! address-of-record on the ring of live home servers, responses by the home server
//! named in their branch — and calling it over gRPC.
//!
//! A home server that cannot be connected to (its process died: the connection is
//! refused) is set aside at once for the membership TTL, and the request goes to the
//! next-ranked home server for its address — it never reached the first, so nothing is
//! done twice. Without this, its users would wait for its announcement to expire (2 s)
//! and the next membership poll. Registrations and messages can be served by any home
//! server (their state is in Redis and PostgreSQL); presence waits for the ring's
//! hand-over (see `run::follow_ownership`).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant},
};

use herald_frontend::route::{route, Route};
use herald_proto::v1::{
    home_client::HomeClient, home_server::Home, Accepted, AcceptedBatch, Inbound, InboundBatch,
    Transport as FlowTransport,
};
use herald_ring::{Member, Ring};
use herald_sip::{Limits, Transport};
use tonic::{transport::Channel, Request, Response, Status};

use super::{
    batch::Batcher,
    members::{Members, View as Membership, TTL},
};

/// How often membership is read.
const REFRESH: Duration = Duration::from_millis(250);
/// The deadline of one call to a home server.
pub(super) const DEADLINE: Duration = Duration::from_secs(2);

struct View {
    ring: Option<Ring>,
    clients: BTreeMap<String, (String, Batcher)>,
}

/// The live home servers and a client for each.
#[derive(Clone)]
pub struct Homes {
    view: Arc<RwLock<View>>,
    /// Home servers found unreachable, until when they are passed over.
    down: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Homes {
    /// Follows membership in Redis (and rebuilds the ring on every change).
    pub fn follow(members: Members) -> Homes {
        let homes = Homes {
            view: Arc::new(RwLock::new(View {
                ring: None,
                clients: BTreeMap::new(),
            })),
            down: Arc::default(),
        };
        let h = homes.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH);
            loop {
                tick.tick().await;
                match members.list("home").await {
                    Ok(live) => h.update(live),
                    Err(e) => tracing::warn!(error = %e, "home server membership not read"),
                }
            }
        });
        homes
    }

    /// Whether any home server is known.
    pub fn ready(&self) -> bool {
        self.read().ring.is_some()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, View> {
        self.view.read().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, membership: Membership) {
        let live: BTreeMap<String, String> = membership
            .members
            .into_iter()
            .map(|(id, n)| (id, n.addr))
            .collect();
        let same = {
            let v = self.read();
            v.clients.len() == live.len()
                && v.clients.iter().all(|(id, (a, _))| live.get(id) == Some(a))
        };
        if same {
            return;
        }
        let mut clients = BTreeMap::new();
        for (id, addr) in &live {
            let existing = self
                .read()
                .clients
                .get(id)
                .filter(|(a, _)| a == addr)
                .cloned();
            let client = match existing {
                Some(c) => c,
                None => match Channel::from_shared(format!("http://{addr}")) {
                    Ok(ch) => (
                        addr.clone(),
                        Batcher::new(HomeClient::new(ch.connect_lazy())),
                    ),
                    Err(e) => {
                        tracing::warn!(home = %id, %addr, error = %e, "bad home server address");
                        continue;
                    }
                },
            };
            clients.insert(id.clone(), client);
        }
        let ring = Ring::new(clients.keys().map(|id| Member::new(id.clone(), 1))).ok();
        tracing::info!(homes = ?clients.keys().collect::<Vec<_>>(), "home server ring changed");
        metrics::counter!("herald_ring_changes_total").increment(1);
        let mut v = self.view.write().unwrap_or_else(|e| e.into_inner());
        *v = View { ring, clients };
    }

    /// The home servers for `inbound`, best first: for a request, its address's ranking
    /// on the ring less those set aside (the owner only, when all are); for a response,
    /// the one named in its branch.
    fn pick(&self, inbound: &Inbound) -> Result<Vec<(String, Batcher)>, Status> {
        let transport = match inbound.flow.as_ref().map(|f| f.transport) {
            Some(t) if t == FlowTransport::Udp as i32 => Transport::Datagram,
            _ => Transport::Stream,
        };
        let r = herald_sip::parse(inbound.raw.clone(), &Limits::default(), transport)
            .map(|m| route(&m))
            .unwrap_or(Route::Any);
        let v = self.read();
        let ids: Vec<String> = match (&r, &v.ring) {
            (Route::Home(h), _) if v.clients.contains_key(h) => vec![h.clone()],
            (Route::Key(k), Some(ring)) => {
                ring.ranked(k).into_iter().map(|h| h.0.clone()).collect()
            }
            (_, Some(ring)) => ring.members().iter().map(|m| m.id.0.clone()).collect(),
            _ => Vec::new(),
        };
        let now = Instant::now();
        let down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        let up: Vec<&String> = ids
            .iter()
            .filter(|id| down.get(*id).is_none_or(|until| *until <= now))
            .collect();
        let chosen: Vec<&String> = if up.is_empty() {
            ids.iter().take(1).collect()
        } else {
            up
        };
        let out: Vec<_> = chosen
            .into_iter()
            .filter_map(|id| v.clients.get(id).map(|(_, c)| (id.clone(), c.clone())))
            .collect();
        if out.is_empty() {
            return Err(Status::unavailable("no home server"));
        }
        Ok(out)
    }

    /// Sets `home` aside for the membership TTL.
    fn set_aside(&self, home: &str, status: &Status) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        if down.insert(home.to_owned(), Instant::now() + TTL).is_none() {
            tracing::warn!(%home, %status, "home server unreachable: passed over until membership tells");
        }
    }

    /// Calls the first of `homes` that can be connected to; a home server whose
    /// connection failed in mid-call may have taken the message, so that one is not
    /// retried elsewhere (the client gets 503 and retransmits or retries).
    async fn call(
        &self,
        homes: Vec<(String, Batcher)>,
        inbound: Inbound,
        name: &'static str,
        retry: bool,
    ) -> Result<Response<Accepted>, Status> {
        let mut last = Status::unavailable("no home server");
        for (id, batcher) in homes.into_iter().take(if retry { 3 } else { 1 }) {
            let t = Instant::now();
            let r = batcher
                .submit(inbound.clone(), name == "handle_response")
                .await
                .map(|()| Response::new(Accepted {}));
            observe(name, t, &r);
            match r {
                Err(s) if s.code() == tonic::Code::Unavailable => {
                    self.set_aside(&id, &s);
                    if !never_sent(&s) {
                        return Err(s);
                    }
                    last = s;
                }
                r => return r,
            }
        }
        Err(last)
    }
}

/// Whether a failed call never reached the server (the connection was refused).
fn never_sent(status: &Status) -> bool {
    let mut e: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(status);
    while let Some(err) = e {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        e = err.source();
    }
    false
}

#[tonic::async_trait]
impl Home for Homes {
    async fn handle_request(&self, req: Request<Inbound>) -> Result<Response<Accepted>, Status> {
        let inbound = req.into_inner();
        let homes = self.pick(&inbound)?;
        self.call(homes, inbound, "handle_request", true).await
    }

    async fn handle_response(&self, req: Request<Inbound>) -> Result<Response<Accepted>, Status> {
        let inbound = req.into_inner();
        let homes = self.pick(&inbound)?;
        self.call(homes, inbound, "handle_response", false).await
    }

    async fn handle_batch(
        &self,
        req: Request<InboundBatch>,
    ) -> Result<Response<AcceptedBatch>, Status> {
        Ok(Response::new(
            herald_proto::handle_each(self, req.into_inner()).await,
        ))
    }
}

/// gRPC call latency and failures, by call.
pub(super) fn observe<T>(call: &'static str, started: std::time::Instant, r: &Result<T, Status>) {
    metrics::histogram!("herald_grpc_seconds", "call" => call)
        .record(started.elapsed().as_secs_f64());
    if r.is_err() {
        metrics::counter!("herald_grpc_errors_total", "call" => call).increment(1);
    }
}
