//! Connection-oriented flows (TCP and TLS): the stream framer cuts messages by
//! Content-Length, CRLF CRLF keep-alives are answered with CRLF (RFC 5626 §3.5.1), and a
//! connection is closed when it idles past the timeout, takes longer than the message
//! deadline to complete a message (slow-loris clients; the first message counts from the
//! accept), buffers more than one message's worth of bytes, or cannot be framed any more.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

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
    (idle, message): (Duration, Duration),
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
    // When the message being received must be complete; `None` between messages.
    let mut due = Some(Instant::now() + message);
    let why = loop {
        let wait = due.map_or(idle, |d| {
            d.saturating_duration_since(Instant::now()).min(idle)
        });
        tokio::select! {
            r = tokio::time::timeout(wait, rd.read(&mut buf)) => {
                let n = match r {
                    Err(_) if due.is_some_and(|d| Instant::now() >= d) => {
                        crate::ingress::refused("message_timeout");
                        break "message deadline passed";
                    }
                    Err(_) => break "idle timeout",
                    Ok(Err(_)) => break "read error",
                    Ok(Ok(0)) => break "closed by peer",
                    Ok(Ok(n)) => n,
                };
                framer.push(&buf[..n]);
                let complete = match drain(&mut framer, &flow, &ingress, &mut wr, remote).await {
                    Ok(complete) => complete,
                    Err(why) => break why,
                };
                if framer.buffered() > limits.max_message_size {
                    crate::ingress::refused("buffer_overflow");
                    break "too many buffered bytes";
                }
                due = match (framer.buffered(), due) {
                    (0, _) => None,
                    (_, Some(d)) if !complete => Some(d),
                    _ => Some(Instant::now() + message),
                };
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

/// Handles every complete frame in the buffer; returns whether there was one.
async fn drain<W: AsyncWrite + Unpin>(
    framer: &mut StreamFramer,
    flow: &herald_proto::v1::FlowRef,
    ingress: &Ingress,
    wr: &mut W,
    remote: std::net::SocketAddr,
) -> Result<bool, &'static str> {
    let mut complete = false;
    loop {
        let frame = match framer.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(complete),
            Err(e) => {
                tracing::info!(remote = %flow.remote, error = %e, "stream cannot be framed; closing");
                return Err("unframeable");
            }
        };
        complete = true;
        let answer = match frame {
            Frame::Ping => Some(Bytes::from_static(b"\r\n")),
            Frame::Pong => None,
            Frame::Message(_) | Frame::Malformed(_) if !ingress.admit(remote.ip()) => None,
            Frame::Message(m) => {
                let raw = framer.last_frame().clone();
                ingress.handle(remote, flow.clone(), raw, Ok(m)).await
            }
            Frame::Malformed(e) => {
                let raw = framer.last_frame().clone();
                ingress.handle(remote, flow.clone(), raw, Err(e)).await
            }
        };
        if let Some(a) = answer {
            wr.write_all(&a).await.map_err(|_| "write error")?;
        }
    }
}
