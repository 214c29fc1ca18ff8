//! Flows (RFC 5626 connections held by a front end) as the home server sees them: which
//! transport, whether it is reliable, and flow tokens that let in-dialog requests find
//! their way back through Record-Route.

use herald_proto::v1::{FlowRef, Transport};

/// Whether the flow's transport retransmits by itself (no SIP retransmission timers).
pub fn reliable(flow: &FlowRef) -> bool {
    transport(flow) != Transport::Udp
}

pub fn transport(flow: &FlowRef) -> Transport {
    Transport::try_from(flow.transport).unwrap_or(Transport::Unspecified)
}

/// The Via / `transport=` token of a transport.
pub fn token(t: Transport) -> &'static str {
    match t {
        Transport::Tcp => "TCP",
        Transport::Tls => "TLS",
        Transport::Ws => "WS",
        Transport::Wss => "WSS",
        Transport::Udp | Transport::Unspecified => "UDP",
    }
}

/// The client's IP address (unspecified if the front end sent something unparsable).
pub fn source_ip(flow: &FlowRef) -> std::net::IpAddr {
    herald_sip::text::parse_socket_addr(&flow.remote)
        .map(|a| a.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

/// Whether two references name the same client connection.
pub fn same(a: &FlowRef, b: &FlowRef) -> bool {
    a.frontend_id == b.frontend_id
        && a.transport == b.transport
        && a.connection_id == b.connection_id
        && a.remote == b.remote
}

/// Encodes a flow as a URI-user-safe token: fields joined by `~` and %-escaped.
pub fn encode(flow: &FlowRef) -> String {
    let raw = format!(
        "{}~{}~{}~{}",
        flow.frontend_id, flow.connection_id, flow.transport, flow.remote
    );
    let mut out = String::with_capacity(raw.len() + 8);
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes [`encode`]'s output; `None` for anything else.
pub fn decode(token: &str) -> Option<FlowRef> {
    let raw = herald_sip::uri::pct_decode(token);
    let mut parts = raw.splitn(4, '~');
    let frontend_id = parts.next()?.to_owned();
    let connection_id = parts.next()?.parse().ok()?;
    let transport = parts.next()?.parse().ok()?;
    let remote = parts.next()?.to_owned();
    Some(FlowRef {
        frontend_id,
        connection_id,
        transport,
        remote,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let f = FlowRef {
            frontend_id: "fe-1".into(),
            connection_id: 77,
            transport: Transport::Wss as i32,
            remote: "[2001:db8::1]:5062".into(),
        };
        let t = encode(&f);
        assert!(!t.contains([':', '[', '@', ';']));
        assert_eq!(decode(&t), Some(f));
        assert_eq!(decode("garbage"), None);
    }
}
