//! What the front end does with each message a client sent: check it with the SIP core,
//! answer malformed requests itself (400/505/513 …, RFC 3261 §16.3 and RFC 4475), drop
//! malformed responses, and hand everything else to the home server. When the home
//! server cannot take a request, the client gets 503 with Retry-After.

use std::{
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use herald_proto::v1::{home_server::Home, FlowRef, Inbound};
use herald_sip::{error_response, HeaderName, Message, ParseError, Response, StatusCode};

/// The front end's hand-off to home servers.
pub struct Ingress {
    home: Arc<dyn Home>,
}

impl Ingress {
    pub fn new(home: Arc<dyn Home>) -> Ingress {
        Ingress { home }
    }

    /// Handles one framed message from `flow`. Returns bytes to send straight back (an
    /// error response), if any.
    pub async fn handle(
        &self,
        flow: &FlowRef,
        raw: Bytes,
        parsed: Result<Message, ParseError>,
    ) -> Option<Bytes> {
        let checked = parsed.and_then(|m| m.validate().map(|()| m));
        let msg = match checked {
            Ok(m) => m,
            Err(e) => {
                let answer = error_response(&raw, &e);
                tracing::info!(remote = %flow.remote, error = %e, answered = answer.is_some(), "malformed message");
                return answer;
            }
        };
        let inbound = Inbound {
            flow: Some(flow.clone()),
            raw,
            received_at_us: now_us(),
        };
        match msg {
            Message::Request(req) => {
                let r = self.home.handle_request(tonic::Request::new(inbound)).await;
                let status = r.err()?;
                tracing::warn!(remote = %flow.remote, %status, "home server refused a request");
                if req.method == herald_sip::Method::Ack {
                    return None;
                }
                let mut resp = Response::to_request(&req, StatusCode::SERVICE_UNAVAILABLE);
                resp.headers.push(HeaderName::RetryAfter, "5");
                Some(resp.to_bytes())
            }
            Message::Response(_) => {
                if let Err(status) = self
                    .home
                    .handle_response(tonic::Request::new(inbound))
                    .await
                {
                    tracing::warn!(remote = %flow.remote, %status, "home server refused a response");
                }
                None
            }
        }
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
