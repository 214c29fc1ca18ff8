//! Contact (RFC 3261 §20.10): `*` or a list of addresses with `q` and `expires` parameters.

use crate::{
    error::{ParseError, Result},
    name_addr::{parse_list, NameAddr},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact<'a> {
    /// `Contact: *` (remove all bindings, RFC 3261 §10.2.2).
    Star,
    Addrs(Vec<NameAddr<'a>>),
}

impl<'a> Contact<'a> {
    pub fn parse(s: &'a str) -> Result<Contact<'a>> {
        if s.trim() == "*" {
            return Ok(Contact::Star);
        }
        parse_list(s)
            .map(Contact::Addrs)
            .ok_or_else(|| ParseError::header("Contact"))
    }
}

impl<'a> NameAddr<'a> {
    /// The `expires` contact parameter, if present and numeric.
    pub fn expires(&self) -> Option<u32> {
        self.params
            .get("expires")
            .flatten()
            .and_then(super::numeric::parse_delta)
    }

    /// The `q` contact parameter in thousandths (1000 = 1.0); `None` when absent or invalid.
    pub fn q(&self) -> Option<u16> {
        let q = self.params.get("q").flatten()?;
        let (int, frac) = q.split_once('.').unwrap_or((q, ""));
        if frac.len() > 3 || !frac.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let frac_val: u16 = format!("{frac:0<3}").parse().ok()?;
        match int {
            "0" => Some(frac_val),
            "1" if frac_val == 0 => Some(1000),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_params() {
        assert_eq!(Contact::parse(" * "), Ok(Contact::Star));
        let Ok(Contact::Addrs(a)) = Contact::parse("<sip:a@h>;q=0.7;expires=60, <sip:b@h>;q=1")
        else {
            panic!("contact did not parse")
        };
        assert_eq!(a[0].q(), Some(700));
        assert_eq!(a[0].expires(), Some(60));
        assert_eq!(a[1].q(), Some(1000));
    }

    #[test]
    fn rejects_empty_params() {
        assert!(Contact::parse(";;;;").is_err());
        assert!(Contact::parse("sip:user@example.com?Route=%3Csip:sip.example.com%3E").is_err());
    }
}
