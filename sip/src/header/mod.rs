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

/// One header field. It keeps the line it will be written as: for a parsed header the
/// physical line(s) exactly as received (name as written, folding and the CRLF included),
/// for a built one `Name: value` CRLF. So an unmodified message serializes to its input,
/// byte for byte, with one copy per header.
#[derive(Debug, Clone)]
pub struct Header {
    pub name: HeaderName,
    /// The wire form; ends with CRLF unless the line came in with a bare LF.
    line: ByteStr,
    value_at: u32,
    value_len: u32,
}

impl Header {
    /// A header built by this program: written as `Wire-Name: value` CRLF.
    pub fn new(name: HeaderName, value: &str) -> Header {
        let wire = name.wire_name();
        let value_at = (wire.len() + 2) as u32;
        let mut line = String::with_capacity(wire.len() + 4 + value.len());
        line.push_str(wire);
        line.push_str(": ");
        line.push_str(value);
        line.push_str("\r\n");
        Header {
            name,
            value_at,
            value_len: value.len() as u32,
            line: ByteStr::from(line),
        }
    }

    /// A parsed header: `line` is its wire form, the value at `value_at..value_at+value_len`.
    pub(crate) fn parsed(
        name: HeaderName,
        line: ByteStr,
        value_at: usize,
        value_len: usize,
    ) -> Header {
        Header {
            name,
            line,
            value_at: value_at as u32,
            value_len: value_len as u32,
        }
    }

    /// The value, without leading and trailing white space.
    pub fn value(&self) -> &str {
        let (a, n) = (self.value_at as usize, self.value_len as usize);
        self.line.get(a..a + n).unwrap_or_default()
    }

    /// The line as it is written, without its line break.
    pub fn line(&self) -> &str {
        let l = self.line.as_str();
        l.strip_suffix("\r\n")
            .or_else(|| l.strip_suffix('\n'))
            .unwrap_or(l)
    }

    /// Bytes `write_wire` appends.
    pub(crate) fn wire_len(&self) -> usize {
        self.line.len() + if self.line.ends_with("\r\n") { 0 } else { 2 }
    }

    /// Appends the line and its CRLF.
    pub(crate) fn write_wire(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.line.as_bytes());
        if !self.line.ends_with("\r\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Headers are equal when their names and values are; how the line was spelled (compact
/// form, spaces around the colon, folding) does not matter.
impl PartialEq for Header {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.value() == other.value()
    }
}
impl Eq for Header {}

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
        self.0.iter().find(|h| &h.name == name).map(Header::value)
    }

    /// Every line of `name`, in order.
    pub fn get_all<'a: 'n, 'n>(
        &'a self,
        name: &'n HeaderName,
    ) -> impl Iterator<Item = &'a str> + 'n {
        self.0
            .iter()
            .filter(move |h| &h.name == name)
            .map(Header::value)
    }

    pub fn count(&self, name: &HeaderName) -> usize {
        self.0.iter().filter(|h| &h.name == name).count()
    }

    pub fn contains(&self, name: &HeaderName) -> bool {
        self.0.iter().any(|h| &h.name == name)
    }

    /// Appends a header line.
    pub fn push(&mut self, name: HeaderName, value: impl AsRef<str>) {
        self.0.push(Header::new(name, value.as_ref()));
    }

    /// Inserts a header line before all others (a proxy's Via, Record-Route).
    pub fn push_front(&mut self, name: HeaderName, value: impl AsRef<str>) {
        self.0.insert(0, Header::new(name, value.as_ref()));
    }

    /// Replaces every line of `name` with one line holding `value`, kept where the first was.
    pub fn set(&mut self, name: HeaderName, value: impl AsRef<str>) {
        let value = value.as_ref();
        match self.0.iter().position(|h| h.name == name) {
            Some(i) => {
                self.0[i] = Header::new(name.clone(), value);
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
        let mut parts = crate::scan::split_commas(self.0[i].value());
        let first = parts.next()?.to_owned();
        let rest: Vec<&str> = parts.collect();
        if rest.is_empty() {
            self.0.remove(i);
        } else {
            self.0[i] = Header::new(name.clone(), &rest.join(", "));
        }
        Some(first)
    }

    pub fn push_header(&mut self, h: Header) {
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
