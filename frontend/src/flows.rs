//! The flow table: every client connection this front end holds, and the `Edge` service
//! through which home servers send down them. UDP "flows" are the socket plus the remote
//! address and need no entry.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, OnceLock,
    },
    time::SystemTime,
};

use bytes::Bytes;
use herald_proto::v1::{
    edge_server::Edge, FlowRef, Outbound, OutboundBatch, Sent, SentBatch, Transport,
};
use tokio::{net::UdpSocket, sync::mpsc};
use tonic::{Request, Response, Status};

/// The connections of one front end.
pub struct FlowTable {
    id: String,
    conns: Mutex<HashMap<u64, Conn>>,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    next: AtomicU64,
    /// What home servers send over UDP, for the UDP writer task.
    udp: OnceLock<mpsc::Sender<(Bytes, SocketAddr)>>,
    max_connections: usize,
    max_per_ip: usize,
    queue: usize,
}

/// A live connection: where to write, and what operators are shown.
struct Conn {
    tx: mpsc::Sender<Bytes>,
    transport: Transport,
    remote: SocketAddr,
    since: SystemTime,
}

/// A connection as listed for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    pub id: u64,
    pub transport: Transport,
    pub remote: SocketAddr,
    pub since: SystemTime,
}

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("connection limit reached")]
    TooManyConnections,
    #[error("connection limit for this address reached")]
    TooManyFromAddress,
}

/// A registered connection; dropping it removes the connection from the table.
pub struct ConnGuard {
    table: Arc<FlowTable>,
    pub id: u64,
    ip: IpAddr,
    transport: Transport,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        metrics::gauge!("herald_flows", "transport" => self.transport.short_name()).decrement(1.0);
        self.table.lock_conns().remove(&self.id);
        let mut per_ip = self.table.lock_per_ip();
        if let Some(n) = per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

impl FlowTable {
    pub fn new(id: &str, max_connections: usize, max_per_ip: usize, queue: usize) -> FlowTable {
        FlowTable {
            id: id.to_owned(),
            conns: Mutex::new(HashMap::new()),
            per_ip: Mutex::new(HashMap::new()),
            next: AtomicU64::new(first_connection_id()),
            udp: OnceLock::new(),
            max_connections,
            max_per_ip,
            queue: queue.max(1),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Starts the UDP writer on `socket` (once).
    pub(crate) fn set_udp(&self, socket: Arc<UdpSocket>) {
        let (tx, rx) = mpsc::channel(UDP_QUEUE);
        if self.udp.set(tx).is_ok() {
            tokio::spawn(udp_writer(socket, rx));
        }
    }

    /// Number of live connections.
    pub fn connections(&self) -> usize {
        self.lock_conns().len()
    }

    /// The live connections, oldest first.
    pub fn list(&self) -> Vec<ConnInfo> {
        let mut out: Vec<ConnInfo> = self
            .lock_conns()
            .iter()
            .map(|(id, c)| ConnInfo {
                id: *id,
                transport: c.transport,
                remote: c.remote,
                since: c.since,
            })
            .collect();
        out.sort_by_key(|c| c.id);
        out
    }

    /// Admits a connection from `remote`; returns its guard and the queue of bytes to
    /// write to it.
    pub(crate) fn admit(
        self: &Arc<Self>,
        remote: SocketAddr,
        transport: Transport,
    ) -> Result<(ConnGuard, mpsc::Receiver<Bytes>), Refused> {
        let ip = remote.ip();
        {
            let mut per_ip = self.lock_per_ip();
            let n = per_ip.entry(ip).or_insert(0);
            if *n >= self.max_per_ip {
                return Err(Refused::TooManyFromAddress);
            }
            if self.lock_conns().len() >= self.max_connections {
                return Err(Refused::TooManyConnections);
            }
            *n += 1;
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.queue);
        let conn = Conn {
            tx,
            transport,
            remote,
            since: SystemTime::now(),
        };
        self.lock_conns().insert(id, conn);
        metrics::gauge!("herald_flows", "transport" => transport.short_name()).increment(1.0);
        Ok((
            ConnGuard {
                table: self.clone(),
                id,
                ip,
                transport,
            },
            rx,
        ))
    }

    /// The flow reference of a connection.
    pub fn flow(&self, connection_id: u64, transport: Transport, remote: SocketAddr) -> FlowRef {
        FlowRef {
            frontend_id: self.id.clone(),
            connection_id,
            transport: transport as i32,
            remote: herald_sip::text::socket_addr(remote),
        }
    }

    fn lock_conns(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Conn>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_per_ip(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.per_ip.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[tonic::async_trait]
impl Edge for FlowTable {
    async fn send(&self, req: Request<Outbound>) -> Result<Response<Sent>, Status> {
        let out = req.into_inner();
        let flow = out
            .flow
            .ok_or_else(|| Status::invalid_argument("no flow"))?;
        if flow.frontend_id != self.id {
            return Err(Status::not_found("flow of another front end"));
        }
        if flow.transport == Transport::Udp as i32 {
            let writer = self
                .udp
                .get()
                .ok_or_else(|| Status::not_found("no UDP listener"))?;
            let to = herald_sip::text::parse_socket_addr(&flow.remote)
                .ok_or_else(|| Status::invalid_argument("bad remote address"))?;
            // A full queue makes the home server wait for room (the socket is the
            // bottleneck then), rather than lose the datagram.
            writer
                .send((out.raw, to))
                .await
                .map_err(|_| Status::unavailable("UDP writer stopped"))?;
            return Ok(Response::new(Sent {}));
        }
        let tx = self
            .lock_conns()
            .get(&flow.connection_id)
            .map(|c| c.tx.clone())
            .ok_or_else(|| Status::not_found("flow gone"))?;
        tx.try_send(out.raw).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                Status::resource_exhausted("connection send queue full")
            }
            mpsc::error::TrySendError::Closed(_) => Status::not_found("flow gone"),
        })?;
        Ok(Response::new(Sent {}))
    }

    async fn send_batch(&self, req: Request<OutboundBatch>) -> Result<Response<SentBatch>, Status> {
        Ok(Response::new(
            herald_proto::send_each(self, req.into_inner()).await,
        ))
    }
}

/// Datagrams waiting for the UDP writer.
const UDP_QUEUE: usize = 65_536;
/// Most datagrams the writer takes from its queue at once.
const UDP_BATCH: usize = 256;

/// Sends what home servers hand the front end for UDP clients. A task of its own, so
/// that the sender (the home server's engine, in the single-process edition) does not
/// spend its time in the kernel: on loopback a `sendto` also delivers the datagram to
/// the receiving socket (a quarter of the engine's samples in a profile at 4,000
/// REGISTER/s). Ends when the flow table is dropped. A failed send is logged (UDP is
/// unreliable; the transaction layer retransmits).
async fn udp_writer(socket: Arc<UdpSocket>, mut rx: mpsc::Receiver<(Bytes, SocketAddr)>) {
    let mut batch = Vec::with_capacity(UDP_BATCH);
    while rx.recv_many(&mut batch, UDP_BATCH).await > 0 {
        for (raw, to) in batch.drain(..) {
            if let Err(e) = socket.send_to(&raw, to).await {
                tracing::debug!(error = %e, %to, "UDP send failed");
                metrics::counter!("herald_udp_send_errors_total").increment(1);
            }
        }
    }
}

/// Where this process starts numbering connections: at random, far from 0 (UDP's id) and
/// from any other process's numbers. A binding stored by an earlier process names a
/// connection of that process; counting from 1 again after a restart, that name would
/// be given to a new client's connection, and a request for the old contact would go
/// down a stranger's connection (seen in the benchmark: MESSAGEs forked to a sender).
fn first_connection_id() -> u64 {
    (rand::random::<u64>() >> 2) | (1 << 32)
}

#[cfg(test)]
mod restart_tests {
    use super::*;

    #[test]
    fn connection_numbers_do_not_repeat_across_restarts() {
        let a = FlowTable::new("fe1", 10, 10, 1)
            .next
            .load(Ordering::Relaxed);
        let b = FlowTable::new("fe1", 10, 10, 1)
            .next
            .load(Ordering::Relaxed);
        assert_ne!(a, b);
        assert!(a > u64::from(u32::MAX) && b > u64::from(u32::MAX));
    }
}
