//! Hosts: domain names, IPv4 addresses and IPv6 references.

use std::{
    fmt,
    net::{Ipv4Addr, Ipv6Addr},
};

use super::UriError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host<'a> {
    /// A domain name as written (compare case-insensitively).
    Domain(&'a str),
    V4(Ipv4Addr),
    /// An IPv6 reference; written in brackets.
    V6(Ipv6Addr),
}

impl<'a> Host<'a> {
    pub fn parse(s: &'a str) -> Result<Host<'a>, UriError> {
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(UriError::Host)?;
            return inner.parse().map(Host::V6).map_err(|_| UriError::Host);
        }
        if s.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
            if let Some(ip) = crate::text::parse_ipv4(s) {
                return Ok(Host::V4(ip));
            }
        }
        if is_domain(s.as_bytes()) {
            Ok(Host::Domain(s))
        } else {
            Err(UriError::Host)
        }
    }

    /// Host equality: domains case-insensitively, addresses by value.
    pub fn equivalent(&self, other: &Host<'_>) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            (Host::V4(a), Host::V4(b)) => a == b,
            (Host::V6(a), Host::V6(b)) => a == b,
            _ => false,
        }
    }
}

/// Dot-separated labels of letters, digits and hyphens, none empty, none starting or
/// ending with a hyphen; one trailing dot (the root) allowed. One pass over the bytes: a
/// host is checked several times per request.
fn is_domain(s: &[u8]) -> bool {
    let labels = s.strip_suffix(b".").unwrap_or(s);
    // The byte before the current one; a dot "before" the start makes an empty or
    // hyphen-led first label fail like any other.
    let mut prev = b'.';
    for &c in labels {
        match c {
            b'.' if prev == b'.' || prev == b'-' => return false,
            b'-' if prev == b'.' => return false,
            b'.' | b'-' => {}
            c if c.is_ascii_alphanumeric() => {}
            _ => return false,
        }
        prev = c;
    }
    prev != b'.' && prev != b'-'
}

/// Parses `host[:port]`.
pub(crate) fn parse_hostport(s: &str) -> Result<(Host<'_>, Option<u16>), UriError> {
    let (host, port) = if s.starts_with('[') {
        match memchr::memchr(b']', s.as_bytes()) {
            Some(end) => (&s[..=end], s[end + 1..].strip_prefix(':')),
            None => return Err(UriError::Host),
        }
    } else {
        match memchr::memrchr(b':', s.as_bytes()) {
            Some(c) => (&s[..c], Some(&s[c + 1..])),
            None => (s, None),
        }
    };
    if s.starts_with('[') && port.is_none() && s.len() > host.len() {
        return Err(UriError::Port);
    }
    let port = match port {
        Some(p) => Some(parse_port(p).ok_or(UriError::Port)?),
        None => None,
    };
    Ok((Host::parse(host)?, port))
}

pub(crate) fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

impl Host<'_> {
    /// Appends the host as `Display` writes it, without the formatting machinery for
    /// names and IPv4 addresses.
    pub fn push_to(&self, out: &mut String) {
        match self {
            Host::Domain(d) => out.push_str(d),
            Host::V4(ip) => crate::text::push_ipv4(out, *ip),
            Host::V6(ip) => {
                use fmt::Write as _;
                // Writing to a String cannot fail.
                let _ = write!(out, "[{ip}]");
            }
        }
    }
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::V4(ip) => write!(f, "{ip}"),
            Host::V6(ip) => write!(f, "[{ip}]"),
        }
    }
}

/// Builds a host and port from separately scanned text (a Via's sent-by).
pub(crate) fn parse_port_host<'a>(
    host: &'a str,
    port: Option<&str>,
) -> Result<(Host<'a>, Option<u16>), UriError> {
    let port = match port {
        Some(p) => Some(parse_port(p).ok_or(UriError::Port)?),
        None => None,
    };
    Ok((Host::parse(host)?, port))
}
