//! Media types: Content-Type (RFC 3261 §20.15) and the entries of Accept (§20.1).

use crate::{
    error::{ParseError, Result},
    params::Params,
    scan::Scanner,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType<'a> {
    pub top: &'a str,
    pub sub: &'a str,
    pub params: Params<'a>,
}

impl<'a> MediaType<'a> {
    pub fn parse(s: &'a str) -> Result<MediaType<'a>> {
        let mut sc = Scanner::new(s);
        let m = Self::parse_from(&mut sc).ok_or_else(|| ParseError::header("Content-Type"))?;
        sc.skip_lws();
        if sc.is_empty() {
            Ok(m)
        } else {
            Err(ParseError::header("Content-Type"))
        }
    }

    /// Parses an Accept value: a comma-separated list (possibly empty).
    pub fn parse_list(s: &'a str) -> Result<Vec<MediaType<'a>>> {
        let mut out = Vec::new();
        let mut sc = Scanner::new(s);
        sc.skip_lws();
        if sc.is_empty() {
            return Ok(out);
        }
        loop {
            out.push(Self::parse_from(&mut sc).ok_or_else(|| ParseError::header("Accept"))?);
            if !sc.eat_sep(b',') {
                sc.skip_lws();
                return if sc.is_empty() {
                    Ok(out)
                } else {
                    Err(ParseError::header("Accept"))
                };
            }
        }
    }

    fn parse_from(sc: &mut Scanner<'a>) -> Option<MediaType<'a>> {
        sc.skip_lws();
        let top = sc.token()?;
        if !sc.eat_sep(b'/') {
            return None;
        }
        let sub = sc.token()?;
        let params = Params::parse(sc)?;
        Some(MediaType { top, sub, params })
    }

    /// Case-insensitive match of `type/subtype`, with `*` wildcards on this side.
    pub fn matches(&self, top: &str, sub: &str) -> bool {
        (self.top == "*" || self.top.eq_ignore_ascii_case(top))
            && (self.sub == "*" || self.sub.eq_ignore_ascii_case(sub))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_and_accept() {
        let m = MediaType::parse("multipart/related;type=\"application/rlmi+xml\";boundary=x")
            .expect("ct");
        assert!(m.matches("Multipart", "RELATED"));
        assert_eq!(m.params.get("boundary"), Some(Some("x")));
        let a = MediaType::parse_list("text/plain, application/*;q=0.5").expect("accept");
        assert!(a[1].matches("application", "pidf+xml"));
        assert!(MediaType::parse("text").is_err());
    }
}
