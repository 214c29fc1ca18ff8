//! URIs: `sip:`/`sips:` (RFC 3261 §19.1), `tel:` (RFC 3966), and any other absolute URI kept
//! as text. Parsed views borrow from the text they came from.

mod equality;
mod escape;
pub(crate) mod host;
mod tel;

use std::fmt;

use crate::charclass;

pub use equality::equivalent_text;
pub use escape::{pct_decode, pct_eq};
pub use host::Host;
pub use tel::TelUri;

/// Why a URI did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    #[error("URI has no scheme")]
    NoScheme,
    #[error("malformed user part")]
    User,
    #[error("malformed host")]
    Host,
    #[error("malformed port")]
    Port,
    #[error("malformed URI parameter")]
    Param,
    #[error("malformed URI headers")]
    Headers,
    #[error("malformed telephone number")]
    Tel,
    #[error("illegal character in URI")]
    Char,
}

/// The URI schemes Herald understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Sip,
    Sips,
}

/// A parsed URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri<'a> {
    Sip(SipUri<'a>),
    Tel(TelUri<'a>),
    /// Any other absolute URI: the scheme and everything after the colon.
    Other {
        scheme: &'a str,
        rest: &'a str,
    },
}

/// A `sip:` or `sips:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri<'a> {
    pub scheme: Scheme,
    /// User part, still %-escaped (compare with [`pct_eq`]).
    pub user: Option<&'a str>,
    pub password: Option<&'a str>,
    pub host: Host<'a>,
    pub port: Option<u16>,
    /// `;name=value` parameters, without the leading `;`, still escaped.
    pub params: &'a str,
    /// `?name=value&...` headers, without the `?`.
    pub headers: Option<&'a str>,
}

impl<'a> Uri<'a> {
    /// Parses a URI that stands alone (a Request-URI or the inside of `<...>`).
    pub fn parse(s: &'a str) -> Result<Uri<'a>, UriError> {
        let colon = memchr::memchr(b':', s.as_bytes()).ok_or(UriError::NoScheme)?;
        let scheme = &s[..colon];
        let rest = &s[colon + 1..];
        if scheme.is_empty()
            || !scheme.as_bytes()[0].is_ascii_alphabetic()
            || !scheme
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        {
            return Err(UriError::NoScheme);
        }
        if scheme.eq_ignore_ascii_case("sip") {
            SipUri::parse_rest(Scheme::Sip, rest).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("sips") {
            SipUri::parse_rest(Scheme::Sips, rest).map(Uri::Sip)
        } else if scheme.eq_ignore_ascii_case("tel") {
            TelUri::parse(rest).map(Uri::Tel)
        } else {
            if rest.is_empty() || !rest.bytes().all(is_uric) {
                return Err(UriError::Char);
            }
            Ok(Uri::Other { scheme, rest })
        }
    }

    pub fn as_sip(&self) -> Option<&SipUri<'a>> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// URI equality per RFC 3261 §19.1.4 (sip/sips) and RFC 3966 §4 (tel); other schemes
    /// compare case-insensitively by scheme and exactly by the rest.
    pub fn equivalent(&self, other: &Uri<'_>) -> bool {
        match (self, other) {
            (Uri::Sip(a), Uri::Sip(b)) => equality::sip_equivalent(a, b),
            (Uri::Tel(a), Uri::Tel(b)) => a.equivalent(b),
            (
                Uri::Other {
                    scheme: s1,
                    rest: r1,
                },
                Uri::Other {
                    scheme: s2,
                    rest: r2,
                },
            ) => s1.eq_ignore_ascii_case(s2) && r1 == r2,
            _ => false,
        }
    }
}

impl<'a> SipUri<'a> {
    fn parse_rest(scheme: Scheme, s: &'a str) -> Result<SipUri<'a>, UriError> {
        // userinfo ends at the '@'; user and password cannot contain a raw '@'.
        let (user, password, hostpart) = match memchr::memchr(b'@', s.as_bytes()) {
            Some(at) => {
                let userinfo = &s[..at];
                let (user, password) = match memchr::memchr(b':', userinfo.as_bytes()) {
                    Some(c) => (&userinfo[..c], Some(&userinfo[c + 1..])),
                    None => (userinfo, None),
                };
                if user.is_empty() || !user.bytes().all(is_user_char) {
                    return Err(UriError::User);
                }
                if password.is_some_and(|p| !p.bytes().all(is_password_char)) {
                    return Err(UriError::User);
                }
                (Some(user), password, &s[at + 1..])
            }
            None => (None, None, s),
        };
        let (hostport, params, headers) = split_params_headers(hostpart);
        let (host, port) = host::parse_hostport(hostport)?;
        if !params.is_empty()
            && (!params.split(';').skip(1).all(valid_uri_param) || has_duplicate_param(params))
        {
            return Err(UriError::Param);
        }
        if let Some(h) = headers {
            if h.is_empty() || !charclass::all(h.as_bytes(), charclass::URI_HEADER) {
                return Err(UriError::Headers);
            }
        }
        Ok(SipUri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// A URI parameter's value (`Some(None)` when present without a value).
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        uri_params(self.params)
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Iterates the URI parameters as `(name, value)` pairs, still escaped.
    pub fn params(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> {
        uri_params(self.params)
    }

    /// The canonical address-of-record form: `sip:user@host` (scheme, unescaped user,
    /// lower-case host, no port, no parameters). Used as the key for bindings and users.
    pub fn aor(&self) -> String {
        let mut s = String::with_capacity(48);
        s.push_str(match self.scheme {
            Scheme::Sip => "sip:",
            Scheme::Sips => "sips:",
        });
        self.push_user_host(&mut s);
        s
    }

    /// The address-of-record without its scheme: `user@host` or `host` (see
    /// [`SipUri::push_user_host`]).
    pub fn user_host(&self) -> String {
        let mut s = String::with_capacity(48);
        self.push_user_host(&mut s);
        s
    }

    /// Appends the address-of-record without its scheme: `user@host` (unescaped user,
    /// lower-case host) or `host`. One buffer, no formatting machinery: the registrar
    /// and the router build it for every request.
    pub fn push_user_host(&self, out: &mut String) {
        if let Some(u) = self.user {
            out.push_str(&pct_decode(u));
            out.push('@');
        }
        let host = out.len();
        self.host.push_to(out);
        out[host..].make_ascii_lowercase();
    }
}

fn uri_params(raw: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    raw.split(';')
        .skip(1)
        .map(|p| match memchr::memchr(b'=', p.as_bytes()) {
            Some(e) => (&p[..e], Some(&p[e + 1..])),
            None => (p, None),
        })
}

/// Splits `host[:port][;params][?headers]`; the params slice keeps its leading `;`.
fn split_params_headers(s: &str) -> (&str, &str, Option<&str>) {
    let (before, headers) = match memchr::memchr(b'?', s.as_bytes()) {
        Some(q) => (&s[..q], Some(&s[q + 1..])),
        None => (s, None),
    };
    // A ';' inside an IPv6 reference cannot occur, so the first ';' starts the parameters.
    match memchr::memchr(b';', before.as_bytes()) {
        Some(semi) => (&before[..semi], &before[semi..], headers),
        None => (before, "", headers),
    }
}

/// RFC 3261 §19.1.1 (and RFC 3966 §5.3 for tel): a parameter name must not appear more
/// than once (equality and routing would otherwise depend on which occurrence is read).
pub(super) fn has_duplicate_param(params: &str) -> bool {
    // Quadratic but allocation-free: URIs carry a handful of parameters.
    uri_params(params).enumerate().any(|(i, (a, _))| {
        uri_params(params)
            .take(i)
            .any(|(b, _)| a.eq_ignore_ascii_case(b))
    })
}

fn valid_uri_param(p: &str) -> bool {
    let (name, value) = match memchr::memchr(b'=', p.as_bytes()) {
        Some(e) => (&p[..e], Some(&p[e + 1..])),
        None => (p, None),
    };
    !name.is_empty()
        && name.bytes().all(is_paramchar)
        && value.is_none_or(|v| !v.is_empty() && v.bytes().all(is_paramchar))
}

fn is_user_char(c: u8) -> bool {
    charclass::is(c, charclass::USER)
}

fn is_password_char(c: u8) -> bool {
    charclass::is(c, charclass::PASSWORD)
}

fn is_paramchar(c: u8) -> bool {
    charclass::is(c, charclass::PARAM)
}

/// RFC 2396 uric, for absolute URIs of other schemes.
fn is_uric(c: u8) -> bool {
    charclass::is(c, charclass::URIC)
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => u.fmt(f),
            Uri::Tel(t) => t.fmt(f),
            Uri::Other { scheme, rest } => write!(f, "{scheme}:{rest}"),
        }
    }
}

impl fmt::Display for SipUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.scheme {
            Scheme::Sip => "sip:",
            Scheme::Sips => "sips:",
        })?;
        if let Some(u) = self.user {
            f.write_str(u)?;
            if let Some(p) = self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        f.write_str(self.params)?;
        if let Some(h) = self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
