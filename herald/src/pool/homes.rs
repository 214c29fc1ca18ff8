//! The front end's way to the home servers of a pool: the `Home` service, implemented by
//! picking for each message the home server that owns it — requests by their
//! address-of-record on the ring of live home servers, responses by the home server
//! named in their branch — and calling it over gRPC.

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use herald_frontend::route::{route, Route};
use herald_proto::v1::{
    home_client::HomeClient, home_server::Home, Accepted, Inbound, Transport as FlowTransport,
};
use herald_ring::{Member, Ring};
use herald_sip::{Limits, Transport};
use tonic::{transport::Channel, Request, Response, Status};

use super::members::Members;

/// How often membership is read.
const REFRESH: Duration = Duration::from_millis(250);
/// The deadline of one call to a home server.
const DEADLINE: Duration = Duration::from_secs(2);

struct View {
    ring: Option<Ring>,
    clients: BTreeMap<String, (String, HomeClient<Channel>)>,
}

/// The live home servers and a client for each.
#[derive(Clone)]
pub struct Homes {
    view: Arc<RwLock<View>>,
}

impl Homes {
    /// Follows membership in Redis (and rebuilds the ring on every change).
    pub fn follow(members: Members) -> Homes {
        let homes = Homes {
            view: Arc::new(RwLock::new(View {
                ring: None,
                clients: BTreeMap::new(),
            })),
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

    fn update(&self, live: BTreeMap<String, String>) {
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
                    Ok(ch) => (addr.clone(), HomeClient::new(ch.connect_lazy())),
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

    /// The client of the home server for `inbound`.
    fn pick(&self, inbound: &Inbound) -> Result<HomeClient<Channel>, Status> {
        let transport = match inbound.flow.as_ref().map(|f| f.transport) {
            Some(t) if t == FlowTransport::Udp as i32 => Transport::Datagram,
            _ => Transport::Stream,
        };
        let r = herald_sip::parse(inbound.raw.clone(), &Limits::default(), transport)
            .map(|m| route(&m))
            .unwrap_or(Route::Any);
        let v = self.read();
        let id = match (&r, &v.ring) {
            (Route::Home(h), _) if v.clients.contains_key(h) => Some(h.clone()),
            (Route::Key(k), Some(ring)) => ring.owner(k).map(|h| h.0.clone()),
            (_, Some(ring)) => ring.members().first().map(|m| m.id.0.clone()),
            _ => None,
        };
        id.and_then(|id| v.clients.get(&id).map(|(_, c)| c.clone()))
            .ok_or_else(|| Status::unavailable("no home server"))
    }
}

fn with_deadline(inbound: Inbound) -> Request<Inbound> {
    let mut req = Request::new(inbound);
    req.set_timeout(DEADLINE);
    req
}

#[tonic::async_trait]
impl Home for Homes {
    async fn handle_request(&self, req: Request<Inbound>) -> Result<Response<Accepted>, Status> {
        let inbound = req.into_inner();
        let mut client = self.pick(&inbound)?;
        let t = std::time::Instant::now();
        let r = client.handle_request(with_deadline(inbound)).await;
        observe("handle_request", t, &r);
        r
    }

    async fn handle_response(&self, req: Request<Inbound>) -> Result<Response<Accepted>, Status> {
        let inbound = req.into_inner();
        let mut client = self.pick(&inbound)?;
        let t = std::time::Instant::now();
        let r = client.handle_response(with_deadline(inbound)).await;
        observe("handle_response", t, &r);
        r
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
