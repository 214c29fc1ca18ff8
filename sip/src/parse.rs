//! The parser: start line, header lines (folding, compact forms), and body framing by
//! Content-Length. Zero-copy: every header value shares the input buffer.

use bytes::Bytes;

use crate::{
    bytestr::ByteStr,
    error::{ErrorKind, MessageKind, ParseError, Result},
    header::{Header, HeaderName, Headers},
    limits::{LimitKind, Limits},
    message::{Message, Request, Response},
    method::Method,
    scan::{is_token, is_token_char},
    status::StatusCode,
    uri::Uri,
};

/// How the message arrived, which decides how its body is delimited (RFC 3261 §18.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP or WebSocket: one message per packet; without Content-Length the body is the
    /// rest of the packet; octets after Content-Length are ignored.
    Datagram,
    /// A frame cut by [`crate::framer::StreamFramer`]: Content-Length is required and exact.
    Stream,
}

/// Parses one message from a datagram (UDP or WebSocket).
pub fn parse_datagram(buf: Bytes, limits: &Limits) -> Result<Message> {
    parse(buf, limits, Transport::Datagram)
}

/// Parses one message.
pub fn parse(buf: Bytes, limits: &Limits, transport: Transport) -> Result<Message> {
    if buf.len() > limits.max_message_size {
        let kind = if buf.starts_with(b"SIP/") {
            MessageKind::Response
        } else {
            MessageKind::Request
        };
        return Err(limit(LimitKind::MessageSize, limits.max_message_size, kind));
    }
    // RFC 3261 §7.5: CRLFs before the start line are ignored.
    let lead = buf
        .iter()
        .take_while(|&&c| c == b'\r' || c == b'\n')
        .count();
    let mut head_end = find_head_end(&buf, lead);
    if head_end.is_none()
        && transport == Transport::Datagram
        && buf.ends_with(b"\n")
        && buf.len() > lead
    {
        // A datagram that ends after its last header line without the blank line: the
        // packet boundary delimits the head (liberal, as RFC 4475 §3.1.2.15's file is).
        head_end = Some((buf.len(), buf.len()));
    }
    let kind = if buf[lead..].starts_with(b"SIP/") {
        MessageKind::Response
    } else {
        MessageKind::Request
    };
    let Some((head_len, body_start)) = head_end else {
        let k = if buf.len() == lead {
            ErrorKind::Empty
        } else {
            ErrorKind::UnterminatedHead
        };
        return Err(ParseError::new(k, kind));
    };
    let head = std::str::from_utf8(&buf[lead..head_len])
        .map_err(|_| ParseError::new(ErrorKind::NotUtf8, kind))?;
    let (start_line, header_text) = match head.find('\n') {
        Some(nl) => (
            head[..nl].strip_suffix('\r').unwrap_or(&head[..nl]),
            &head[nl + 1..],
        ),
        None => (head, ""),
    };
    let (headers, content_length) =
        parse_headers(&buf, header_text, limits).map_err(|e| e.in_message(kind))?;
    let available = buf.len() - body_start;
    let body_len = match (content_length, transport) {
        (Some(n), _) if n > available => {
            return Err(ParseError::new(ErrorKind::BodyTruncated, kind))
        }
        (Some(n), _) => n,
        (None, Transport::Datagram) => available,
        (None, Transport::Stream) => return Err(ParseError::new(ErrorKind::NoContentLength, kind)),
    };
    let body = buf.slice(body_start..body_start + body_len);
    match kind {
        MessageKind::Response => {
            let (status, reason) = parse_status_line(&buf, start_line)?;
            Ok(Message::Response(Response {
                status,
                reason,
                headers,
                body,
            }))
        }
        _ => {
            let (method, uri) = parse_request_line(&buf, start_line, limits)?;
            Ok(Message::Request(Request {
                method,
                uri,
                headers,
                body,
            }))
        }
    }
}

fn limit(kind: LimitKind, max: usize, message: MessageKind) -> ParseError {
    ParseError::new(ErrorKind::Limit { kind, max }, message)
}

/// Finds the empty line ending the head: returns (end of the last header line's text
/// including its line break, start of the body).
fn find_head_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut pos = from;
    while let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) {
        let next = pos + nl + 1;
        match buf.get(next) {
            Some(b'\n') => return Some((next, next + 1)),
            Some(b'\r') if buf.get(next + 1) == Some(&b'\n') => return Some((next, next + 2)),
            None => return None,
            _ => pos = next,
        }
    }
    None
}

fn parse_request_line(buf: &Bytes, line: &str, limits: &Limits) -> Result<(Method, ByteStr)> {
    let err = |k| ParseError::new(k, MessageKind::Request);
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(err(ErrorKind::StartLine));
    };
    check_version(version, MessageKind::Request)?;
    if !is_token(method) {
        return Err(err(ErrorKind::Method));
    }
    if uri.len() > limits.max_uri_len {
        return Err(limit(
            LimitKind::UriLength,
            limits.max_uri_len,
            MessageKind::Request,
        ));
    }
    match Uri::parse(uri) {
        Ok(Uri::Sip(u)) if u.headers.is_some() => return Err(err(ErrorKind::RequestUriHeaders)),
        Ok(_) => {}
        Err(_) => return Err(err(ErrorKind::RequestUri)),
    }
    let method = Method::from_bytestr(ByteStr::slice_ref(buf, method));
    Ok((method, ByteStr::slice_ref(buf, uri)))
}

fn parse_status_line(buf: &Bytes, line: &str) -> Result<(StatusCode, ByteStr)> {
    let err = |k| ParseError::new(k, MessageKind::Response);
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    check_version(version, MessageKind::Response)?;
    let code = parts.next().ok_or_else(|| err(ErrorKind::StartLine))?;
    if code.len() != 3 || !code.bytes().all(|c| c.is_ascii_digit()) {
        return Err(err(ErrorKind::StatusCode));
    }
    let status = code
        .parse()
        .ok()
        .and_then(StatusCode::new)
        .ok_or_else(|| err(ErrorKind::StatusCode))?;
    let reason = parts.next().unwrap_or_default();
    Ok((status, ByteStr::slice_ref(buf, reason)))
}

/// `SIP/2.0`; a well-formed other version is 505, anything else 400.
fn check_version(v: &str, kind: MessageKind) -> Result<()> {
    if v.len() == 7 && v[..4].eq_ignore_ascii_case("SIP/") && &v[4..] == "2.0" {
        return Ok(());
    }
    let numbers = v
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("SIP/"))
        .and_then(|_| v[4..].split_once('.'));
    match numbers {
        Some((a, b))
            if !a.is_empty()
                && !b.is_empty()
                && (a.to_owned() + b).bytes().all(|c| c.is_ascii_digit()) =>
        {
            Err(ParseError::new(ErrorKind::Version(v.to_owned()), kind))
        }
        _ => Err(ParseError::new(ErrorKind::StartLine, kind)),
    }
}

/// Splits header lines, joining folded continuations. Returns the headers and the
/// Content-Length, if one was given.
fn parse_headers(buf: &Bytes, text: &str, limits: &Limits) -> Result<(Headers, Option<usize>)> {
    let mut acc = Collected {
        headers: Headers::with_capacity(16),
        content_length: None,
        cl_seen: 0,
    };
    // The header being collected: (name, value start, value end) as offsets into `text`.
    let mut current: Option<(HeaderName, usize, usize)> = None;
    let mut line_no = 1usize;
    let mut pos = 0usize;
    while pos < text.len() {
        let nl = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let line = &text[pos..nl];
        let line_end = line.strip_suffix('\r').map_or(nl, |l| pos + l.len());
        if line.starts_with([' ', '\t']) {
            // Folded continuation: extend the value of the header being collected.
            let Some(cur) = current.as_mut() else {
                return Err(ParseError::new(
                    ErrorKind::HeaderLine(line_no),
                    MessageKind::Unknown,
                ));
            };
            cur.2 = line_end;
            if cur.2 - cur.1 > limits.max_header_line {
                return Err(limit(
                    LimitKind::HeaderLine,
                    limits.max_header_line,
                    MessageKind::Unknown,
                ));
            }
        } else {
            acc.finish(buf, text, current.take(), limits)?;
            if line_end - pos > limits.max_header_line {
                return Err(limit(
                    LimitKind::HeaderLine,
                    limits.max_header_line,
                    MessageKind::Unknown,
                ));
            }
            let colon = line.find(':').ok_or_else(|| {
                ParseError::new(ErrorKind::HeaderLine(line_no), MessageKind::Unknown)
            })?;
            let name = line[..colon].trim_end_matches([' ', '\t']);
            if name.is_empty() || !name.bytes().all(is_token_char) {
                return Err(ParseError::new(
                    ErrorKind::HeaderLine(line_no),
                    MessageKind::Unknown,
                ));
            }
            let name_start = pos;
            let hname = HeaderName::classify(name, || {
                ByteStr::slice_ref(buf, &text[name_start..name_start + name.len()])
            });
            let vstart = pos + colon + 1;
            let lead = text[vstart..line_end].len()
                - text[vstart..line_end].trim_start_matches([' ', '\t']).len();
            current = Some((hname, vstart + lead, line_end));
        }
        line_no += 1;
        pos = nl + 1;
    }
    acc.finish(buf, text, current.take(), limits)?;
    Ok((acc.headers, acc.content_length))
}

struct Collected {
    headers: Headers,
    content_length: Option<usize>,
    cl_seen: usize,
}

impl Collected {
    fn finish(
        &mut self,
        buf: &Bytes,
        text: &str,
        cur: Option<(HeaderName, usize, usize)>,
        limits: &Limits,
    ) -> Result<()> {
        let Some((name, start, end)) = cur else {
            return Ok(());
        };
        let value = text[start..end].trim_matches(|c: char| c.is_ascii_whitespace());
        if name == HeaderName::ContentLength {
            self.cl_seen += 1;
            if self.cl_seen > 1 {
                return Err(ParseError::new(
                    ErrorKind::DuplicateHeader("Content-Length"),
                    MessageKind::Unknown,
                ));
            }
            if value.is_empty() || value.len() > 10 || !value.bytes().all(|c| c.is_ascii_digit()) {
                return Err(ParseError::header("Content-Length"));
            }
            self.content_length = value.parse().ok();
        }
        if self.headers.len() >= limits.max_headers {
            return Err(limit(
                LimitKind::HeaderCount,
                limits.max_headers,
                MessageKind::Unknown,
            ));
        }
        self.headers.push_header(Header {
            name,
            value: ByteStr::slice_ref(buf, value),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests;
