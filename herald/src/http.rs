//! The operations HTTP listener: Prometheus `/metrics`, `/healthz` (the process answers)
//! and `/readyz` (serving SIP; 503 while starting or draining, so a load balancer stops
//! sending before shutdown).

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, OnceLock,
    },
    time::Duration,
};

use axum::{extract::State, http::StatusCode, routing::get, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::{net::TcpListener, sync::watch};

/// Whether the server is ready for traffic.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Relaxed);
    }

    fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The process-wide Prometheus recorder (installed on first use).
pub fn prometheus() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => {
                let upkeep = h.clone();
                std::thread::Builder::new()
                    .name("metrics-upkeep".into())
                    .spawn(move || loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    })
                    .ok();
                Some(h)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .clone()
}

/// The operations listener (`HERALD_HTTP`), bound before anything else starts, with the
/// Prometheus recorder installed; `None` when turned off.
pub async fn ops_listener(addr: Option<SocketAddr>) -> anyhow::Result<Option<TcpListener>> {
    prometheus();
    match addr {
        Some(a) => Ok(Some(bind(a, "HERALD_HTTP").await?)),
        None => Ok(None),
    }
}

/// Binds a listener (so a bad address fails before anything else starts); `setting`
/// names it in the error.
pub async fn bind(addr: SocketAddr, setting: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot bind the HTTP listener ({setting}) on {addr}: {e}"))
}

#[derive(Clone)]
struct Ops {
    ready: Readiness,
    metrics: Option<PrometheusHandle>,
}

/// The operations routes: `/healthz`, `/readyz`, `/metrics`.
pub fn ops_router(ready: Readiness) -> Router {
    let ops = Ops {
        ready,
        metrics: prometheus(),
    };
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ops)
}

/// Connections the HTTPS listener holds at once.
const MAX_HTTPS_CONNECTIONS: usize = 1024;

/// Serves `app` over TLS (HTTP/1.1) until `shutdown` turns true.
pub async fn serve_router_tls(
    listener: TcpListener,
    app: Router,
    tls: tokio_rustls::TlsAcceptor,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let (sock, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "HTTPS accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        if conns.len() >= MAX_HTTPS_CONNECTIONS {
            tracing::warn!(%peer, "HTTPS connection refused: too many open");
            continue;
        }
        let (tls, app) = (tls.clone(), app.clone());
        conns.spawn(async move {
            let stream = match tokio::time::timeout(Duration::from_secs(10), tls.accept(sock)).await
            {
                Ok(Ok(s)) => s,
                _ => return tracing::debug!(%peer, "HTTPS handshake failed"),
            };
            let app = app.layer(axum::Extension(axum::extract::ConnectInfo(peer)));
            let service = hyper_util::service::TowerToHyperService::new(app);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "HTTPS connection ended");
            }
        });
        while conns.try_join_next().is_some() {}
    }
    conns.abort_all();
}

/// Serves `app` on `listener` until `shutdown` turns true.
pub async fn serve_router(listener: TcpListener, app: Router, mut shutdown: watch::Receiver<bool>) {
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    // The peer's address reaches handlers (XCAP counts failures per source).
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    if let Err(e) = axum::serve(listener, service)
        .with_graceful_shutdown(stop)
        .await
    {
        tracing::error!(error = %e, "HTTP listener failed");
    }
}

async fn readyz(State(ops): State<Ops>) -> (StatusCode, &'static str) {
    if ops.ready.get() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn metrics(State(ops): State<Ops>) -> (StatusCode, String) {
    match &ops.metrics {
        Some(h) => (StatusCode::OK, h.render()),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed\n".into(),
        ),
    }
}
