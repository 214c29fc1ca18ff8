//! The registrar's rules (RFC 3261 §10.3), without I/O: given a REGISTER, the bindings
//! the AOR has now and the flow the request came over, the bindings it has after, or the
//! error response. Contacts match by `+sip.instance` when present (RFC 5626), otherwise by
//! URI equality (§19.1.4).

use std::{
    borrow::Cow,
    net::{IpAddr, SocketAddr},
};

use herald_proto::v1::{FlowRef, Transport};
use herald_sip::{
    header::Contact, text::push_decimal, uri::equivalent_text, HeaderName, Host, Request, Response,
    StatusCode, Uri,
};

use crate::{
    config::HomeConfig,
    reply,
    store::{Aor, Binding},
};

/// Applies `req` to `existing`. `Ok` carries the new binding set (`None`: a fetch, nothing
/// changes); `Err` the response that refuses the request.
pub fn apply(
    req: &Request,
    aor: &Aor,
    existing: &[Binding],
    flow: &FlowRef,
    now: u64,
    cfg: &HomeConfig,
) -> Result<Option<Vec<Binding>>, Response> {
    let bad = |reason: &str| reply::with_reason(req, StatusCode::BAD_REQUEST, reason, cfg);
    let contact = req
        .headers
        .contact()
        .map_err(|_| bad("Bad Contact header"))?;
    let header_expires = req
        .headers
        .expires()
        .map_err(|_| bad("Bad Expires header"))?;
    let call_id = req.headers.call_id().map_err(|_| bad("Bad Call-ID"))?;
    let cseq = req.headers.cseq().map_err(|_| bad("Bad CSeq"))?.seq;
    let addrs = match contact {
        None => return Ok(None),
        Some(Contact::Star) => {
            if header_expires != Some(0) {
                return Err(bad("Contact: * needs Expires: 0"));
            }
            return Ok(Some(Vec::new()));
        }
        Some(Contact::Addrs(a)) => a,
    };
    // Existing bindings are borrowed until the end: a refreshed one is replaced, not
    // copied first (most REGISTERs refresh the one binding an AOR has).
    let mut out: Vec<Cow<'_, Binding>> = existing.iter().map(Cow::Borrowed).collect();
    // Each Contact's URI was parsed with it (a bad one fails `contact()` above).
    for na in &addrs {
        let requested = na
            .expires()
            .or(header_expires)
            .unwrap_or(cfg.default_expires);
        let expires = requested.min(cfg.max_expires);
        if expires > 0 && expires < cfg.min_expires {
            let mut r = reply::to(req, StatusCode::INTERVAL_TOO_BRIEF, cfg);
            r.headers
                .push(HeaderName::MinExpires, cfg.min_expires.to_string());
            return Err(r);
        }
        let instance = na.params.get("+sip.instance").flatten().map(str::to_owned);
        let reg_id = na
            .params
            .get("reg-id")
            .flatten()
            .and_then(|r| r.parse().ok());
        let found = out.iter().position(|b| match (&instance, &b.instance) {
            (Some(i), Some(j)) => i == j && reg_id == b.reg_id,
            _ => equivalent_text(&b.contact, na.uri_raw),
        });
        if let Some(i) = found {
            let old = &out[i];
            if old.call_id == call_id && cseq <= old.cseq {
                return Err(reply::with_reason(
                    req,
                    StatusCode::SERVER_INTERNAL_ERROR,
                    "Out of order REGISTER",
                    cfg,
                ));
            }
            out.remove(i);
        }
        if expires == 0 {
            continue;
        }
        out.push(Cow::Owned(Binding {
            aor: aor.clone(),
            contact: na.uri_raw.to_owned(),
            q: na.q(),
            expires_at: now + u64::from(expires),
            call_id: call_id.to_owned(),
            cseq,
            instance,
            reg_id,
            flow: binding_flow(flow, &na.uri),
            user_agent: req.headers.user_agent().map(str::to_owned),
        }));
    }
    Ok(Some(out.into_iter().map(Cow::into_owned).collect()))
}

/// The 200 OK listing every current binding with its remaining time.
pub fn ok(req: &Request, bindings: &[Binding], now: u64, cfg: &HomeConfig) -> Response {
    let mut r = reply::to(req, StatusCode::OK, cfg);
    for b in bindings {
        // Written without the formatting machinery: one per binding of every REGISTER.
        let mut v = String::with_capacity(b.contact.len() + 28);
        v.push('<');
        v.push_str(&b.contact);
        v.push_str(">;expires=");
        let left = b.expires_at.saturating_sub(now);
        push_decimal(&mut v, u32::try_from(left).unwrap_or(u32::MAX));
        if let Some(q) = b.q {
            v.push_str(";q=");
            push_decimal(&mut v, u32::from(q / 1000));
            v.push('.');
            let milli = q % 1000;
            for d in [milli / 100, milli / 10 % 10, milli % 10] {
                v.push(char::from(b'0' + d as u8));
            }
        }
        r.headers.push(HeaderName::Contact, v);
    }
    r
}

/// Where requests for a contact go. Over connections: down the connection the REGISTER
/// came on (the only way back through NAT, and for WebSocket the only way at all). Over
/// UDP: to the Contact's address when it is a literal IP the server can reach, else (a
/// host name, a private address behind NAT, or an RFC 5626 `ob` contact) to the address
/// the REGISTER came from.
fn binding_flow(flow: &FlowRef, contact: &Uri<'_>) -> FlowRef {
    if flow.transport != Transport::Udp as i32 {
        return flow.clone();
    }
    let Uri::Sip(u) = contact else {
        return flow.clone();
    };
    if u.param("ob").is_some() {
        return flow.clone();
    }
    let ip = match u.host {
        Host::V4(v4) => IpAddr::V4(v4),
        Host::V6(v6) => IpAddr::V6(v6),
        Host::Domain(_) => return flow.clone(),
    };
    let Some(source) = herald_sip::text::parse_socket_addr(&flow.remote) else {
        return flow.clone();
    };
    if ip != source.ip() && behind_nat(ip) {
        return flow.clone();
    }
    FlowRef {
        remote: herald_sip::text::socket_addr(SocketAddr::new(ip, u.port.unwrap_or(5060))),
        ..flow.clone()
    }
}

/// Private, link-local and shared (CGNAT) addresses: a contact with one of these that is
/// not where the REGISTER came from sits behind NAT.
fn behind_nat(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]))
        }
        IpAddr::V6(v6) => {
            v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests;
