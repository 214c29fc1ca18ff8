//! Header parameters (`;name=value` after a header value, RFC 3261 §25.1 generic-param).
//! Validated once when the header is parsed; read lazily without allocating.

use crate::scan::{is_token_char, Scanner};

/// The parameter list of a header value, kept as the text it came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Params<'a> {
    raw: &'a str,
}

impl<'a> Params<'a> {
    /// Parses `*( SEMI generic-param )` from the scanner; stops before anything else.
    pub(crate) fn parse(sc: &mut Scanner<'a>) -> Option<Params<'a>> {
        let start = sc.pos();
        let mut end = start;
        while sc.eat_sep(b';') {
            sc.token()?;
            if sc.eat_sep(b'=') {
                gen_value(sc)?;
            }
            end = sc.pos();
        }
        sc.set_pos(end);
        Some(Params {
            raw: sc.slice(start, end),
        })
    }

    pub fn raw(&self) -> &'a str {
        self.raw
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub fn iter(&self) -> ParamIter<'a> {
        ParamIter {
            sc: Scanner::new(self.raw),
        }
    }

    /// The value of the first parameter named `name` (case-insensitive); `Some(None)` for
    /// a parameter without a value.
    pub fn get(&self, name: &str) -> Option<Option<&'a str>> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Iterates `(name, value)` pairs; quoted values are returned with their quotes.
pub struct ParamIter<'a> {
    sc: Scanner<'a>,
}

impl<'a> Iterator for ParamIter<'a> {
    type Item = (&'a str, Option<&'a str>);
    fn next(&mut self) -> Option<Self::Item> {
        if !self.sc.eat_sep(b';') {
            return None;
        }
        let name = self.sc.token()?;
        let value = if self.sc.eat_sep(b'=') {
            gen_value(&mut self.sc)
        } else {
            None
        };
        Some((name, value))
    }
}

/// gen-value = token / host / quoted-string
fn gen_value<'a>(sc: &mut Scanner<'a>) -> Option<&'a str> {
    let start = sc.pos();
    match sc.peek()? {
        b'"' => {
            sc.quoted()?;
        }
        b'[' => {
            sc.take_while(|c| c != b']');
            if !sc.eat(b']') {
                return None;
            }
        }
        _ => {
            sc.take_while(|c| is_token_char(c) || c == b':');
        }
    }
    let v = sc.slice(start, sc.pos());
    (!v.is_empty()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lws_and_quoted_values() {
        let mut sc = Scanner::new(" ;  tag    = 1918 ; lr ; x=\"a;b\" trailing");
        let p = Params::parse(&mut sc).expect("params");
        assert_eq!(p.get("TAG"), Some(Some("1918")));
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.get("x"), Some(Some("\"a;b\"")));
        assert_eq!(sc.rest(), " trailing");
    }

    #[test]
    fn rejects_empty_params() {
        assert!(Params::parse(&mut Scanner::new(";;;")).is_none());
    }
}
