//! `name-addr` / `addr-spec` with header parameters (RFC 3261 §20.10, §25.1): the value form
//! of From, To, Contact, Route, Record-Route, Path, Refer-To and friends.

use crate::{
    params::Params,
    scan::{is_lws, is_token_char, unquote, Scanner},
    uri::Uri,
};

/// A parsed address with its header parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// Display name as written (content of the quotes, escapes kept; or the tokens).
    pub display: Option<&'a str>,
    pub uri: Uri<'a>,
    /// The URI text exactly as written.
    pub uri_raw: &'a str,
    /// Whether the URI was enclosed in `<>`.
    pub bracketed: bool,
    pub params: Params<'a>,
}

impl<'a> NameAddr<'a> {
    /// Parses one name-addr with its parameters; the whole input must be consumed.
    pub fn parse(s: &'a str) -> Option<NameAddr<'a>> {
        let mut sc = Scanner::new(s);
        let na = Self::parse_from(&mut sc)?;
        sc.skip_lws();
        sc.is_empty().then_some(na)
    }

    pub(crate) fn parse_from(sc: &mut Scanner<'a>) -> Option<NameAddr<'a>> {
        let (display, uri_raw, bracketed) = Self::split_from(sc)?;
        let uri = Uri::parse(uri_raw).ok()?;
        let params = Params::parse(sc)?;
        Some(NameAddr {
            display,
            uri,
            uri_raw,
            bracketed,
            params,
        })
    }

    /// The header parameters of one name-addr (the whole input must be consumed), with the
    /// URI delimited but not parsed: what reading a tag needs, at a fraction of the cost of
    /// [`NameAddr::parse`]. Validation has already parsed the URI of every message received.
    pub fn params_of(s: &'a str) -> Option<Params<'a>> {
        let mut sc = Scanner::new(s);
        Self::split_from(&mut sc)?;
        let params = Params::parse(&mut sc)?;
        sc.skip_lws();
        sc.is_empty().then_some(params)
    }

    /// Display name, URI text and whether it was bracketed; leaves `sc` at the parameters.
    fn split_from(sc: &mut Scanner<'a>) -> Option<(Option<&'a str>, &'a str, bool)> {
        sc.skip_lws();
        let display = match sc.peek()? {
            b'"' => {
                let d = sc.quoted()?;
                sc.skip_lws();
                if sc.peek() != Some(b'<') {
                    return None;
                }
                Some(d)
            }
            b'<' => None,
            _ => {
                // *(token LWS) followed by '<' is a display name; anything else is addr-spec.
                let start = sc.pos();
                sc.take_while(|c| is_token_char(c) || is_lws(c));
                if sc.peek() == Some(b'<') {
                    Some(
                        sc.slice(start, sc.pos())
                            .trim_end_matches(|c: char| c.is_ascii_whitespace()),
                    )
                } else {
                    sc.set_pos(start);
                    None
                }
            }
        };
        let (uri_raw, bracketed) = if sc.eat(b'<') {
            // No white space is allowed inside the brackets (RFC 4475 §3.1.2.14).
            let raw = sc.take_while(|c| c != b'>' && !is_lws(c));
            if !sc.eat(b'>') {
                return None;
            }
            (raw, true)
        } else {
            // In addr-spec form ';' starts header parameters, and the URI may not carry
            // '?', ',' or ';' (RFC 3261 §20).
            let raw = sc.take_while(|c| !matches!(c, b';' | b',') && !is_lws(c));
            if raw.contains('?') {
                return None;
            }
            (raw, false)
        };
        Some((display, uri_raw, bracketed))
    }

    /// The display name with quotes and escapes removed.
    pub fn display_name(&self) -> Option<std::borrow::Cow<'a, str>> {
        self.display.map(unquote)
    }

    pub fn tag(&self) -> Option<&'a str> {
        self.params.get("tag").flatten()
    }
}

/// Parses a comma-separated list of name-addrs (Contact, Route, Record-Route, Path).
pub(crate) fn parse_list(s: &str) -> Option<Vec<NameAddr<'_>>> {
    let mut out = Vec::new();
    let mut sc = Scanner::new(s);
    loop {
        out.push(NameAddr::parse_from(&mut sc)?);
        if !sc.eat_sep(b',') {
            sc.skip_lws();
            return sc.is_empty().then_some(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_display_name_with_escapes() {
        let na = NameAddr::parse(
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
        )
        .expect("parse");
        assert_eq!(na.display_name().as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(na.tag(), Some("98asjd8"));
        assert!(na.bracketed);
    }

    #[test]
    fn addr_spec_params_are_header_params() {
        let na = NameAddr::parse("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n")
            .expect("parse");
        assert_eq!(na.tag(), Some("1918181833n"));
        assert_eq!(na.uri_raw, "sip:vivekg@chair-dnrc.example.com");
    }

    #[test]
    fn token_display_name_and_no_lws_before_angle() {
        let na = NameAddr::parse("Bob Smith<sip:bob@h>").expect("parse");
        assert_eq!(na.display, Some("Bob Smith"));
        assert!(NameAddr::parse("\"caller\"<sip:caller@example.com>;tag=1").is_some());
    }

    #[test]
    fn rejects_bad_forms() {
        assert!(NameAddr::parse("\"unterminated <sip:a@b>").is_none());
        assert!(NameAddr::parse("Bell, Alexander <sip:a.g.bell@example.com>").is_none());
        assert!(NameAddr::parse("< sip:t.watson@example.org >").is_none());
        assert!(NameAddr::parse("sip:user@example.com?Route=%3Csip:x%3E").is_none());
        assert!(NameAddr::parse(";;;;").is_none());
    }

    #[test]
    fn params_alone_read_the_same_tag_as_a_full_parse() {
        let values = [
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
            "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
            "Bob Smith<sip:bob@h>;tag=x;foo",
            "<sip:a@h;tag=not-a-header-param>",
            "sip:a@h;tag=header-param",
            "<sip:bob@example.com>",
            "\"a;tag=q\" <sip:a@h>;TAG=upper",
            "<sip:a@h>;tag",
        ];
        for v in values {
            let full = NameAddr::parse(v).unwrap_or_else(|| panic!("{v} parses"));
            let params = NameAddr::params_of(v).unwrap_or_else(|| panic!("{v} splits"));
            assert_eq!(params.get("tag"), full.params.get("tag"), "{v}");
        }
        for bad in [
            "\"unterminated <sip:a@b>",
            "<sip:a@b",
            "<sip:a@b> junk",
            ";;;;",
            "",
        ] {
            assert!(NameAddr::params_of(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn list_splits_on_commas() {
        let l = parse_list("<sip:a@h>;q=0.5, \"B, x\" <sip:b@h>").expect("list");
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].display, Some("B, x"));
        assert!(parse_list("<sip:a@h>,,<sip:b@h>").is_none());
    }
}
