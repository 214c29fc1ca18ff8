//! Headers: names, the ordered collection a message carries, and typed views (one file per
//! header type). Values are kept as the bytes that came in; typed access parses on demand.

mod contact;
mod cseq;
mod date;
mod event;
mod media;
mod name;
mod numeric;
mod tokens;
mod typed;
mod via;

pub use contact::Contact;
pub use cseq::CSeq;
pub use date::is_valid_sip_date;
pub use event::{Event, SubscriptionState};
pub use media::MediaType;
pub use name::HeaderName;
pub(crate) use numeric::parse_delta_header;
pub use numeric::RetryAfter;
pub use tokens::TokenList;
pub use via::{Via, MAGIC_COOKIE};

use crate::bytestr::ByteStr;

/// One header line: name and value (leading and trailing white space removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    pub value: ByteStr,
}

/// The headers of a message, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    pub fn with_capacity(n: usize) -> Self {
        Headers(Vec::with_capacity(n))
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first value of `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.0
            .iter()
            .find(|h| &h.name == name)
            .map(|h| h.value.as_str())
    }

    /// Every line of `name`, in order.
    pub fn get_all<'a: 'n, 'n>(
        &'a self,
        name: &'n HeaderName,
    ) -> impl Iterator<Item = &'a str> + 'n {
        self.0
            .iter()
            .filter(move |h| &h.name == name)
            .map(|h| h.value.as_str())
    }

    pub fn count(&self, name: &HeaderName) -> usize {
        self.0.iter().filter(|h| &h.name == name).count()
    }

    pub fn contains(&self, name: &HeaderName) -> bool {
        self.0.iter().any(|h| &h.name == name)
    }

    /// Appends a header line.
    pub fn push(&mut self, name: HeaderName, value: impl Into<ByteStr>) {
        self.0.push(Header {
            name,
            value: value.into(),
        });
    }

    /// Inserts a header line before all others (a proxy's Via, Record-Route).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<ByteStr>) {
        self.0.insert(
            0,
            Header {
                name,
                value: value.into(),
            },
        );
    }

    /// Replaces every line of `name` with one line holding `value`, kept where the first was.
    pub fn set(&mut self, name: HeaderName, value: impl Into<ByteStr>) {
        let value = value.into();
        match self.0.iter().position(|h| h.name == name) {
            Some(i) => {
                self.0[i].value = value;
                let mut seen = 0usize;
                self.0.retain(|h| {
                    if h.name != name {
                        return true;
                    }
                    seen += 1;
                    seen == 1
                });
            }
            None => self.push(name, value),
        }
    }

    /// Removes every line of `name`; returns how many were removed.
    pub fn remove_all(&mut self, name: &HeaderName) -> usize {
        let before = self.0.len();
        self.0.retain(|h| &h.name != name);
        before - self.0.len()
    }

    /// Removes the first value of a comma-separable header (the top Via, the top Route),
    /// splitting a line that carries several values.
    pub fn remove_first_value(&mut self, name: &HeaderName) -> Option<String> {
        let i = self.0.iter().position(|h| &h.name == name)?;
        let mut parts = crate::scan::split_commas(&self.0[i].value);
        let first = parts.next()?.to_owned();
        let rest: Vec<&str> = parts.collect();
        if rest.is_empty() {
            self.0.remove(i);
        } else {
            self.0[i].value = ByteStr::from(rest.join(", "));
        }
        Some(first)
    }

    pub(crate) fn push_header(&mut self, h: Header) {
        self.0.push(h);
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
