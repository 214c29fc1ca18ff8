//! What the front end does with each message a client sent: check it with the SIP core,
//! answer malformed requests itself (400/505/513 …, RFC 3261 §16.3 and RFC 4475), drop
//! malformed responses, and hand everything else to the home server. When the home
//! server cannot take a request, the client gets 503 with Retry-After. Before any of it,
//! each source address spends from its request budget; over budget, messages are dropped.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use herald_proto::v1::{home_server::Home, FlowRef, Inbound};
use herald_sip::{
    error_response, parse_datagram, HeaderName, Limits, Message, ParseError, Response, StatusCode,
};

use crate::{
    budget::{Admit, SourceBudget},
    throttle::Throttle,
};

/// The front end's hand-off to home servers.
pub struct Ingress {
    home: Arc<dyn Home>,
    budget: Mutex<SourceBudget>,
    /// Log lines for refusals by the home server (they come in floods when it is over
    /// its capacity; `herald_refused_total` counts them all).
    refused_requests: Throttle,
    refused_responses: Throttle,
}

/// Limits for parsing again what a listener already took under its own (configured) ones.
const TAKEN: Limits = Limits {
    max_message_size: usize::MAX,
    max_headers: usize::MAX,
    max_header_line: usize::MAX,
    max_uri_len: usize::MAX,
};

/// Counts a refusal in the `herald_refused_total` metric under `reason`.
pub(crate) fn refused(reason: &'static str) {
    metrics::counter!("herald_refused_total", "reason" => reason).increment(1);
}

impl Ingress {
    pub fn new(home: Arc<dyn Home>, budget: SourceBudget) -> Ingress {
        Ingress {
            home,
            budget: Mutex::new(budget),
            refused_requests: Throttle::default(),
            refused_responses: Throttle::default(),
        }
    }

    /// Spends one message of `ip`'s budget; false when the message must be dropped.
    pub fn admit(&self, ip: IpAddr) -> bool {
        let verdict = self
            .budget
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admit(ip, Instant::now());
        match verdict {
            Admit::Yes => true,
            Admit::No { first } => {
                if first {
                    tracing::warn!(source = %ip, "source over its request budget; dropping its messages");
                }
                refused("rate_limited");
                false
            }
        }
    }

    /// Handles one framed message from `flow`, whose remote end is `from`. Returns bytes
    /// to send straight back (an error response), if any.
    pub async fn handle(
        &self,
        from: SocketAddr,
        flow: FlowRef,
        raw: Bytes,
        parsed: Result<Message, ParseError>,
    ) -> Option<Bytes> {
        let checked = parsed.and_then(|m| m.validate().map(|()| m));
        let msg = match checked {
            Ok(m) => m,
            Err(e) => {
                let answer = error_response(&raw, &e);
                refused("malformed");
                tracing::info!(remote = %from, error = %e, answered = answer.is_some(), "malformed message");
                return answer;
            }
        };
        let inbound = Inbound {
            flow: Some(flow),
            raw: raw.clone(),
            received_at_us: now_us(),
        };
        // The message goes along as it is parsed and checked, in the call's extensions:
        // an in-process home server takes it from there instead of parsing the bytes
        // again; over gRPC extensions do not travel.
        let mut call = tonic::Request::new(inbound);
        match msg {
            request @ Message::Request(_) => {
                call.extensions_mut().insert(request);
                let r = self.home.handle_request(call).await;
                let status = r.err()?;
                refused("overloaded");
                // Refusals are rare: the request is parsed again from its bytes to answer
                // it, rather than copied for every request that is taken.
                let Ok(Message::Request(req)) = parse_datagram(raw, &TAKEN) else {
                    return None;
                };
                if let Some(held_back) = self.refused_requests.allow() {
                    tracing::warn!(remote = %from, %status, held_back, "home server refused a request (one line per second; held_back: refusals since the last line)");
                }
                if req.method == herald_sip::Method::Ack {
                    return None;
                }
                let mut resp = Response::to_request(&req, StatusCode::SERVICE_UNAVAILABLE);
                resp.headers.push(HeaderName::RetryAfter, "5");
                Some(resp.to_bytes())
            }
            response @ Message::Response(_) => {
                call.extensions_mut().insert(response);
                if let Err(status) = self.home.handle_response(call).await {
                    if let Some(held_back) = self.refused_responses.allow() {
                        tracing::warn!(remote = %from, %status, held_back, "home server refused a response (one line per second; held_back: refusals since the last line)");
                    }
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

#[cfg(test)]
mod tests {
    use herald_proto::v1::{Accepted, AcceptedBatch, InboundBatch};
    use tonic::{Request, Response as Reply, Status};

    use super::*;

    /// A home server that refuses everything, as an overloaded one does.
    struct Refusing;

    #[tonic::async_trait]
    impl Home for Refusing {
        async fn handle_request(&self, _: Request<Inbound>) -> Result<Reply<Accepted>, Status> {
            Err(Status::resource_exhausted("home server queue full"))
        }
        async fn handle_response(&self, _: Request<Inbound>) -> Result<Reply<Accepted>, Status> {
            Err(Status::resource_exhausted("home server queue full"))
        }
        async fn handle_batch(
            &self,
            _: Request<InboundBatch>,
        ) -> Result<Reply<AcceptedBatch>, Status> {
            Err(Status::resource_exhausted("home server queue full"))
        }
    }

    async fn answer(raw: &'static [u8]) -> Option<Message> {
        let ingress = Ingress::new(Arc::new(Refusing), SourceBudget::new(0, 0, 16));
        let raw = Bytes::from_static(raw);
        let parsed = parse_datagram(raw.clone(), &Limits::default());
        let from: SocketAddr = "127.0.0.1:5070".parse().unwrap();
        let flow = FlowRef {
            remote: "127.0.0.1:5070".into(),
            ..FlowRef::default()
        };
        let bytes = ingress.handle(from, flow, raw, parsed).await?;
        Some(parse_datagram(bytes, &Limits::default()).expect("the answer parses"))
    }

    #[tokio::test]
    async fn a_refused_request_is_answered_503_from_its_own_headers() {
        let Some(Message::Response(r)) = answer(
            b"MESSAGE sip:bob@example.com SIP/2.0\r\n\
              Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-refused-1\r\n\
              Max-Forwards: 70\r\n\
              From: <sip:alice@example.com>;tag=a1\r\n\
              To: <sip:bob@example.com>\r\n\
              Call-ID: refused-1@client\r\n\
              CSeq: 7 MESSAGE\r\n\
              Content-Length: 0\r\n\r\n",
        )
        .await
        else {
            panic!("no response to a refused request");
        };
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(r.headers.get(&HeaderName::RetryAfter), Some("5"));
        assert_eq!(r.headers.call_id().unwrap(), "refused-1@client");
        let cseq = r.headers.cseq().unwrap();
        assert_eq!((cseq.seq, cseq.method), (7, "MESSAGE"));
        assert_eq!(
            r.headers.top_via().unwrap().branch(),
            Some("z9hG4bK-refused-1")
        );
        assert_eq!(r.headers.from_tag().unwrap(), Some("a1"));
    }

    #[tokio::test]
    async fn a_refused_ack_gets_no_answer() {
        let answered = answer(
            b"ACK sip:bob@example.com SIP/2.0\r\n\
              Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-refused-2\r\n\
              Max-Forwards: 70\r\n\
              From: <sip:alice@example.com>;tag=a1\r\n\
              To: <sip:bob@example.com>;tag=b1\r\n\
              Call-ID: refused-2@client\r\n\
              CSeq: 7 ACK\r\n\
              Content-Length: 0\r\n\r\n",
        )
        .await;
        assert!(answered.is_none(), "ACK answered: {answered:?}");
    }
}
