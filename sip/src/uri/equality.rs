//! SIP URI comparison, RFC 3261 §19.1.4.

use super::{escape::pct_eq_ignore_case, pct_decode, pct_eq, SipUri};

/// Parameters that, when present in either URI, must be present and equal in both.
const MUST_MATCH: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];

/// Compares two URIs given as text: by the §19.1.4 rules when both parse, as text
/// otherwise (a URI this parser refuses is still equal to itself). The same text is
/// equivalent without parsing (the rules are reflexive): a refreshed binding's contact or
/// a digest-uri usually repeats the other byte for byte.
pub fn equivalent_text(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (super::Uri::parse(a), super::Uri::parse(b)) {
        (Ok(x), Ok(y)) => x.equivalent(&y),
        _ => a == b,
    }
}

pub(super) fn sip_equivalent(a: &SipUri<'_>, b: &SipUri<'_>) -> bool {
    if a.scheme != b.scheme || a.port != b.port || !a.host.equivalent(&b.host) {
        return false;
    }
    // User and password compare case-sensitively, after unescaping.
    let same_opt = |x: Option<&str>, y: Option<&str>| match (x, y) {
        (None, None) => true,
        (Some(x), Some(y)) => pct_eq(x, y),
        _ => false,
    };
    if !same_opt(a.user, b.user) || !same_opt(a.password, b.password) {
        return false;
    }
    for name in MUST_MATCH {
        match (a.param(name), b.param(name)) {
            (None, None) => {}
            (Some(x), Some(y)) if same_value(x, y) => {}
            _ => return false,
        }
    }
    // Any other parameter appearing in both must match.
    for (name, va) in a.params() {
        if let Some(vb) = b.param(name) {
            if !same_value(va, vb) {
                return false;
            }
        }
    }
    headers_set(a.headers) == headers_set(b.headers)
}

fn same_value(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => pct_eq_ignore_case(x, y),
        _ => false,
    }
}

fn headers_set(h: Option<&str>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = h
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (
                pct_decode(k).to_ascii_lowercase(),
                pct_decode(v).into_owned(),
            )
        })
        .collect();
    v.sort();
    v
}
