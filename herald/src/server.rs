//! The embedded edition: front end and home server in one process, wired in-process
//! through the generated `Home` and `Edge` traits, on the SQLite store.

use std::{
    collections::HashMap,
    future::Future,
    net::{IpAddr, SocketAddr, UdpSocket},
    sync::Arc,
    time::Duration,
};

use herald_frontend::{Bound, FrontendConfig, Listeners};
use herald_homeserver::{config::HomeConfig, store::cache::CachedStore, HomeServer};
use herald_proto::v1::Transport;
use tokio::sync::watch;

use crate::{admin, config::Config, http};

/// Where the server listens, once it does.
pub struct Ready<'a> {
    pub bound: &'a Bound,
    /// The host put in Via and Record-Route.
    pub host: &'a str,
    /// Metrics, health (and the admin API unless it has a listener of its own).
    pub http: Option<SocketAddr>,
    pub xcap: Option<SocketAddr>,
    /// The admin API's base URL.
    pub api: Option<String>,
}

/// Opens the store, binds every listener, prints where clients should connect, and serves
/// until `shutdown` completes. `on_ready` gets the bound addresses.
pub async fn run(
    cfg: Config,
    shutdown: impl Future<Output = ()>,
    on_ready: impl FnOnce(&Ready<'_>),
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create data directory {}: {e}",
            cfg.data_dir.display()
        )
    })?;
    let http_listener = http::ops_listener(cfg.http).await?;
    let api_listener = match cfg.admin.api {
        Some(addr) => Some(http::bind(addr, "HERALD_API").await?),
        None => None,
    };
    let api_tls = match &cfg.admin.api_tls {
        Some(pair) => Some(herald_frontend::tls_acceptor(Some(pair), None)?),
        None => None,
    };
    let (store, writer) = CachedStore::new(crate::store::open(&cfg).await?).await?;
    let store = match cfg.store {
        crate::config::StoreKind::Pool { .. } => store.with_bindings_written_through(),
        crate::config::StoreKind::Embedded => {
            let mut store = store;
            let (bindings, waiting) = store.warm().await?;
            tracing::info!(
                bindings,
                waiting,
                "bindings and stored-message recipients read into memory"
            );
            store
        }
    };
    let listeners = Listeners::bind(frontend_config(&cfg)).await?;
    let bound = listeners.bound().clone();
    let host = advertise_host(&cfg, &bound);
    let home_cfg = home_config(&cfg, &bound, &host);
    let store: Arc<dyn herald_homeserver::store::Store> = Arc::new(store);
    let (home, engine) = HomeServer::start(home_cfg.clone(), store.clone(), listeners.flows());
    let api_state = admin::state(&cfg, store.clone(), home.clone(), Some(listeners.flows()))?;
    let retention = admin::retention(api_state.clone(), cfg.admin.archive_retention_days);
    let api = herald_api::router(api_state);
    let xcap_listener = match cfg.xcap {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            anyhow::anyhow!("cannot bind the XCAP listener (HERALD_XCAP) on {addr}: {e}")
        })?),
        None => None,
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let ready = http::Readiness::default();
    let http_addr = http_listener.as_ref().and_then(|l| l.local_addr().ok());
    let scheme = if api_tls.is_some() { "https" } else { "http" };
    let api_addr = match &api_listener {
        Some(l) => l.local_addr().ok(),
        None => http_addr,
    };
    let mut ops_app = http::ops_router(ready.clone());
    let mut api_app = Some(api);
    // Tokens must not cross a network in clear: on a plain HTTP listener beyond loopback
    // (one opened for a load balancer's health checks) the API is not served.
    let shared_ok = api_tls.is_some() || http_addr.is_some_and(|a| a.ip().is_loopback());
    let mut api_addr = api_addr;
    if api_listener.is_none() {
        if shared_ok {
            ops_app = ops_app.merge(api_app.take().unwrap_or_default());
        } else if http_addr.is_none() {
            tracing::info!("admin API not served: neither HERALD_HTTP nor HERALD_API is set");
            api_addr = None;
        } else {
            tracing::warn!(
                "admin API not served: HERALD_HTTP listens beyond loopback without TLS; \
                 give it HERALD_API (with HERALD_API_TLS_CERT/KEY)"
            );
            api_addr = None;
        }
    }
    let serve = |l, app, tls: Option<tokio_rustls::TlsAcceptor>| match tls {
        Some(t) => tokio::spawn(http::serve_router_tls(l, app, t, stop_rx.clone())),
        None => tokio::spawn(http::serve_router(l, app, stop_rx.clone())),
    };
    let (ops_tls, own_tls) = match &api_listener {
        Some(_) => (None, api_tls),
        None => (api_tls, None),
    };
    let ops = http_listener.map(|l| serve(l, ops_app, ops_tls));
    let api_task = api_listener.map(|l| serve(l, api_app.unwrap_or_default(), own_tls));
    let xcap_addr = xcap_listener.as_ref().and_then(|l| l.local_addr().ok());
    let xcap = xcap_listener.map(|l| {
        let app = herald_homeserver::xcap::router(store.clone(), home.clone(), &home_cfg);
        tokio::spawn(http::serve_router(l, app, stop_rx.clone()))
    });
    let serving = tokio::spawn(listeners.serve(Arc::new(home), stop_rx));
    ready.set(true);
    on_ready(&Ready {
        bound: &bound,
        host: &host,
        http: http_addr,
        xcap: xcap_addr,
        api: api_addr.map(|a| format!("{scheme}://{a}")),
    });
    shutdown.await;
    tracing::info!("shutting down");
    ready.set(false);
    let _ = stop_tx.send(true);
    retention.abort();
    for task in [ops, xcap, api_task].into_iter().flatten() {
        let _ = task.await;
    }
    let _ = serving.await;
    // The engine ends when the last handle (held by the listeners) is gone; then the
    // store's write-behind queue drains.
    let _ = tokio::time::timeout(Duration::from_secs(5), engine).await;
    // The write-behind task ends when the last handle on the store is gone.
    drop(store);
    if tokio::time::timeout(Duration::from_secs(10), writer)
        .await
        .is_err()
    {
        tracing::error!("store writes still pending at exit");
    }
    Ok(())
}

pub(crate) fn frontend_config(cfg: &Config) -> FrontendConfig {
    let mut fe = FrontendConfig::loopback();
    fe.udp = cfg.udp;
    fe.tcp = cfg.tcp;
    fe.tls = cfg.tls;
    fe.ws = cfg.ws;
    fe.wss = cfg.wss;
    fe.tls_cert = cfg.tls_cert.clone();
    fe.dev_cert_dir = Some(cfg.data_dir.clone());
    fe.ws_origins = cfg.ws_origins.clone();
    fe.edge = cfg.limits.edge;
    fe
}

pub(crate) fn home_config(cfg: &Config, bound: &Bound, host: &str) -> HomeConfig {
    let mut h = HomeConfig::for_domain(&cfg.domain);
    let host_part = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    h.advertise = bound
        .each()
        .into_iter()
        .map(|(t, a)| (t, format!("{host_part}:{}", a.port())))
        .collect::<HashMap<Transport, String>>();
    h.local_hosts.push(host_part);
    for (_, a) in bound.each() {
        if !a.ip().is_unspecified() {
            h.local_hosts.push(match a.ip() {
                IpAddr::V6(v6) => format!("[{v6}]"),
                IpAddr::V4(v4) => v4.to_string(),
            });
        }
    }
    if let Some(secret) = cfg.nonce_secret {
        h.nonce_secret = secret;
    }
    h.min_expires = cfg.min_expires;
    h.max_expires = cfg.max_expires;
    h.default_expires = cfg.default_expires;
    h.max_message_body = cfg.max_message_body;
    h.archive = cfg.admin.archive;
    h.bans = cfg.limits.bans;
    h.presence = cfg.presence;
    h.auth_algorithms = cfg.auth_algorithms.clone();
    h.auth_check_uri = cfg.auth_check_uri;
    h.server_header = cfg
        .server_header
        .then(|| format!("Herald/{}", env!("CARGO_PKG_VERSION")));
    h
}

/// The host for Via and Record-Route: configured, else the listen address, else (for a
/// wildcard listener) the address this machine uses to reach the outside, else loopback.
pub(crate) fn advertise_host(cfg: &Config, bound: &Bound) -> String {
    if let Some(a) = &cfg.advertise {
        return a.clone();
    }
    let ip = bound.each().first().map(|(_, a)| a.ip());
    match ip {
        Some(ip) if !ip.is_unspecified() => ip.to_string(),
        _ => outward_ip().map_or_else(|| "127.0.0.1".into(), |ip| ip.to_string()),
    }
}

/// The source address the kernel would pick for an outside destination (no packet sent).
pub(crate) fn outward_ip() -> Option<IpAddr> {
    let s = UdpSocket::bind(SocketAddr::from(([0, 0, 0, 0], 0))).ok()?;
    s.connect(SocketAddr::from(([192, 0, 2, 1], 9))).ok()?;
    s.local_addr()
        .ok()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_unspecified())
}

/// The lines printed at start: one per listener, as a SIP URI a client can use.
pub fn listener_lines(bound: &Bound, host: &str) -> Vec<String> {
    bound
        .each()
        .into_iter()
        .map(|(t, a)| {
            let name = t.short_name();
            let shown = if a.ip().is_unspecified() {
                format!("{host}:{}", a.port())
            } else {
                a.to_string()
            };
            format!("listening {name} {shown} ({a})")
        })
        .collect()
}
