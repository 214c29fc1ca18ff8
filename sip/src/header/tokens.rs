//! Comma-separated token lists: Supported, Require, Proxy-Require, Unsupported, Allow,
//! Allow-Events.

use crate::{
    error::{ParseError, Result},
    scan::is_token,
};

/// A validated list of tokens, iterated without allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenList<'a> {
    raw: &'a str,
}

impl<'a> TokenList<'a> {
    /// An empty value is a legal empty list (e.g. `Supported:`).
    pub fn parse(s: &'a str, name: &'static str) -> Result<TokenList<'a>> {
        let list = TokenList { raw: s };
        if s.trim().is_empty() {
            return Ok(TokenList { raw: "" });
        }
        if s.split(',')
            .all(|t| is_token(t.trim_matches(|c: char| c.is_ascii_whitespace())))
        {
            Ok(list)
        } else {
            Err(ParseError::header(name))
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> {
        self.raw
            .split(',')
            .map(|t| t.trim_matches(|c: char| c.is_ascii_whitespace()))
            .filter(|t| !t.is_empty())
    }

    pub fn contains(&self, token: &str) -> bool {
        self.iter().any(|t| t.eq_ignore_ascii_case(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists() {
        let l = TokenList::parse(" 100rel , path,eventlist ", "Supported").expect("list");
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            vec!["100rel", "path", "eventlist"]
        );
        assert!(l.contains("PATH"));
        assert!(TokenList::parse("a b", "Require").is_err());
        assert_eq!(
            TokenList::parse("", "Supported").map(|l| l.iter().count()),
            Ok(0)
        );
    }
}
