//! Connection-oriented flows (TCP and TLS): the stream framer cuts messages by
//! Content-Length, CRLF CRLF keep-alives are answered with CRLF (RFC 5626 §3.5.1), and a
//! connection is closed when it idles past the timeout, buffers more than one message's
//! worth of bytes, or cannot be framed any more.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use herald_proto::v1::Transport;
use herald_sip::{Frame, Limits, StreamFramer};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    sync::{mpsc, watch},
};

use crate::{
    flows::{ConnGuard, FlowTable},
    ingress::Ingress,
};

pub(crate) struct Conn {
    pub guard: ConnGuard,
    pub rx: mpsc::Receiver<Bytes>,
    pub transport: Transport,
    pub remote: SocketAddr,
}

pub(crate) async fn serve<S>(
    stream: S,
    conn: Conn,
    flows: Arc<FlowTable>,
    ingress: Arc<Ingress>,
    limits: Limits,
    idle: Duration,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let Conn {
        guard,
        mut rx,
        transport,
        remote,
    } = conn;
    let flow = flows.flow(guard.id, transport, remote);
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut framer = StreamFramer::new(limits);
    let mut buf = vec![0u8; 16 * 1024];
    let why = loop {
        tokio::select! {
            r = tokio::time::timeout(idle, rd.read(&mut buf)) => {
                let n = match r {
                    Err(_) => break "idle timeout",
                    Ok(Err(_)) => break "read error",
                    Ok(Ok(0)) => break "closed by peer",
                    Ok(Ok(n)) => n,
                };
                framer.push(&buf[..n]);
                match drain(&mut framer, &flow, &ingress, &mut wr).await {
                    Ok(()) => {}
                    Err(why) => break why,
                }
                if framer.buffered() > limits.max_message_size {
                    break "too many buffered bytes";
                }
            }
            out = rx.recv() => match out {
                Some(bytes) => {
                    if wr.write_all(&bytes).await.is_err() {
                        break "write error";
                    }
                }
                None => break "flow removed",
            },
            _ = shutdown.changed() => break "shutdown",
        }
    };
    tracing::debug!(remote = %remote, connection = guard.id, reason = why, "connection closed");
    let _ = wr.shutdown().await;
}

/// Handles every complete frame in the buffer.
async fn drain<W: AsyncWrite + Unpin>(
    framer: &mut StreamFramer,
    flow: &herald_proto::v1::FlowRef,
    ingress: &Ingress,
    wr: &mut W,
) -> Result<(), &'static str> {
    loop {
        let frame = match framer.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(()),
            Err(e) => {
                tracing::info!(remote = %flow.remote, error = %e, "stream cannot be framed; closing");
                return Err("unframeable");
            }
        };
        let answer = match frame {
            Frame::Ping => Some(Bytes::from_static(b"\r\n")),
            Frame::Pong => None,
            Frame::Message(m) => {
                let raw = framer.last_frame().clone();
                ingress.handle(flow, raw, Ok(m)).await
            }
            Frame::Malformed(e) => {
                let raw = framer.last_frame().clone();
                ingress.handle(flow, raw, Err(e)).await
            }
        };
        if let Some(a) = answer {
            wr.write_all(&a).await.map_err(|_| "write error")?;
        }
    }
}
