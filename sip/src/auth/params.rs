//! Parsing of `Authorization` / `Proxy-Authorization` credentials and of
//! `WWW-Authenticate` / `Proxy-Authenticate` challenges (RFC 3261 §25.1): a scheme token,
//! then `name=value` pairs (token or quoted string) separated by commas, with LWS anywhere.

use std::borrow::Cow;

use super::{Algorithm, DigestError};
use crate::scan::{unquote, Scanner};

/// Quality of protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qop {
    Auth,
}

/// Digest credentials from a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials<'a> {
    pub username: Cow<'a, str>,
    pub realm: Cow<'a, str>,
    pub nonce: Cow<'a, str>,
    pub uri: Cow<'a, str>,
    /// The response hash, as sent (hex).
    pub response: Cow<'a, str>,
    pub algorithm: Algorithm,
    pub cnonce: Option<Cow<'a, str>>,
    pub opaque: Option<Cow<'a, str>>,
    pub qop: Option<Qop>,
    /// The nonce count; `None` without qop.
    pub nc: Option<u32>,
    /// nc as sent (it enters the hash as written).
    pub nc_raw: Option<&'a str>,
}

impl<'a> Credentials<'a> {
    /// Parses a credentials header value. A scheme other than Digest gives
    /// [`DigestError::UnsupportedScheme`] (the server answers with a fresh challenge).
    pub fn parse(s: &'a str) -> Result<Credentials<'a>, DigestError> {
        let pairs = parse_scheme_and_params(s)?;
        const NAMES: [&str; 10] = [
            "username",
            "realm",
            "nonce",
            "uri",
            "response",
            "algorithm",
            "cnonce",
            "opaque",
            "qop",
            "nc",
        ];
        let found = pick(&pairs, NAMES)?;
        let get = |i: usize| found[i].map(Param::value);
        let need = |i: usize| get(i).ok_or(DigestError::MissingParam(NAMES[i]));
        let username = need(0)?;
        let realm = need(1)?;
        let nonce = need(2)?;
        let uri = need(3)?;
        let response = need(4)?;
        let algorithm = match get(5) {
            Some(a) => Algorithm::parse(&a)?,
            None => Algorithm::Md5,
        };
        let cnonce = get(6);
        let opaque = get(7);
        let qop = match get(8) {
            Some(q) if q.eq_ignore_ascii_case("auth") => Some(Qop::Auth),
            Some(q) => return Err(DigestError::UnsupportedQop(q.into_owned())),
            None => None,
        };
        let nc_raw = found[9].map(|p| p.raw);
        let nc = match nc_raw {
            Some(v) if v.len() == 8 && v.bytes().all(|c| c.is_ascii_hexdigit()) => Some(
                u32::from_str_radix(v, 16).map_err(|_| DigestError::BadNonceCount(v.to_owned()))?,
            ),
            Some(v) => return Err(DigestError::BadNonceCount(v.to_owned())),
            None => None,
        };
        if qop.is_some() && (cnonce.is_none() || nc.is_none()) {
            return Err(DigestError::QopWithoutCnonce);
        }
        Ok(Credentials {
            username,
            realm,
            nonce,
            uri,
            response,
            algorithm,
            cnonce,
            opaque,
            qop,
            nc,
            nc_raw,
        })
    }
}

/// One `name=value`; `raw` is the value as written (quotes included if quoted).
#[derive(Debug)]
pub(super) struct Param<'a> {
    pub raw: &'a str,
    pub quoted: bool,
}

impl<'a> Param<'a> {
    pub(super) fn value(&self) -> Cow<'a, str> {
        if self.quoted {
            unquote(&self.raw[1..self.raw.len() - 1])
        } else {
            Cow::Borrowed(self.raw)
        }
    }
}

/// The parameters named in `names` (case-insensitive), in that order; an error if one
/// appears twice. One pass over the pairs, each name looked up once (credentials are
/// read for every authenticated request).
pub(super) fn pick<'p, 'a, const N: usize>(
    pairs: &'p [(&'a str, Param<'a>)],
    names: [&'static str; N],
) -> Result<[Option<&'p Param<'a>>; N], DigestError> {
    let mut found = [None; N];
    for (name, param) in pairs {
        let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(name)) else {
            continue;
        };
        if found[i].replace(param).is_some() {
            return Err(DigestError::DuplicateParam(names[i].to_owned()));
        }
    }
    Ok(found)
}

/// Parses `Digest name=value, ...`; refuses other schemes.
pub(super) fn parse_scheme_and_params(s: &str) -> Result<Vec<(&str, Param<'_>)>, DigestError> {
    let mut sc = Scanner::new(s);
    sc.skip_lws();
    let scheme = sc.token().ok_or(DigestError::Syntax(sc.pos()))?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(DigestError::UnsupportedScheme(scheme.to_owned()));
    }
    let before = sc.pos();
    sc.skip_lws();
    if sc.pos() == before {
        return Err(DigestError::Syntax(sc.pos()));
    }
    let mut pairs = Vec::with_capacity(10);
    loop {
        let name = sc.token().ok_or(DigestError::Syntax(sc.pos()))?;
        if !sc.eat_sep(b'=') {
            return Err(DigestError::Syntax(sc.pos()));
        }
        let start = sc.pos();
        let quoted = sc.peek() == Some(b'"');
        if quoted {
            sc.quoted().ok_or(DigestError::Syntax(start))?;
        } else {
            sc.token().ok_or(DigestError::Syntax(start))?;
        }
        pairs.push((
            name,
            Param {
                raw: sc.slice(start, sc.pos()),
                quoted,
            },
        ));
        if !sc.eat_sep(b',') {
            sc.skip_lws();
            return if sc.is_empty() {
                Ok(pairs)
            } else {
                Err(DigestError::Syntax(sc.pos()))
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIP: &str = "Digest username=\"alice\", realm=\"example.com\",\r\n nonce=\"abc\", uri=\"sip:example.com\",\
                       response=\"0123\", algorithm=SHA-256, cnonce=\"x\\\"y\", qop=auth, nc=0000000a, opaque=\"o\"";

    #[test]
    fn parses_folded_sip_credentials() {
        let c = Credentials::parse(SIP).expect("creds");
        assert_eq!(
            (&*c.username, &*c.realm, &*c.uri),
            ("alice", "example.com", "sip:example.com")
        );
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.cnonce.as_deref(), Some("x\"y"));
        assert_eq!(
            (c.nc, c.nc_raw, c.qop),
            (Some(10), Some("0000000a"), Some(Qop::Auth))
        );
    }

    #[test]
    fn unknown_scheme_is_typed() {
        assert_eq!(
            Credentials::parse("NoOneKnowsThisScheme opaque-data=here"),
            Err(DigestError::UnsupportedScheme(
                "NoOneKnowsThisScheme".into()
            ))
        );
    }

    #[test]
    fn refuses_bad_forms() {
        let no_uri = "Digest username=\"a\", realm=\"r\", nonce=\"n\", response=\"x\"";
        assert_eq!(
            Credentials::parse(no_uri),
            Err(DigestError::MissingParam("uri"))
        );
        let dup = "Digest username=\"a\", username=\"b\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\"";
        assert_eq!(
            Credentials::parse(dup),
            Err(DigestError::DuplicateParam("username".into()))
        );
        let dup_nc = "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\", qop=auth, cnonce=\"c\", nc=00000001, NC=00000002";
        assert_eq!(
            Credentials::parse(dup_nc),
            Err(DigestError::DuplicateParam("nc".into()))
        );
        let nc = "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\", qop=auth, cnonce=\"c\", nc=1";
        assert_eq!(
            Credentials::parse(nc),
            Err(DigestError::BadNonceCount("1".into()))
        );
        let qop =
            "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\", qop=auth";
        assert_eq!(Credentials::parse(qop), Err(DigestError::QopWithoutCnonce));
        let alg = "Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\", response=\"x\", algorithm=MD5-sess";
        assert!(matches!(
            Credentials::parse(alg),
            Err(DigestError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn truncations_never_panic() {
        for i in 0..SIP.len() {
            if SIP.is_char_boundary(i) {
                let _ = Credentials::parse(&SIP[..i]);
            }
        }
    }
}
