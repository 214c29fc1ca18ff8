//! CSeq (RFC 3261 §20.16): a 32-bit sequence number and a method.

use crate::{
    error::{ParseError, Result},
    scan::{is_token, Scanner},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    pub seq: u32,
    pub method: &'a str,
}

impl<'a> CSeq<'a> {
    pub fn parse(s: &'a str) -> Result<CSeq<'a>> {
        let err = || ParseError::header("CSeq");
        let mut sc = Scanner::new(s);
        sc.skip_lws();
        let digits = sc.take_while(|c| c.is_ascii_digit());
        // Leading zeros are legal; the value must fit in 32 bits (RFC 4475 §3.1.2.4).
        let seq = digits.trim_start_matches('0');
        if digits.is_empty() || seq.len() > 10 {
            return Err(err());
        }
        let seq: u32 = if seq.is_empty() {
            0
        } else {
            seq.parse().map_err(|_| err())?
        };
        let before = sc.pos();
        sc.skip_lws();
        if sc.pos() == before {
            return Err(err());
        }
        let method = sc
            .rest()
            .trim_end_matches(|c: char| c.is_ascii_whitespace());
        if !is_token(method) {
            return Err(err());
        }
        Ok(CSeq { seq, method })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_folded_and_leading_zeros() {
        assert_eq!(
            CSeq::parse("0009\r\n  INVITE"),
            Ok(CSeq {
                seq: 9,
                method: "INVITE"
            })
        );
        assert_eq!(CSeq::parse("4294967295 ACK").map(|c| c.seq), Ok(u32::MAX));
    }

    #[test]
    fn rejects_overflow_and_garbage() {
        assert!(CSeq::parse("4294967296 ACK").is_err());
        assert!(CSeq::parse("36893488147419103232 INVITE").is_err());
        assert!(CSeq::parse("1INVITE").is_err());
        assert!(CSeq::parse("1 IN VITE").is_err());
        assert!(CSeq::parse("INVITE").is_err());
    }
}
