//! Responses the home server makes itself (RFC 3261 §8.2.6): the request's Via, From,
//! To, Call-ID and CSeq, a To tag when the request had none, and nothing that discloses
//! the software unless configured.

use herald_sip::{HeaderName, Request, Response, StatusCode};

use crate::config::HomeConfig;

/// A response to `req` with `status`.
pub fn to(req: &Request, status: StatusCode, cfg: &HomeConfig) -> Response {
    let mut r = Response::to_request(req, status);
    if status.as_u16() > 100 {
        add_to_tag(req, &mut r);
    }
    if let Some(s) = &cfg.server_header {
        r.headers.push(HeaderName::Server, s);
    }
    r
}

/// A response with a reason phrase that names the problem.
/// 503 with Retry-After: the store is away for a moment (RFC 3261 §21.5.4); the client
/// sends again later instead of giving up, and nothing was acknowledged.
pub fn unavailable(req: &Request, cfg: &HomeConfig) -> Response {
    let mut r = to(req, StatusCode::SERVICE_UNAVAILABLE, cfg);
    r.headers.push(herald_sip::HeaderName::RetryAfter, "5");
    r
}

pub fn with_reason(req: &Request, status: StatusCode, reason: &str, cfg: &HomeConfig) -> Response {
    to(req, status, cfg).with_reason(reason.to_owned())
}

/// The To tag: derived from the Call-ID and the From tag so that retransmissions of a
/// request answered statelessly get the same tag.
fn add_to_tag(req: &Request, r: &mut Response) {
    // An unreadable To gets no tag: the request was validated, so this is a request built
    // here, and a tag would not make it any better.
    if req.headers.to_tag().map_or(true, |t| t.is_some()) {
        return;
    }
    let Some(to) = r.headers.get(&HeaderName::To) else {
        return;
    };
    // FNV-1a of "Call-ID|From-tag", written as it always was so that a retransmission
    // answered by another build of the home server gets the same tag.
    let call_id = req.headers.call_id().unwrap_or("");
    let from_tag = req.headers.from_tag().ok().flatten().unwrap_or("");
    let tag = fnv64(FNV_OFFSET, call_id.as_bytes());
    let tag = fnv64(fnv64(tag, b"|"), from_tag.as_bytes());
    let line = format!("{to};tag=h{tag:x}");
    r.headers.set(HeaderName::To, line);
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv64(h: u64, b: &[u8]) -> u64 {
    b.iter()
        .fold(h, |h, &c| (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Request {
        let raw = "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
                   From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>\r\nCall-ID: c1\r\n\
                   CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
        match herald_sip::parse_datagram(bytes::Bytes::from(raw), &herald_sip::Limits::default())
            .unwrap()
        {
            herald_sip::Message::Request(r) => r,
            herald_sip::Message::Response(_) => panic!("request expected"),
        }
    }

    #[test]
    fn adds_a_stable_to_tag_and_no_server_header() {
        let cfg = HomeConfig::for_domain("example.com");
        let a = to(&req(), StatusCode::NOT_FOUND, &cfg);
        let b = to(&req(), StatusCode::NOT_FOUND, &cfg);
        let tag = a.headers.to().unwrap().tag().map(str::to_owned);
        assert!(tag.is_some());
        assert_eq!(tag.as_deref(), b.headers.to().unwrap().tag());
        assert!(!a.headers.contains(&HeaderName::Server));
        // The tag is FNV-1a of "Call-ID|From-tag", as earlier builds made it.
        let seed = b"c1|a";
        let fnv = seed.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &c| {
            (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3)
        });
        assert_eq!(tag, Some(format!("h{fnv:x}")));
        let trying = to(&req(), StatusCode::TRYING, &cfg);
        assert_eq!(trying.headers.to().unwrap().tag(), None);
    }
}
