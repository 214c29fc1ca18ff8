//! Marking where a request really came from (RFC 3261 §18.2.1, RFC 3581): `received`
//! when the top Via's host is not the source address, and `rport` filled in when the
//! client asked for it. Clients behind NAT learn their public address from it, and every
//! response, relayed ones included, carries it back.

use std::net::SocketAddr;

use herald_sip::{HeaderName, Request};

/// Adds `received` / fills `rport` in the top Via of `req`, which came from `source`.
/// Returns whether that Via carries an RFC 3261 branch (magic cookie), which the caller
/// needs next: the Via is parsed once for both.
pub fn mark_source(req: &mut Request, source: SocketAddr) -> bool {
    let Ok(via) = req.headers.top_via() else {
        return false;
    };
    let rfc3261 = via.is_rfc3261();
    let asked_rport = matches!(via.rport(), Some(None));
    let host_is_source = match via.host {
        herald_sip::Host::V4(ip) => std::net::IpAddr::V4(ip) == source.ip(),
        herald_sip::Host::V6(ip) => std::net::IpAddr::V6(ip) == source.ip(),
        herald_sip::Host::Domain(_) => false,
    };
    if host_is_source && !asked_rport {
        return rfc3261;
    }
    let Some(top) = req.headers.remove_first_value(&HeaderName::Via) else {
        return rfc3261;
    };
    let mut parts: Vec<String> = Vec::new();
    for (i, p) in top.split(';').enumerate() {
        let name = p.split('=').next().unwrap_or("").trim();
        if i > 0 && name.eq_ignore_ascii_case("received") {
            continue;
        }
        if i > 0 && name.eq_ignore_ascii_case("rport") {
            parts.push(format!("rport={}", source.port()));
            continue;
        }
        parts.push(p.to_owned());
    }
    let ip = match source {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => a.ip().to_string(),
    };
    parts.push(format!("received={ip}"));
    req.headers.push_front(HeaderName::Via, parts.join(";"));
    rfc3261
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(via: &str) -> Request {
        let raw = format!(
            "OPTIONS sip:a@example.com SIP/2.0\r\nVia: {via}\r\nVia: SIP/2.0/UDP 10.9.9.9;branch=z9hG4bKlow\r\n\
             From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\
             Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        match herald_sip::parse_datagram(raw.into(), &herald_sip::Limits::default()).unwrap() {
            herald_sip::Message::Request(r) => r,
            herald_sip::Message::Response(_) => panic!("request expected"),
        }
    }

    fn top(r: &Request) -> String {
        r.headers
            .get(&HeaderName::Via)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .trim()
            .to_owned()
    }

    #[test]
    fn rport_is_filled_and_received_added() {
        let mut r = req("SIP/2.0/UDP 192.168.1.5:5060;rport;branch=z9hG4bKa");
        assert!(mark_source(&mut r, "203.0.113.7:40000".parse().unwrap()));
        assert_eq!(
            top(&r),
            "SIP/2.0/UDP 192.168.1.5:5060;rport=40000;branch=z9hG4bKa;received=203.0.113.7"
        );
        assert_eq!(r.headers.vias().unwrap().len(), 2, "the other Via stays");
        assert_eq!(r.headers.top_via().unwrap().received(), Some("203.0.113.7"));
    }

    #[test]
    fn an_rfc2543_branch_is_reported() {
        let mut r = req("SIP/2.0/UDP 198.51.100.2:5060;branch=1234");
        assert!(!mark_source(&mut r, "198.51.100.2:5060".parse().unwrap()));
        let mut r = req("SIP/2.0/UDP 192.168.1.5:5060;rport");
        assert!(!mark_source(&mut r, "203.0.113.7:40000".parse().unwrap()));
        assert!(top(&r).ends_with(";rport=40000;received=203.0.113.7"));
    }

    #[test]
    fn nothing_changes_when_the_host_is_the_source_and_no_rport_asked() {
        let mut r = req("SIP/2.0/UDP 198.51.100.2:5060;branch=z9hG4bKb");
        assert!(mark_source(&mut r, "198.51.100.2:5060".parse().unwrap()));
        assert_eq!(top(&r), "SIP/2.0/UDP 198.51.100.2:5060;branch=z9hG4bKb");
        let mut r = req("SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKc");
        assert!(mark_source(&mut r, "[2001:db8::9]:51000".parse().unwrap()));
        assert_eq!(
            top(&r),
            "SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKc;received=2001:db8::9"
        );
    }
}
