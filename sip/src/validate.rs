//! Checks a parsed message against the rules a server enforces before acting on it
//! (RFC 3261 §8.2, §16.3 and the RFC 4475 torture cases): mandatory headers present once,
//! every header Herald understands well-formed, CSeq agreeing with the method.

use crate::{
    error::{ErrorKind, MessageKind, ParseError, Result},
    header::{is_valid_sip_date, HeaderName, Headers, RetryAfter, TokenList, MAGIC_COOKIE},
    message::{Message, Request, Response},
    name_addr::parse_list,
    scan::Scanner,
};

impl Message {
    /// Validates a request or response; see [`Request::validate`].
    pub fn validate(&self) -> Result<()> {
        match self {
            Message::Request(r) => r.validate(),
            Message::Response(r) => r.validate(),
        }
    }
}

impl Request {
    /// Everything a server checks before routing the request. The error's
    /// [`ParseError::status`] is the response to send.
    pub fn validate(&self) -> Result<()> {
        let kind = MessageKind::Request;
        common(&self.headers).map_err(|e| e.in_message(kind))?;
        let cseq = self.headers.cseq().map_err(|e| e.in_message(kind))?;
        if cseq.method != self.method.as_str() {
            return Err(ParseError::new(
                ErrorKind::CSeqMismatch {
                    method: self.method.as_str().to_owned(),
                    cseq: cseq.method.to_owned(),
                    method_known: self.method.is_known(),
                },
                kind,
            ));
        }
        let top = self.headers.top_via().map_err(|e| e.in_message(kind))?;
        if top.branch() == Some(MAGIC_COOKIE) {
            return Err(ParseError::new(ErrorKind::BadBranch, kind));
        }
        Ok(())
    }
}

impl Response {
    /// The same checks for a response; a failing response is dropped (RFC 3261 §18.1.2).
    pub fn validate(&self) -> Result<()> {
        let kind = MessageKind::Response;
        common(&self.headers).map_err(|e| e.in_message(kind))?;
        self.headers.cseq().map_err(|e| e.in_message(kind))?;
        if let Some(r) = self.headers.get(&HeaderName::RetryAfter) {
            RetryAfter::parse(r).map_err(|e| e.in_message(kind))?;
        }
        for w in self.headers.get_all(&HeaderName::Warning) {
            check_warning(w).map_err(|e| e.in_message(kind))?;
        }
        Ok(())
    }
}

fn common(h: &Headers) -> Result<()> {
    h.from()?;
    h.to()?;
    h.call_id()?;
    if h.vias()?.is_empty() {
        return Err(ParseError::new(
            ErrorKind::MissingHeader("Via"),
            MessageKind::Unknown,
        ));
    }
    h.max_forwards()?;
    h.contact()?;
    h.content_type()?;
    for (name, label) in [
        (HeaderName::Route, "Route"),
        (HeaderName::RecordRoute, "Record-Route"),
        (HeaderName::Path, "Path"),
    ] {
        h.addr_list(&name, label)?;
    }
    for (name, label) in [
        (HeaderName::Supported, "Supported"),
        (HeaderName::Require, "Require"),
        (HeaderName::ProxyRequire, "Proxy-Require"),
        (HeaderName::Unsupported, "Unsupported"),
        (HeaderName::Allow, "Allow"),
        (HeaderName::AllowEvents, "Allow-Events"),
    ] {
        for line in h.get_all(&name) {
            TokenList::parse(line, label)?;
        }
    }
    if let Some(d) = h.get(&HeaderName::Date) {
        if !is_valid_sip_date(d) {
            return Err(ParseError::header("Date"));
        }
    }
    h.event()?;
    h.subscription_state()?;
    for line in h.get_all(&HeaderName::ReferTo) {
        parse_list(line)
            .filter(|l| l.len() == 1)
            .ok_or_else(|| ParseError::header("Refer-To"))?;
    }
    Ok(())
}

/// Warning (RFC 3261 §20.43): `3DIGIT SP agent SP quoted-string`, comma-separated.
fn check_warning(s: &str) -> Result<()> {
    let err = || ParseError::header("Warning");
    for part in crate::scan::split_commas(s) {
        let mut sc = Scanner::new(part);
        let code = sc.take_while(|c| c.is_ascii_digit());
        if code.len() != 3 || !sc.eat(b' ') {
            return Err(err());
        }
        sc.take_while(|c| c != b' ');
        if !sc.eat(b' ') || sc.quoted().is_none() {
            return Err(err());
        }
        sc.skip_lws();
        if !sc.is_empty() {
            return Err(err());
        }
    }
    Ok(())
}
