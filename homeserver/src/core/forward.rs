//! Building the requests a proxy sends (RFC 3261 §16.6): a copy of the request with a new
//! Request-URI, Max-Forwards decremented, our Via on top, our credentials removed, and for
//! dialog-creating requests our Record-Route with flow tokens (RFC 5626 §5.3: the tokens
//! name the flows of both sides, so in-dialog requests find their way back whichever side
//! sends them). When the two sides use different transports, two Record-Route entries are
//! added (RFC 5658), each reachable from its side.

use herald_proto::v1::{FlowRef, Transport};
use herald_sip::{HeaderName, Method, Request};

use super::Core;
use crate::flow;

/// A parsed Record-Route of ours: the flows of the two sides.
#[derive(Debug, Clone)]
pub(super) struct OurRoute {
    pub a: FlowRef,
    pub b: FlowRef,
}

impl Core {
    /// Our address for a transport, `host:port`.
    pub(super) fn advertised(&self, t: Transport) -> String {
        self.cfg
            .advertise
            .get(&t)
            .cloned()
            .unwrap_or_else(|| "herald.invalid".into())
    }

    /// Our Contact URI as seen from `flow` (subscriptions: where refreshes come back).
    pub(super) fn contact_uri(&self, flow: &FlowRef) -> String {
        let t = flow::transport(flow);
        format!(
            "sip:herald@{};transport={}",
            self.advertised(t),
            flow::token(t).to_ascii_lowercase()
        )
    }

    /// A fresh Via for a request going down `flow`; the branch names this home server.
    pub(super) fn via(&self, flow: &FlowRef) -> String {
        let t = flow::transport(flow);
        format!(
            "SIP/2.0/{} {};branch=z9hG4bK-{}-{:016x}",
            flow::token(t),
            self.advertised(t),
            self.cfg.home_id,
            rand::random::<u64>()
        )
    }

    fn record_route_entry(&self, facing: &FlowRef, a: &FlowRef, b: &FlowRef) -> String {
        let t = flow::transport(facing);
        let (ta, tb) = (flow::encode(a), flow::encode(b));
        format!(
            "<sip:herald@{};transport={};lr;hfa={ta};hfb={tb};hfs={}>",
            self.advertised(t),
            flow::token(t).to_ascii_lowercase(),
            self.route_mac(&ta, &tb)
        )
    }

    /// A MAC over the two flow tokens: a Route naming flows is only honoured if this
    /// server (or its pool, sharing the secret) wrote it; otherwise anyone could make the
    /// server send requests to any address (an open relay).
    fn route_mac(&self, a: &str, b: &str) -> String {
        use hmac::Mac;
        let Ok(mut m) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.cfg.nonce_secret) else {
            return String::new();
        };
        m.update(b"herald-route\0");
        m.update(a.as_bytes());
        m.update(b"\0");
        m.update(b.as_bytes());
        m.finalize().into_bytes()[..12]
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    }

    /// The copy of `orig` to send to `target` down `to_flow`. `rr`: the caller's flow, when
    /// this request creates a dialog and needs our Record-Route.
    pub(super) fn branch_request(
        &self,
        orig: &Request,
        target: &str,
        to_flow: &FlowRef,
        rr: Option<&FlowRef>,
    ) -> Request {
        let mut r = orig.clone();
        r.uri = target.to_owned().into();
        let mf = orig.headers.max_forwards().ok().flatten().unwrap_or(71);
        r.headers.set(
            HeaderName::MaxForwards,
            mf.saturating_sub(1).min(70).to_string(),
        );
        r.headers.remove_all(&HeaderName::ProxyAuthorization);
        if let Some(from_flow) = rr {
            let caller_side = self.record_route_entry(from_flow, from_flow, to_flow);
            r.headers.push_front(HeaderName::RecordRoute, &caller_side);
            if flow::transport(from_flow) != flow::transport(to_flow) {
                let callee_side = self.record_route_entry(to_flow, from_flow, to_flow);
                r.headers.push_front(HeaderName::RecordRoute, &callee_side);
            }
        }
        r.headers.push_front(HeaderName::Via, self.via(to_flow));
        r
    }

    /// The CANCEL for a branch (§9.1): same Request-URI, top Via, Call-ID, From, To, Route
    /// and CSeq number.
    pub(super) fn cancel_for(&self, branch: &Request) -> Request {
        let mut c = Request::new(Method::Cancel, branch.uri.clone());
        if let Some(v) = branch.headers.get(&HeaderName::Via) {
            let top = v.split(',').next().unwrap_or(v);
            c.headers.push(HeaderName::Via, top.trim());
        }
        c.headers.push(HeaderName::MaxForwards, "70");
        for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
            if let Some(v) = branch.headers.get(&name) {
                c.headers.push(name, v);
            }
        }
        let seq = branch.headers.cseq().map(|c| c.seq).unwrap_or(1);
        c.headers.push(HeaderName::CSeq, format!("{seq} CANCEL"));
        for route in branch.headers.get_all(&HeaderName::Route) {
            c.headers.push(HeaderName::Route, route);
        }
        c
    }

    /// If the top Route is ours, the flows it names.
    pub(super) fn our_route(&self, req: &Request) -> Option<OurRoute> {
        let routes = req.headers.addr_list(&HeaderName::Route, "Route").ok()?;
        let top = routes.first()?;
        let herald_sip::Uri::Sip(u) = &top.uri else {
            return None;
        };
        if u.user != Some("herald") {
            return None;
        }
        let (ta, tb) = (u.param("hfa")??, u.param("hfb")??);
        let mac = u.param("hfs")??;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            mac.as_bytes(),
            self.route_mac(ta, tb).as_bytes(),
        )) {
            tracing::info!("Route with flow tokens this server did not sign ignored");
            return None;
        }
        let a = flow::decode(ta)?;
        let b = flow::decode(tb)?;
        Some(OurRoute { a, b })
    }
}

impl Core {
    /// RFC 3261 §16.4: a top Route naming this server (a client's outbound-proxy setting,
    /// such as `Route: <sip:server;lr>`) is removed before the request is processed, so it
    /// is not sent on to the callee.
    pub(super) fn pop_self_routes(&self, req: &mut Request) {
        loop {
            let ours = req
                .headers
                .addr_list(&HeaderName::Route, "Route")
                .ok()
                .and_then(|r| r.into_iter().next())
                .is_some_and(|na| match &na.uri {
                    herald_sip::Uri::Sip(u) => {
                        let tls = u.scheme == herald_sip::uri::Scheme::Sips
                            || u.param("transport")
                                .flatten()
                                .is_some_and(|t| t.eq_ignore_ascii_case("tls"));
                        let port = u.port.unwrap_or(if tls { 5061 } else { 5060 });
                        self.cfg.is_local(&u.host.to_string())
                            && self.cfg.advertise.values().any(|a| {
                                a.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok())
                                    == Some(port)
                            })
                    }
                    _ => false,
                });
            if !ours {
                return;
            }
            req.headers.remove_first_value(&HeaderName::Route);
        }
    }
}

/// Removes our entries from the top of the Route set (one, or two after double
/// Record-Route).
pub(super) fn pop_our_routes(req: &mut Request) {
    for _ in 0..2 {
        let ours = req
            .headers
            .addr_list(&HeaderName::Route, "Route")
            .ok()
            .and_then(|r| r.into_iter().next())
            .is_some_and(|na| matches!(&na.uri, herald_sip::Uri::Sip(u) if u.user == Some("herald") && u.param("hfa").is_some()));
        if !ours {
            return;
        }
        req.headers.remove_first_value(&HeaderName::Route);
    }
}
