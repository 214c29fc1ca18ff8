//! SIP over WebSocket (RFC 7118): the handshake must offer the `sip` subprotocol and come
//! from an allowed Origin; then each WebSocket message carries one SIP message. Frame and
//! message sizes are capped at the SIP message size limit.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use herald_sip::{parse, Limits, Transport as Framing};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    sync::watch,
};
use tokio_tungstenite::tungstenite::{
    handshake::server::{ErrorResponse, Request, Response},
    http::{HeaderValue, StatusCode},
    protocol::WebSocketConfig,
    Message,
};

use crate::{flows::FlowTable, ingress::Ingress, stream::Conn};

/// Whether `origin` may open a WebSocket: no Origin (a native client) is allowed when the
/// list is empty; `*` allows all.
pub(crate) fn origin_allowed(origin: Option<&str>, allow: &[String]) -> bool {
    if allow.iter().any(|a| a == "*") {
        return true;
    }
    match origin {
        None => true,
        Some(o) => allow.iter().any(|a| a.eq_ignore_ascii_case(o)),
    }
}

#[allow(clippy::too_many_arguments, clippy::result_large_err)]
pub(crate) async fn serve<S>(
    stream: S,
    conn: Conn,
    flows: Arc<FlowTable>,
    ingress: Arc<Ingress>,
    limits: Limits,
    origins: Arc<Vec<String>>,
    idle: Duration,
    handshake: Duration,
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
    let check = |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        let origin = req.headers().get("origin").and_then(|v| v.to_str().ok());
        if !origin_allowed(origin, &origins) {
            tracing::info!(%remote, origin, "WebSocket origin refused");
            crate::ingress::refused("websocket_origin");
            return Err(refuse(StatusCode::FORBIDDEN, "origin not allowed"));
        }
        let offers_sip = req
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|p| p.trim().eq_ignore_ascii_case("sip"));
        if !offers_sip {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "the sip subprotocol is required",
            ));
        }
        resp.headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("sip"));
        Ok(resp)
    };
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(limits.max_message_size);
    config.max_frame_size = Some(limits.max_message_size);
    let accepted = tokio::time::timeout(
        handshake,
        tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)),
    )
    .await;
    let mut ws = match accepted {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => return tracing::info!(%remote, error = %e, "WebSocket handshake failed"),
        Err(_) => {
            crate::ingress::refused("handshake_timeout");
            return tracing::info!(%remote, "WebSocket handshake timed out");
        }
    };
    let flow = flows.flow(guard.id, transport, remote);
    let why = loop {
        tokio::select! {
            r = tokio::time::timeout(idle, ws.next()) => {
                let msg = match r {
                    Err(_) => break "idle timeout",
                    Ok(None) | Ok(Some(Err(_))) => break "closed",
                    Ok(Some(Ok(m))) => m,
                };
                let raw = match msg {
                    Message::Text(t) => Bytes::copy_from_slice(t.as_bytes()),
                    Message::Binary(b) => b,
                    Message::Close(_) => break "closed by peer",
                    _ => continue,
                };
                if raw.iter().all(|b| matches!(b, b'\r' | b'\n')) || !ingress.admit(remote.ip()) {
                    continue;
                }
                let parsed = parse(raw.clone(), &limits, Framing::Datagram);
                if let Some(answer) = ingress.handle(remote, flow.clone(), raw, parsed).await {
                    if ws.send(to_ws(answer)).await.is_err() {
                        break "write error";
                    }
                }
            }
            out = rx.recv() => match out {
                Some(bytes) => {
                    if ws.send(to_ws(bytes)).await.is_err() {
                        break "write error";
                    }
                }
                None => break "flow removed",
            },
            _ = shutdown.changed() => break "shutdown",
        }
    };
    tracing::debug!(%remote, connection = guard.id, reason = why, "WebSocket closed");
    let _ = ws.close(None).await;
}

/// SIP text goes as a text message, anything else as binary (RFC 7118 §5.1).
fn to_ws(bytes: Bytes) -> Message {
    match std::str::from_utf8(&bytes) {
        Ok(s) => Message::Text(s.to_owned().into()),
        Err(_) => Message::Binary(bytes),
    }
}

fn refuse(status: StatusCode, why: &str) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(why.to_owned()));
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn origins() {
        let list = vec!["https://app.example.com".to_owned()];
        assert!(origin_allowed(None, &list));
        assert!(origin_allowed(Some("https://app.example.com"), &list));
        assert!(!origin_allowed(Some("https://evil.example"), &list));
        assert!(!origin_allowed(Some("https://evil.example"), &[]));
        assert!(origin_allowed(
            Some("https://evil.example"),
            &["*".to_owned()]
        ));
    }
}
