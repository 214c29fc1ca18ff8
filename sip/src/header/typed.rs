//! Typed access to the headers a server reads. Each accessor parses on demand and borrows
//! from the message; nothing is parsed or allocated for headers that are not asked for.

use super::{
    contact::Contact, cseq::CSeq, date::is_valid_sip_date, event::Event, event::SubscriptionState,
    media::MediaType, numeric::parse_delta_header, numeric::RetryAfter, tokens::TokenList,
    via::Via, HeaderName, Headers,
};
use crate::{
    error::{ErrorKind, MessageKind, ParseError, Result},
    name_addr::{parse_list, NameAddr},
};

fn missing(name: &'static str) -> ParseError {
    ParseError::new(ErrorKind::MissingHeader(name), MessageKind::Unknown)
}

impl Headers {
    /// The single value of a header that must appear exactly once.
    pub fn single(&self, name: &HeaderName, label: &'static str) -> Result<&str> {
        let mut it = self.get_all(name);
        let first = it.next().ok_or_else(|| missing(label))?;
        if it.next().is_some() {
            return Err(ParseError::new(
                ErrorKind::DuplicateHeader(label),
                MessageKind::Unknown,
            ));
        }
        Ok(first)
    }

    pub fn call_id(&self) -> Result<&str> {
        let v = self.single(&HeaderName::CallId, "Call-ID")?;
        let valid = !v.is_empty() && v.bytes().all(|c| c.is_ascii_graphic());
        if valid {
            Ok(v)
        } else {
            Err(ParseError::header("Call-ID"))
        }
    }

    pub fn cseq(&self) -> Result<CSeq<'_>> {
        CSeq::parse(self.single(&HeaderName::CSeq, "CSeq")?)
    }

    pub fn from(&self) -> Result<NameAddr<'_>> {
        NameAddr::parse(self.single(&HeaderName::From, "From")?)
            .ok_or_else(|| ParseError::header("From"))
    }

    pub fn to(&self) -> Result<NameAddr<'_>> {
        NameAddr::parse(self.single(&HeaderName::To, "To")?).ok_or_else(|| ParseError::header("To"))
    }

    /// The tag of To, without parsing its URI (`Ok(None)`: no tag).
    pub fn to_tag(&self) -> Result<Option<&str>> {
        self.tag_of(&HeaderName::To, "To")
    }

    /// The tag of From, without parsing its URI (`Ok(None)`: no tag).
    pub fn from_tag(&self) -> Result<Option<&str>> {
        self.tag_of(&HeaderName::From, "From")
    }

    fn tag_of(&self, name: &HeaderName, label: &'static str) -> Result<Option<&str>> {
        let params = NameAddr::params_of(self.single(name, label)?)
            .ok_or_else(|| ParseError::header(label))?;
        Ok(params.get("tag").flatten())
    }

    /// The topmost Via value.
    pub fn top_via(&self) -> Result<Via<'_>> {
        let line = self.get(&HeaderName::Via).ok_or_else(|| missing("Via"))?;
        let mut first = None;
        Via::parse_line(line, &mut |v| {
            first.get_or_insert(v);
        })?;
        first.ok_or_else(|| ParseError::header("Via"))
    }

    /// Every Via value, top first.
    pub fn vias(&self) -> Result<Vec<Via<'_>>> {
        let mut out = Vec::with_capacity(2);
        for line in self.get_all(&HeaderName::Via) {
            Via::parse_line(line, &mut |v| out.push(v))?;
        }
        Ok(out)
    }

    /// Contact values of every Contact line; `None` when there is none.
    pub fn contact(&self) -> Result<Option<Contact<'_>>> {
        let mut addrs = Vec::new();
        let mut lines = 0;
        let mut star = false;
        for line in self.get_all(&HeaderName::Contact) {
            lines += 1;
            match Contact::parse(line)? {
                Contact::Star => star = true,
                Contact::Addrs(a) => addrs.extend(a),
            }
        }
        match (lines, star) {
            (0, _) => Ok(None),
            (1, true) => Ok(Some(Contact::Star)),
            (_, true) => Err(ParseError::header("Contact")),
            _ => Ok(Some(Contact::Addrs(addrs))),
        }
    }

    /// Route, Record-Route or Path values, in order.
    pub fn addr_list(&self, name: &HeaderName, label: &'static str) -> Result<Vec<NameAddr<'_>>> {
        let mut out = Vec::new();
        for line in self.get_all(name) {
            out.extend(parse_list(line).ok_or_else(|| ParseError::header(label))?);
        }
        Ok(out)
    }

    pub fn max_forwards(&self) -> Result<Option<u32>> {
        self.optional_delta(&HeaderName::MaxForwards, "Max-Forwards")
    }

    pub fn expires(&self) -> Result<Option<u32>> {
        self.optional_delta(&HeaderName::Expires, "Expires")
    }

    pub fn min_expires(&self) -> Result<Option<u32>> {
        self.optional_delta(&HeaderName::MinExpires, "Min-Expires")
    }

    pub fn content_type(&self) -> Result<Option<MediaType<'_>>> {
        self.optional(&HeaderName::ContentType, "Content-Type")?
            .map(MediaType::parse)
            .transpose()
    }

    pub fn event(&self) -> Result<Option<Event<'_>>> {
        self.optional(&HeaderName::Event, "Event")?
            .map(Event::parse)
            .transpose()
    }

    pub fn subscription_state(&self) -> Result<Option<SubscriptionState<'_>>> {
        self.optional(&HeaderName::SubscriptionState, "Subscription-State")?
            .map(SubscriptionState::parse)
            .transpose()
    }

    /// Every token of every line of a token-list header (Supported, Require, Allow, …).
    pub fn tokens(&self, name: &HeaderName, label: &'static str) -> Result<Vec<&str>> {
        let mut out = Vec::new();
        for line in self.get_all(name) {
            out.extend(TokenList::parse(line, label)?.iter());
        }
        Ok(out)
    }

    /// Accept entries (an empty Accept means "nothing"); `None` when absent.
    pub fn accept(&self) -> Result<Option<Vec<MediaType<'_>>>> {
        let mut lines = self.get_all(&HeaderName::Accept).peekable();
        if lines.peek().is_none() {
            return Ok(None);
        }
        let mut out = Vec::new();
        for line in lines {
            out.extend(MediaType::parse_list(line)?);
        }
        Ok(Some(out))
    }

    /// SIP-ETag (RFC 3903 §11.3.1): a single token.
    pub fn sip_etag(&self) -> Result<Option<&str>> {
        self.optional_token(&HeaderName::SipETag, "SIP-ETag")
    }

    /// SIP-If-Match (RFC 3903 §11.3.2): a single token.
    pub fn sip_if_match(&self) -> Result<Option<&str>> {
        self.optional_token(&HeaderName::SipIfMatch, "SIP-If-Match")
    }

    /// User-Agent: free text (product tokens and comments).
    pub fn user_agent(&self) -> Option<&str> {
        self.get(&HeaderName::UserAgent)
    }

    /// Server: free text (product tokens and comments).
    pub fn server(&self) -> Option<&str> {
        self.get(&HeaderName::Server)
    }

    pub fn retry_after(&self) -> Result<Option<RetryAfter<'_>>> {
        self.optional(&HeaderName::RetryAfter, "Retry-After")?
            .map(RetryAfter::parse)
            .transpose()
    }

    /// Date, checked to be an RFC 1123 date in GMT; returned as written.
    pub fn date(&self) -> Result<Option<&str>> {
        match self.optional(&HeaderName::Date, "Date")? {
            Some(d) if !is_valid_sip_date(d) => Err(ParseError::header("Date")),
            d => Ok(d),
        }
    }

    /// Content-Length as received (the serializer always writes the body's real length).
    pub fn content_length(&self) -> Result<Option<u32>> {
        self.optional_delta(&HeaderName::ContentLength, "Content-Length")
    }

    fn optional_token(&self, name: &HeaderName, label: &'static str) -> Result<Option<&str>> {
        match self.optional(name, label)? {
            Some(v) if !crate::scan::is_token(v) => Err(ParseError::header(label)),
            v => Ok(v),
        }
    }

    fn optional(&self, name: &HeaderName, label: &'static str) -> Result<Option<&str>> {
        let mut it = self.get_all(name);
        let first = it.next();
        if it.next().is_some() {
            return Err(ParseError::new(
                ErrorKind::DuplicateHeader(label),
                MessageKind::Unknown,
            ));
        }
        Ok(first)
    }

    fn optional_delta(&self, name: &HeaderName, label: &'static str) -> Result<Option<u32>> {
        self.optional(name, label)?
            .map(|v| parse_delta_header(v, label))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use crate::{parse_datagram, Limits};

    #[test]
    fn optional_headers() {
        let raw = "PUBLISH sip:a@h SIP/2.0\r\nSIP-If-Match: dx200xyz\r\nAccept: application/pidf+xml, text/plain\r\n\
                   Retry-After: 30\r\nDate: Sat, 13 Nov 2010 23:29:00 GMT\r\nUser-Agent: baresip v3 (x86_64/linux)\r\n\
                   Content-Length: 0\r\n\r\n";
        let m =
            parse_datagram(Bytes::from_static(raw.as_bytes()), &Limits::default()).expect("parse");
        let h = m.headers();
        assert_eq!(h.sip_if_match(), Ok(Some("dx200xyz")));
        assert_eq!(h.sip_etag(), Ok(None));
        assert_eq!(h.accept().expect("accept").map(|a| a.len()), Some(2));
        assert_eq!(h.retry_after().expect("ra").map(|r| r.seconds), Some(30));
        assert!(h.date().expect("date").is_some());
        assert_eq!(h.user_agent(), Some("baresip v3 (x86_64/linux)"));
        assert_eq!(h.content_length(), Ok(Some(0)));
    }

    #[test]
    fn duplicate_single_headers_are_errors() {
        let raw = "PUBLISH sip:a@h SIP/2.0\r\nSIP-If-Match: a\r\nSIP-If-Match: b\r\nContent-Length: 0\r\n\r\n";
        let m =
            parse_datagram(Bytes::from_static(raw.as_bytes()), &Limits::default()).expect("parse");
        assert!(m.headers().sip_if_match().is_err());
    }
}
