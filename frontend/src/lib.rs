//! # herald-frontend
//!
//! The SIP edge: UDP, TCP, TLS, WebSocket and secure WebSocket listeners, the flow table,
//! and the check-and-forward step that hands each message to a home server through the
//! generated `Home` service trait. Home servers send back through the `Edge` trait, which
//! [`FlowTable`] implements. The front end keeps no user state.

mod budget;
pub mod config;
mod flows;
mod ingress;
pub mod route;
mod stream;
mod throttle;
mod tls;
mod udp;
mod ws;

use std::{net::SocketAddr, sync::Arc};

use herald_proto::v1::{home_server::Home, Transport};
use tokio::{
    net::{TcpListener, TcpStream, UdpSocket},
    sync::watch,
    task::JoinSet,
};
use tokio_rustls::TlsAcceptor;

pub use budget::SourceBudget;
pub use config::{EdgeLimits, FrontendConfig};
pub use flows::{ConnInfo, FlowTable, Refused};
pub use ingress::Ingress;
pub use tls::acceptor as tls_acceptor;

/// A failure to start the front end; the message names the listener or file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrontendError {
    #[error("cannot bind {transport} on {addr}: {source}")]
    Bind {
        transport: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS: {0}")]
    Tls(String),
}

/// The addresses actually bound (port 0 resolved).
#[derive(Debug, Clone, Default)]
pub struct Bound {
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    pub tls: Option<SocketAddr>,
    pub ws: Option<SocketAddr>,
    pub wss: Option<SocketAddr>,
}

impl Bound {
    /// `(transport, address)` for every listener.
    pub fn each(&self) -> Vec<(Transport, SocketAddr)> {
        [
            (Transport::Udp, self.udp),
            (Transport::Tcp, self.tcp),
            (Transport::Tls, self.tls),
            (Transport::Ws, self.ws),
            (Transport::Wss, self.wss),
        ]
        .into_iter()
        .filter_map(|(t, a)| a.map(|a| (t, a)))
        .collect()
    }
}

/// Most source addresses with a request budget of their own (about 64 bytes each).
const BUDGET_SOURCES: usize = 100_000;

/// Bound listeners, not yet serving.
pub struct Listeners {
    cfg: Arc<FrontendConfig>,
    udp: Option<Arc<UdpSocket>>,
    tcp: Option<TcpListener>,
    tls: Option<TcpListener>,
    ws: Option<TcpListener>,
    wss: Option<TcpListener>,
    acceptor: Option<TlsAcceptor>,
    flows: Arc<FlowTable>,
    bound: Bound,
}

/// A UDP socket with large buffers (set before bind, as the kernel wants).
fn bind_udp(addr: SocketAddr, buffer: usize) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Best effort: the kernel may cap these; a smaller buffer still works.
    let _ = s.set_recv_buffer_size(buffer);
    let _ = s.set_send_buffer_size(buffer);
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    UdpSocket::from_std(s.into())
}

async fn bind_tcp(
    t: &'static str,
    addr: Option<SocketAddr>,
) -> Result<Option<TcpListener>, FrontendError> {
    let Some(addr) = addr else { return Ok(None) };
    TcpListener::bind(addr)
        .await
        .map(Some)
        .map_err(|source| FrontendError::Bind {
            transport: t,
            addr,
            source,
        })
}

impl Listeners {
    /// Binds every configured listener (and loads or generates the TLS certificate).
    pub async fn bind(cfg: FrontendConfig) -> Result<Listeners, FrontendError> {
        let flows = Arc::new(FlowTable::new(
            &cfg.id,
            cfg.edge.max_connections,
            cfg.edge.max_connections_per_ip,
            cfg.max_queued_per_connection,
        ));
        let udp = match cfg.udp {
            Some(addr) => Some(Arc::new(bind_udp(addr, cfg.udp_buffer).map_err(
                |source| FrontendError::Bind {
                    transport: "udp",
                    addr,
                    source,
                },
            )?)),
            None => None,
        };
        if let Some(s) = &udp {
            flows.set_udp(s.clone());
        }
        let tcp = bind_tcp("tcp", cfg.tcp).await?;
        let tls = bind_tcp("tls", cfg.tls).await?;
        let ws = bind_tcp("ws", cfg.ws).await?;
        let wss = bind_tcp("wss", cfg.wss).await?;
        let acceptor = if tls.is_some() || wss.is_some() {
            Some(tls::acceptor(
                cfg.tls_cert.as_ref(),
                cfg.dev_cert_dir.as_deref(),
            )?)
        } else {
            None
        };
        let local = |l: &Option<TcpListener>| l.as_ref().and_then(|l| l.local_addr().ok());
        let bound = Bound {
            udp: udp.as_ref().and_then(|s| s.local_addr().ok()),
            tcp: local(&tcp),
            tls: local(&tls),
            ws: local(&ws),
            wss: local(&wss),
        };
        Ok(Listeners {
            cfg: Arc::new(cfg),
            udp,
            tcp,
            tls,
            ws,
            wss,
            acceptor,
            flows,
            bound,
        })
    }

    pub fn bound(&self) -> &Bound {
        &self.bound
    }

    /// The flow table, which is also the `Edge` home servers send through.
    pub fn flows(&self) -> Arc<FlowTable> {
        self.flows.clone()
    }

    /// Serves until `shutdown` turns true; returns when every listener has stopped.
    pub async fn serve(self, home: Arc<dyn Home>, shutdown: watch::Receiver<bool>) {
        let budget = SourceBudget::new(
            self.cfg.edge.rate_per_source,
            self.cfg.edge.burst_per_source,
            BUDGET_SOURCES,
        );
        let ingress = Arc::new(Ingress::new(home, budget));
        let mut tasks = JoinSet::new();
        if let Some(s) = self.udp.clone() {
            tasks.spawn(udp::serve(
                s,
                self.flows.clone(),
                ingress.clone(),
                self.cfg.limits,
                self.cfg.udp_in_flight,
                shutdown.clone(),
            ));
        }
        let ctx = Arc::new(Ctx {
            cfg: self.cfg.clone(),
            flows: self.flows.clone(),
            ingress,
            acceptor: self.acceptor.clone(),
            origins: Arc::new(self.cfg.ws_origins.clone()),
            shutdown: shutdown.clone(),
        });
        for (listener, transport) in [
            (self.tcp, Transport::Tcp),
            (self.tls, Transport::Tls),
            (self.ws, Transport::Ws),
            (self.wss, Transport::Wss),
        ] {
            if let Some(l) = listener {
                tasks.spawn(accept_loop(l, transport, ctx.clone()));
            }
        }
        while tasks.join_next().await.is_some() {}
    }
}

struct Ctx {
    cfg: Arc<FrontendConfig>,
    flows: Arc<FlowTable>,
    ingress: Arc<ingress::Ingress>,
    acceptor: Option<TlsAcceptor>,
    origins: Arc<Vec<String>>,
    shutdown: watch::Receiver<bool>,
}

async fn accept_loop(listener: TcpListener, transport: Transport, ctx: Arc<Ctx>) {
    let mut shutdown = ctx.shutdown.clone();
    let mut conns = JoinSet::new();
    loop {
        let (sock, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let (guard, rx) = match ctx.flows.admit(remote, transport) {
            Ok(x) => x,
            Err(why) => {
                // Per connection at debug level: under attack these come by the thousand;
                // the metric counts them.
                tracing::debug!(%remote, reason = %why, "connection refused");
                ingress::refused(match why {
                    Refused::TooManyConnections => "connection_limit",
                    Refused::TooManyFromAddress => "connection_limit_per_source",
                });
                continue;
            }
        };
        let _ = sock.set_nodelay(true);
        let conn = stream::Conn {
            guard,
            rx,
            transport,
            remote,
        };
        conns.spawn(connection(sock, conn, ctx.clone()));
        while conns.try_join_next().is_some() {}
    }
    conns.shutdown().await;
}

async fn connection(sock: TcpStream, conn: stream::Conn, ctx: Arc<Ctx>) {
    let cfg = &ctx.cfg;
    let (flows, ingress, sd) = (ctx.flows.clone(), ctx.ingress.clone(), ctx.shutdown.clone());
    let (limits, hs) = (cfg.limits, cfg.edge.handshake_timeout);
    let (idle, message) = (cfg.edge.idle_timeout, cfg.edge.message_timeout);
    if matches!(conn.transport, Transport::Tcp | Transport::Ws) {
        if conn.transport == Transport::Ws {
            let origins = ctx.origins.clone();
            return ws::serve(sock, conn, flows, ingress, limits, origins, idle, hs, sd).await;
        }
        return stream::serve(sock, conn, flows, ingress, limits, (idle, message), sd).await;
    }
    let Some(acceptor) = ctx.acceptor.clone() else {
        return;
    };
    let tls = match tokio::time::timeout(hs, acceptor.accept(sock)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            ingress::refused("tls_handshake_failed");
            return tracing::debug!(remote = %conn.remote, error = %e, "TLS handshake failed");
        }
        Err(_) => {
            ingress::refused("handshake_timeout");
            return tracing::debug!(remote = %conn.remote, "TLS handshake timed out");
        }
    };
    if conn.transport == Transport::Wss {
        let origins = ctx.origins.clone();
        return ws::serve(tls, conn, flows, ingress, limits, origins, idle, hs, sd).await;
    }
    stream::serve(tls, conn, flows, ingress, limits, (idle, message), sd).await
}
