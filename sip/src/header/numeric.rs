//! Numeric headers: Expires, Min-Expires, Max-Forwards, Content-Length, Retry-After.

use crate::{
    error::{ParseError, Result},
    params::Params,
    scan::Scanner,
};

/// `delta-seconds` (RFC 3261 §25.1); overlarge values saturate to `u32::MAX` rather than
/// fail (RFC 4475 §3.1.2.4 allows treating them as the largest value).
pub(crate) fn parse_delta(s: &str) -> Option<u32> {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<u32>().unwrap_or(u32::MAX))
}

pub(crate) fn parse_delta_header(s: &str, name: &'static str) -> Result<u32> {
    parse_delta(s).ok_or_else(|| ParseError::header(name))
}

/// Retry-After (RFC 3261 §20.33): seconds, an optional comment, parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryAfter<'a> {
    pub seconds: u32,
    pub comment: Option<&'a str>,
    pub params: Params<'a>,
}

impl<'a> RetryAfter<'a> {
    pub fn parse(s: &'a str) -> Result<RetryAfter<'a>> {
        let err = || ParseError::header("Retry-After");
        let mut sc = Scanner::new(s);
        sc.skip_lws();
        let digits = sc.take_while(|c| c.is_ascii_digit());
        // Unlike Expires, an overlarge Retry-After is an error (RFC 4475 §3.1.2.5).
        let seconds: u32 = digits.parse().map_err(|_| err())?;
        sc.skip_lws();
        let comment = if sc.eat(b'(') {
            let start = sc.pos();
            sc.take_while(|c| c != b')');
            let c = sc.slice(start, sc.pos());
            if !sc.eat(b')') {
                return Err(err());
            }
            Some(c)
        } else {
            None
        };
        let params = Params::parse(&mut sc).ok_or_else(err)?;
        sc.skip_lws();
        if !sc.is_empty() {
            return Err(err());
        }
        Ok(RetryAfter {
            seconds,
            comment,
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_and_retry_after() {
        assert_eq!(parse_delta(" 0068 "), Some(68));
        assert_eq!(parse_delta("10000000000"), Some(u32::MAX));
        assert_eq!(parse_delta("-1"), None);
        let r = RetryAfter::parse("120 (I'm in a meeting);duration=3600").expect("ra");
        assert_eq!((r.seconds, r.comment), (120, Some("I'm in a meeting")));
        assert!(RetryAfter::parse("18446744073709551616").is_err());
    }
}
