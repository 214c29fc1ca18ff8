//! Checks a parsed message against the rules a server enforces before acting on it
//! (RFC 3261 §8.2, §16.3 and the RFC 4475 torture cases): mandatory headers present once,
//! every header Herald understands well-formed, CSeq agreeing with the method.

use crate::{
    error::{ErrorKind, MessageKind, ParseError, Result},
    header::{
        is_valid_sip_date, parse_delta_header, Contact, Event, HeaderName, Headers, MediaType,
        RetryAfter, SubscriptionState, TokenList, Via, MAGIC_COOKIE,
    },
    message::{Message, Request, Response},
    name_addr::{parse_list, NameAddr},
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
        let checked = common(&self.headers).map_err(|e| e.in_message(kind))?;
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
        if checked.bare_cookie_on_top {
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

/// What the pass over the headers noticed for the request-only checks after it.
struct Checked {
    /// The top Via's branch is the magic cookie alone.
    bare_cookie_on_top: bool,
}

/// Checks every header Herald understands, in one pass over the list; then that the
/// single-valued ones appear the right number of times.
fn common(h: &Headers) -> Result<Checked> {
    // Occurrences of: From, To, Call-ID, CSeq (exactly once); Max-Forwards, Content-Type,
    // Event, Subscription-State, Date (at most once).
    const LABELS: [&str; 9] = [
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Max-Forwards",
        "Content-Type",
        "Event",
        "Subscription-State",
        "Date",
    ];
    let mut seen = [0u8; 9];
    let (mut vias, mut contact_lines, mut contact_star) = (0usize, 0usize, false);
    let mut bare_cookie_on_top = false;
    for hdr in h {
        let v = hdr.value();
        let slot = match hdr.name {
            HeaderName::From | HeaderName::To => {
                let label = if hdr.name == HeaderName::From {
                    "From"
                } else {
                    "To"
                };
                NameAddr::parse(v).ok_or_else(|| ParseError::header(label))?;
                Some(usize::from(hdr.name == HeaderName::To))
            }
            HeaderName::CallId => Some(2),
            HeaderName::CSeq => Some(3),
            HeaderName::MaxForwards => {
                parse_delta_header(v, "Max-Forwards")?;
                Some(4)
            }
            HeaderName::ContentType => {
                MediaType::parse(v)?;
                Some(5)
            }
            HeaderName::Event => {
                Event::parse(v)?;
                Some(6)
            }
            HeaderName::SubscriptionState => {
                SubscriptionState::parse(v)?;
                Some(7)
            }
            HeaderName::Date => {
                if !is_valid_sip_date(v) {
                    return Err(ParseError::header("Date"));
                }
                Some(8)
            }
            HeaderName::Via => {
                Via::parse_line(v, &mut |via| {
                    if vias == 0 {
                        bare_cookie_on_top = via.branch() == Some(MAGIC_COOKIE);
                    }
                    vias += 1;
                })?;
                None
            }
            HeaderName::Contact => {
                contact_lines += 1;
                contact_star |= matches!(Contact::parse(v)?, Contact::Star);
                None
            }
            HeaderName::Route | HeaderName::RecordRoute | HeaderName::Path => {
                parse_list(v).ok_or_else(|| ParseError::header(label_of(&hdr.name)))?;
                None
            }
            HeaderName::ReferTo => {
                parse_list(v)
                    .filter(|l| l.len() == 1)
                    .ok_or_else(|| ParseError::header("Refer-To"))?;
                None
            }
            HeaderName::Supported
            | HeaderName::Require
            | HeaderName::ProxyRequire
            | HeaderName::Unsupported
            | HeaderName::Allow
            | HeaderName::AllowEvents => {
                TokenList::parse(v, label_of(&hdr.name))?;
                None
            }
            _ => None,
        };
        if let Some(i) = slot {
            seen[i] = seen[i].saturating_add(1);
        }
    }
    for (i, label) in LABELS.iter().enumerate() {
        if i < 4 && seen[i] == 0 {
            return Err(ParseError::new(
                ErrorKind::MissingHeader(label),
                MessageKind::Unknown,
            ));
        }
        if seen[i] > 1 {
            return Err(ParseError::new(
                ErrorKind::DuplicateHeader(label),
                MessageKind::Unknown,
            ));
        }
    }
    h.call_id()?;
    if vias == 0 {
        return Err(ParseError::new(
            ErrorKind::MissingHeader("Via"),
            MessageKind::Unknown,
        ));
    }
    if contact_star && contact_lines > 1 {
        return Err(ParseError::header("Contact"));
    }
    Ok(Checked { bare_cookie_on_top })
}

fn label_of(name: &HeaderName) -> &'static str {
    match name {
        HeaderName::Route => "Route",
        HeaderName::RecordRoute => "Record-Route",
        HeaderName::Path => "Path",
        HeaderName::Supported => "Supported",
        HeaderName::Require => "Require",
        HeaderName::ProxyRequire => "Proxy-Require",
        HeaderName::Unsupported => "Unsupported",
        HeaderName::Allow => "Allow",
        _ => "Allow-Events",
    }
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

#[cfg(test)]
mod tests {
    use crate::{error::ErrorKind, limits::Limits, message::Message, parse::parse_datagram};

    fn validate(vias: &str) -> Result<(), ErrorKind> {
        let raw = format!(
            "OPTIONS sip:a@example.com SIP/2.0\r\n{vias}From: <sip:b@example.com>;tag=1\r\n\
             To: <sip:a@example.com>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n"
        );
        let msg: Message = parse_datagram(raw.into(), &Limits::default()).expect("parses");
        msg.validate().map_err(|e| e.kind)
    }

    #[test]
    fn only_the_top_via_may_not_carry_the_bare_cookie() {
        let bad =
            validate("Via: SIP/2.0/UDP h;branch=z9hG4bK\r\nVia: SIP/2.0/UDP g;branch=z9hG4bKx\r\n");
        assert!(matches!(bad, Err(ErrorKind::BadBranch)), "{bad:?}");
        let bad = validate("Via: SIP/2.0/UDP h;branch=z9hG4bK, SIP/2.0/UDP g;branch=z9hG4bKx\r\n");
        assert!(matches!(bad, Err(ErrorKind::BadBranch)), "{bad:?}");
        let lower = "Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\nVia: SIP/2.0/UDP g;branch=z9hG4bK\r\n";
        assert!(validate(lower).is_ok());
        let same_line = "Via: SIP/2.0/UDP h;branch=z9hG4bKx, SIP/2.0/UDP g;branch=z9hG4bK\r\n";
        assert!(validate(same_line).is_ok());
    }
}
