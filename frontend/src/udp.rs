//! The UDP listener: one message per datagram (RFC 3261 §18.3: a missing Content-Length
//! means the rest of the datagram; extra octets after the body are ignored).

use std::{net::SocketAddr, sync::Arc};

use bytes::Bytes;
use herald_proto::v1::Transport;
use herald_sip::{parse_datagram, Limits};
use tokio::{
    net::UdpSocket,
    sync::{watch, Semaphore},
};

use crate::{flows::FlowTable, ingress::Ingress};

pub(crate) async fn serve(
    socket: Arc<UdpSocket>,
    flows: Arc<FlowTable>,
    ingress: Arc<Ingress>,
    limits: Limits,
    in_flight: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    // More than one at a time: each message in its own task, at most `in_flight` of them
    // (the next datagram waits for a slot).
    let slots = (in_flight > 1).then(|| Arc::new(Semaphore::new(in_flight)));
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, from) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    // ICMP errors surface here on some systems; keep serving.
                    tracing::debug!(error = %e, "UDP receive error");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        if !ingress.admit(from.ip()) {
            continue;
        }
        let data = &buf[..n];
        if data
            .iter()
            .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0))
        {
            continue; // keep-alive or padding
        }
        let raw = Bytes::copy_from_slice(data);
        match &slots {
            None => handle(&socket, &flows, &ingress, &limits, raw, from).await,
            Some(slots) => {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (socket, flows, ingress) = (socket.clone(), flows.clone(), ingress.clone());
                tokio::spawn(async move {
                    handle(&socket, &flows, &ingress, &limits, raw, from).await;
                    drop(slot);
                });
            }
        }
    }
}

async fn handle(
    socket: &UdpSocket,
    flows: &FlowTable,
    ingress: &Ingress,
    limits: &Limits,
    raw: Bytes,
    from: SocketAddr,
) {
    let flow = flows.flow(0, Transport::Udp, from);
    let parsed = parse_datagram(raw.clone(), limits);
    if let Some(answer) = ingress.handle(from, flow, raw, parsed).await {
        if let Err(e) = socket.send_to(&answer, from).await {
            tracing::debug!(error = %e, %from, "UDP answer not sent");
        }
    }
}
