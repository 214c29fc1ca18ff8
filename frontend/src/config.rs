//! Front end settings.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use herald_sip::Limits;

/// Where and how the front end listens.
#[derive(Debug, Clone)]
pub struct FrontendConfig {
    /// This front end's id in flow references.
    pub id: String,
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    pub tls: Option<SocketAddr>,
    pub ws: Option<SocketAddr>,
    pub wss: Option<SocketAddr>,
    /// Certificate chain and key (PEM); `None` generates a self-signed development
    /// certificate.
    pub tls_cert: Option<(PathBuf, PathBuf)>,
    /// Where a generated development certificate is written, so clients can trust it.
    pub dev_cert_dir: Option<PathBuf>,
    /// Allowed WebSocket `Origin` values; empty allows requests without an Origin only
    /// (native clients), `*` allows any.
    pub ws_origins: Vec<String>,
    /// Connection caps, deadlines and the per-source request budget.
    pub edge: EdgeLimits,
    /// Most messages queued for sending on one connection before it counts as stuck.
    pub max_queued_per_connection: usize,
    /// UDP socket receive and send buffer size: bursts beyond the kernel default would
    /// otherwise be dropped and retransmitted (the kernel caps it at net.core.rmem_max).
    pub udp_buffer: usize,
    /// How many UDP datagrams may be on their way to home servers at once. 1 handles them
    /// one after another (the embedded server, where handing over is a queue push); a
    /// pool's front end waits for a gRPC call per message, and one slow or dead home
    /// server must not hold up every other user's messages.
    pub udp_in_flight: usize,
    pub limits: Limits,
}

impl FrontendConfig {
    /// Everything on loopback port 0 (tests).
    pub fn loopback() -> FrontendConfig {
        let any = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        FrontendConfig {
            id: "fe1".into(),
            udp: any,
            tcp: any,
            tls: any,
            ws: any,
            wss: any,
            tls_cert: None,
            dev_cert_dir: None,
            ws_origins: Vec::new(),
            edge: EdgeLimits {
                max_connections: 10_000,
                max_connections_per_ip: 1_000,
                idle_timeout: Duration::from_secs(600),
                handshake_timeout: Duration::from_secs(10),
                message_timeout: Duration::from_secs(20),
                rate_per_source: 0,
                burst_per_source: 0,
            },
            max_queued_per_connection: 1024,
            udp_buffer: 4 * 1024 * 1024,
            udp_in_flight: 1,
            limits: Limits::default(),
        }
    }
}

/// What one client, or all of them, may hold and send: the defences of the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeLimits {
    /// Most simultaneous connections (TCP, TLS, WS, WSS together).
    pub max_connections: usize,
    /// Most connections from one IP address.
    pub max_connections_per_ip: usize,
    /// A connection with no traffic for this long is closed (CRLF keep-alives count).
    pub idle_timeout: Duration,
    /// Deadline for the TLS and WebSocket handshakes.
    pub handshake_timeout: Duration,
    /// Deadline for a message on a TCP or TLS connection: from the accept to the first
    /// complete message, and from the first byte of each later message to its last.
    pub message_timeout: Duration,
    /// Messages per second one source address may send on average (0: no budget) …
    pub rate_per_source: u32,
    /// … and in a burst.
    pub burst_per_source: u32,
}
