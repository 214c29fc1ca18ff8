//! Via (RFC 3261 §20.42): `SIP / 2.0 / UDP host:port ;params`, LWS allowed around `/`.

use crate::{
    error::{ParseError, Result},
    params::Params,
    scan::{is_token_char, Scanner},
    uri::{host::parse_port_host, Host},
};

/// The RFC 3261 branch prefix.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via<'a> {
    /// Protocol name and version, e.g. `SIP` and `2.0`.
    pub protocol: (&'a str, &'a str),
    /// Transport token as written (`UDP`, `TCP`, `TLS`, `WS`, `WSS`, or unknown ones).
    pub transport: &'a str,
    pub host: Host<'a>,
    pub port: Option<u16>,
    pub params: Params<'a>,
}

impl<'a> Via<'a> {
    pub fn branch(&self) -> Option<&'a str> {
        self.params.get("branch").flatten()
    }

    pub fn received(&self) -> Option<&'a str> {
        self.params.get("received").flatten()
    }

    /// `Some(None)` for a bare `;rport` (a request for symmetric response routing).
    pub fn rport(&self) -> Option<Option<&'a str>> {
        self.params.get("rport")
    }

    /// Whether the branch carries the RFC 3261 magic cookie.
    pub fn is_rfc3261(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with(MAGIC_COOKIE))
    }

    /// Parses every via-parm of one header value.
    pub(crate) fn parse_line(s: &'a str, out: &mut impl FnMut(Via<'a>)) -> Result<()> {
        let mut sc = Scanner::new(s);
        loop {
            out(Self::parse_one(&mut sc).ok_or_else(|| ParseError::header("Via"))?);
            if !sc.eat_sep(b',') {
                sc.skip_lws();
                return if sc.is_empty() {
                    Ok(())
                } else {
                    Err(ParseError::header("Via"))
                };
            }
        }
    }

    fn parse_one(sc: &mut Scanner<'a>) -> Option<Via<'a>> {
        sc.skip_lws();
        let name = sc.token()?;
        if !sc.eat_sep(b'/') {
            return None;
        }
        let version = sc.token()?;
        if !sc.eat_sep(b'/') {
            return None;
        }
        let transport = sc.token()?;
        sc.skip_lws();
        let start = sc.pos();
        if sc.peek() == Some(b'[') {
            sc.take_while(|c| c != b']');
            if !sc.eat(b']') {
                return None;
            }
        } else {
            sc.take_while(|c| is_token_char(c) && c != b'%');
        }
        let host_text = sc.slice(start, sc.pos());
        let port_text = if sc.eat_sep(b':') {
            Some(sc.take_while(|c| c.is_ascii_digit()))
        } else {
            None
        };
        let (host, port) = parse_port_host(host_text, port_text).ok()?;
        let params = Params::parse(sc)?;
        Some(Via {
            protocol: (name, version),
            transport,
            host,
            port,
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vias(s: &str) -> Result<Vec<Via<'_>>> {
        let mut v = Vec::new();
        Via::parse_line(s, &mut |x| v.push(x))?;
        Ok(v)
    }

    #[test]
    fn folded_via_with_lws() {
        let v = vias("SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239")
            .expect("vias");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].transport, "TCP");
        assert_eq!(v[0].branch(), Some("z9hG4bK9ikj8"));
        assert_eq!(v[1].host, Host::V4("192.168.255.111".parse().expect("ip")));
        assert_eq!(v[1].branch(), Some("z9hG4bK30239"));
    }

    #[test]
    fn ports_ipv6_and_rport() {
        let v = vias("SIP/2.0/UDP [2001:db8::9]:5070;rport;branch=z9hG4bKx").expect("via");
        assert_eq!(v[0].port, Some(5070));
        assert_eq!(v[0].rport(), Some(None));
        assert!(v[0].is_rfc3261());
    }

    #[test]
    fn rejects_separator_soup() {
        assert!(vias(";;,;,,").is_err());
        assert!(vias("SIP/2.0/UDP h;branch=1,,SIP/2.0/UDP g").is_err());
        assert!(vias("SIP/2.0 h").is_err());
    }
}
