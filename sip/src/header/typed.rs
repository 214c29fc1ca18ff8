//! Typed access to the headers a server reads. Each accessor parses on demand and borrows
//! from the message; nothing is parsed or allocated for headers that are not asked for.

use super::{
    contact::Contact, cseq::CSeq, event::Event, event::SubscriptionState, media::MediaType,
    numeric::parse_delta_header, tokens::TokenList, via::Via, HeaderName, Headers,
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
