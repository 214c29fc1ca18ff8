//! The message model: requests and responses with their headers and body.

use bytes::Bytes;

use crate::{
    bytestr::ByteStr,
    header::{HeaderName, Headers},
    method::Method,
    status::StatusCode,
    uri::{Uri, UriError},
};

/// A SIP request. The Request-URI is kept as text (already checked to parse).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub uri: ByteStr,
    pub headers: Headers,
    pub body: Bytes,
}

/// A SIP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub reason: ByteStr,
    pub headers: Headers,
    pub body: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Request {
    pub fn new(method: Method, uri: impl Into<ByteStr>) -> Request {
        Request {
            method,
            uri: uri.into(),
            headers: Headers::with_capacity(8),
            body: Bytes::new(),
        }
    }

    /// The parsed Request-URI.
    pub fn parse_uri(&self) -> Result<Uri<'_>, UriError> {
        Uri::parse(&self.uri)
    }
}

impl Response {
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            reason: ByteStr::from_static(status.reason()),
            headers: Headers::with_capacity(8),
            body: Bytes::new(),
        }
    }

    /// A response to `req` with the headers RFC 3261 §8.2.6.2 copies: Via (all), From,
    /// To, Call-ID, CSeq. The caller adds a To tag where the RFC asks for one.
    pub fn to_request(req: &Request, status: StatusCode) -> Response {
        let mut r = Response::new(status);
        for h in req.headers.iter() {
            if matches!(
                h.name,
                HeaderName::Via
                    | HeaderName::From
                    | HeaderName::To
                    | HeaderName::CallId
                    | HeaderName::CSeq
            ) {
                r.headers.push_header(h.clone());
            }
        }
        r
    }

    /// Sets a reason phrase other than the default one.
    pub fn with_reason(mut self, reason: impl Into<ByteStr>) -> Response {
        self.reason = reason.into();
        self
    }
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }

    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Message::Response(r) => Some(r),
            Message::Request(_) => None,
        }
    }
}

/// Messages are equal when their start lines, headers (in order, Content-Length aside:
/// it is framing, recomputed by the serializer) and bodies are equal.
fn same_headers(a: &Headers, b: &Headers) -> bool {
    let filter = |h: &&crate::header::Header| h.name != HeaderName::ContentLength;
    a.iter().filter(filter).eq(b.iter().filter(filter))
}

impl PartialEq for Request {
    fn eq(&self, o: &Self) -> bool {
        self.method == o.method
            && self.uri == o.uri
            && same_headers(&self.headers, &o.headers)
            && self.body == o.body
    }
}
impl Eq for Request {}

impl PartialEq for Response {
    fn eq(&self, o: &Self) -> bool {
        self.status == o.status
            && self.reason == o.reason
            && same_headers(&self.headers, &o.headers)
            && self.body == o.body
    }
}
impl Eq for Response {}
