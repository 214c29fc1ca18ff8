//! Starting and stopping a pool node.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use herald_frontend::{Bound, Listeners};
use herald_homeserver::{store::cache::CachedStore, HomeServer, Lease, Ownership};
use herald_proto::v1::{edge_server::EdgeServer, home_server::HomeServer as HomeService};
use herald_ring::{Member, Ring};
use tokio::sync::watch;
use tonic::service::Routes;

use super::{edges::Edges, homes::Homes, members::Members};
use crate::{
    admin,
    config::{Config, StoreKind},
    http, server,
};

/// How many UDP messages a front end may have on their way to home servers at once.
const UDP_IN_FLIGHT: usize = 4096;

/// Where a pool node listens, once it does.
pub struct NodeReady<'a> {
    pub grpc: SocketAddr,
    pub http: Option<SocketAddr>,
    /// The SIP listeners (front ends).
    pub bound: Option<&'a Bound>,
    pub host: String,
}

fn redis_of(cfg: &Config) -> anyhow::Result<(String, String)> {
    match &cfg.store {
        StoreKind::Pool {
            redis_url,
            redis_prefix,
            ..
        } => Ok((redis_url.clone(), redis_prefix.clone())),
        StoreKind::Embedded => anyhow::bail!(
            "HERALD_STORE: a pool node needs HERALD_STORE=pool (with HERALD_POSTGRES_URL and HERALD_REDIS_URL)"
        ),
    }
}

fn advertised_grpc(cfg: &Config) -> String {
    cfg.node.grpc_advertise.clone().unwrap_or_else(|| {
        let a = cfg.node.grpc;
        if a.ip().is_unspecified() {
            let ip = server::outward_ip().map_or_else(|| "127.0.0.1".into(), |ip| ip.to_string());
            format!("{ip}:{}", a.port())
        } else {
            a.to_string()
        }
    })
}

/// A home server: engine + store + `Home` over gRPC + the admin API.
pub async fn run_homeserver(
    cfg: Config,
    shutdown: impl Future<Output = ()>,
    on_ready: impl FnOnce(&NodeReady<'_>),
) -> anyhow::Result<()> {
    let (redis_url, prefix) = redis_of(&cfg)?;
    let http_listener = http::ops_listener(cfg.http).await?;
    let members = Members::connect(&redis_url, &prefix).await?;
    let (store, writer) = CachedStore::new(crate::store::open(&cfg).await?).await?;
    let store: Arc<dyn herald_homeserver::store::Store> =
        Arc::new(store.with_bindings_written_through());
    // The pool's public SIP addresses (its load balancer or front ends) go in Via and
    // Record-Route.
    let bound = Bound {
        udp: cfg.udp,
        tcp: cfg.tcp,
        tls: cfg.tls,
        ws: cfg.ws,
        wss: cfg.wss,
    };
    let host = server::advertise_host(&cfg, &bound);
    let mut home_cfg = server::home_config(&cfg, &bound, &host);
    home_cfg.home_id = cfg.node.id.clone();
    home_cfg.presence_by_ownership = true;
    home_cfg.edge_is_remote = true;
    home_cfg.store_is_remote = true;
    let lease = Lease::new();
    home_cfg.lease = Some(lease.clone());
    let edges = Edges::new(members.clone());
    let (home, engine) = HomeServer::start(home_cfg, store.clone(), edges);
    let api = herald_api::router(admin::state(&cfg, store.clone(), home.clone(), None)?);
    let (stop_tx, stop_rx) = watch::channel(false);
    let ready = http::Readiness::default();
    let http_addr = http_listener.as_ref().and_then(|l| l.local_addr().ok());
    let ops = http_listener.map(|l| {
        let app = http::ops_router(ready.clone()).merge(api);
        tokio::spawn(http::serve_router(l, app, stop_rx.clone()))
    });
    let grpc = cfg.node.grpc;
    let grpc_task = serve_grpc(
        Routes::new(HomeService::new(home.clone())),
        grpc,
        stop_rx.clone(),
    )?;
    let announce = members.announce(
        "home",
        cfg.node.id.clone(),
        advertised_grpc(&cfg),
        Some(lease.clone()),
    );
    let following = follow_ownership(members.clone(), home.clone(), cfg.node.id.clone(), lease);
    ready.set(true);
    on_ready(&NodeReady {
        grpc,
        http: http_addr,
        bound: None,
        host,
    });
    shutdown.await;
    tracing::info!("home server stopping");
    ready.set(false);
    announce.abort();
    following.abort();
    members.withdraw("home", &cfg.node.id).await;
    let _ = stop_tx.send(true);
    for t in [Some(grpc_task), ops].into_iter().flatten() {
        let _ = t.await;
    }
    drop(home);
    let _ = tokio::time::timeout(Duration::from_secs(5), engine).await;
    drop(store);
    if tokio::time::timeout(Duration::from_secs(10), writer)
        .await
        .is_err()
    {
        tracing::error!("store writes still pending at exit");
    }
    Ok(())
}

/// Serves `routes` over gRPC on `addr` until `stop` turns true. The port is bound before
/// this returns: a node that cannot serve gRPC stops instead of announcing an address
/// where something else answers.
fn serve_grpc(
    routes: Routes,
    addr: SocketAddr,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let incoming = tonic::transport::server::TcpIncoming::bind(addr)
        .with_context(|| format!("cannot listen for gRPC on {addr} (HERALD_GRPC)"))?
        .with_nodelay(Some(true));
    Ok(tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.changed().await;
        };
        if let Err(e) = tonic::transport::Server::builder()
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, stopped)
            .await
        {
            tracing::error!(error = %e, %addr, "gRPC server (HERALD_GRPC) failed");
        }
    }))
}

/// Hands presentities over on every membership epoch, in two steps (see
/// `herald_homeserver::Ownership`): release what the new ring no longer gives this server
/// and acknowledge the epoch; once every live home server has acknowledged it, adopt what
/// it gained. After a lapse of the lease the current epoch is applied afresh.
fn follow_ownership(
    members: Members,
    home: HomeServer,
    me: String,
    lease: Lease,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // (epoch, lapses) applied, and whether its adoption is done.
        let mut applied: Option<(u64, u64)> = None;
        let mut adopted = false;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            let view = match members.list("home").await {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e, "membership not read");
                    continue;
                }
            };
            // Not announced (yet, or any more): owning nothing is not the same as not
            // being in the ring.
            if !view.members.contains_key(&me) || !lease.holds() {
                continue;
            }
            let Ok(ring) = Ring::new(view.members.keys().map(|id| Member::new(id.clone(), 1)))
            else {
                continue;
            };
            let mine = me.clone();
            let owns: herald_homeserver::Owns =
                Arc::new(move |aor| ring.owner(aor.as_str()).is_some_and(|h| h.0 == mine));
            let now = (view.epoch, lease.lapses());
            if applied != Some(now) {
                if home.set_ownership(Ownership::Release(owns)).await.is_err() {
                    return;
                }
                if let Err(e) = members.acknowledge("home", &me, view.epoch).await {
                    tracing::warn!(error = %e, "ring epoch not acknowledged");
                    continue;
                }
                tracing::info!(epoch = view.epoch, homes = ?view.members.keys().collect::<Vec<_>>(), "ring epoch applied");
                applied = Some(now);
                adopted = false;
            } else if !adopted && view.settled() {
                if home.set_ownership(Ownership::Adopt(owns)).await.is_err() {
                    return;
                }
                adopted = true;
            }
        }
    })
}

/// A front end: SIP listeners + `Edge` over gRPC, messages to the ring's home servers.
pub async fn run_frontend(
    cfg: Config,
    shutdown: impl Future<Output = ()>,
    on_ready: impl FnOnce(&NodeReady<'_>),
) -> anyhow::Result<()> {
    let (redis_url, prefix) = redis_of(&cfg)?;
    let http_listener = http::ops_listener(cfg.http).await?;
    std::fs::create_dir_all(&cfg.data_dir)?;
    let members = Members::connect(&redis_url, &prefix).await?;
    let mut fe = server::frontend_config(&cfg);
    fe.id = cfg.node.id.clone();
    fe.udp_in_flight = UDP_IN_FLIGHT;
    let listeners = Listeners::bind(fe).await?;
    let bound = listeners.bound().clone();
    let host = server::advertise_host(&cfg, &bound);
    let homes = Homes::follow(members.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let ready = http::Readiness::default();
    let http_addr = http_listener.as_ref().and_then(|l| l.local_addr().ok());
    let ops = http_listener.map(|l| {
        tokio::spawn(http::serve_router(
            l,
            http::ops_router(ready.clone()),
            stop_rx.clone(),
        ))
    });
    let grpc = cfg.node.grpc;
    let grpc_task = serve_grpc(
        Routes::new(EdgeServer::from_arc(listeners.flows())),
        grpc,
        stop_rx.clone(),
    )?;
    let announce = members.announce("fe", cfg.node.id.clone(), advertised_grpc(&cfg), None);
    // Ready once a home server is known (a load balancer sends nothing before).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !homes.ready() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let serving = tokio::spawn(listeners.serve(Arc::new(homes), stop_rx));
    ready.set(true);
    on_ready(&NodeReady {
        grpc,
        http: http_addr,
        bound: Some(&bound),
        host,
    });
    shutdown.await;
    tracing::info!("front end stopping");
    ready.set(false);
    announce.abort();
    members.withdraw("fe", &cfg.node.id).await;
    let _ = stop_tx.send(true);
    for t in [Some(grpc_task), ops, Some(serving)].into_iter().flatten() {
        let _ = t.await;
    }
    Ok(())
}
