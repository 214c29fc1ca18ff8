//! `tel:` URIs (RFC 3966): global (`+...`) and local numbers with `;ext=`,
//! `;phone-context=` and other parameters.

use std::fmt;

use super::{escape::pct_eq_ignore_case, UriError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelUri<'a> {
    /// The number as written, visual separators included.
    pub number: &'a str,
    /// `;name=value` parameters with the leading `;`.
    pub params: &'a str,
}

impl<'a> TelUri<'a> {
    pub(crate) fn parse(s: &'a str) -> Result<TelUri<'a>, UriError> {
        let (number, params) = match s.find(';') {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        };
        let global = number.starts_with('+');
        let digits = number.strip_prefix('+').unwrap_or(number);
        let ok_char = |c: u8| {
            c.is_ascii_digit()
                || b"-.()".contains(&c)
                || (!global && (c.is_ascii_hexdigit() || c == b'*' || c == b'#'))
        };
        if !digits
            .bytes()
            .any(|c| c.is_ascii_hexdigit() || c == b'*' || c == b'#')
            || !digits.bytes().all(ok_char)
        {
            return Err(UriError::Tel);
        }
        let uri = TelUri { number, params };
        for (name, value) in uri.params() {
            if name.is_empty() || value.is_some_and(str::is_empty) {
                return Err(UriError::Param);
            }
        }
        if super::has_duplicate_param(params) {
            return Err(UriError::Param);
        }
        // RFC 3966 §5.1.5: a local number needs a phone-context.
        if !global && uri.param("phone-context").is_none() {
            return Err(UriError::Tel);
        }
        Ok(uri)
    }

    pub fn is_global(&self) -> bool {
        self.number.starts_with('+')
    }

    /// The number without visual separators, e.g. `+12015550123`.
    pub fn digits(&self) -> String {
        self.number
            .chars()
            .filter(|c| !"-.()".contains(*c))
            .collect()
    }

    pub fn params(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> {
        self.params.split(';').skip(1).map(|p| match p.find('=') {
            Some(e) => (&p[..e], Some(&p[e + 1..])),
            None => (p, None),
        })
    }

    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        self.params()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// RFC 3966 §4: numbers compare without visual separators and case-insensitively;
    /// the same parameters must be present with equal values, in any order.
    pub fn equivalent(&self, other: &TelUri<'_>) -> bool {
        if !self.digits().eq_ignore_ascii_case(&other.digits()) {
            return false;
        }
        let count = |t: &TelUri<'_>| t.params().count();
        count(self) == count(other)
            && self.params().all(|(n, v)| match (v, other.param(n)) {
                (None, Some(None)) => true,
                (Some(a), Some(Some(b))) => pct_eq_ignore_case(a, b),
                _ => false,
            })
    }
}

impl fmt::Display for TelUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tel:{}{}", self.number, self.params)
    }
}
