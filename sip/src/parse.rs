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
    let kind = if buf[lead..].starts_with(b"SIP/") {
        MessageKind::Response
    } else {
        MessageKind::Request
    };
    if lead == buf.len() {
        return Err(ParseError::new(ErrorKind::Empty, kind));
    }
    let Some(nl) = memchr::memchr(b'\n', &buf[lead..]).map(|i| lead + i) else {
        return Err(ParseError::new(ErrorKind::UnterminatedHead, kind));
    };
    let line_end = if nl > lead && buf[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    let (headers, content_length, head_end, body_start) =
        parse_headers(&buf, nl + 1, limits, transport).map_err(|e| e.in_message(kind))?;
    // One UTF-8 check over the whole head; every header value cut from it is then valid.
    let head = std::str::from_utf8(&buf[lead..head_end])
        .map_err(|_| ParseError::new(ErrorKind::NotUtf8, kind))?;
    let start_line = &head[..line_end - lead];
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

/// `SIP/2.0`; a well-formed other version is 505, anything else 400. Works on bytes: the
/// token may hold any UTF-8 (RFC 4475 fuzzing found a slice inside a character here).
fn check_version(v: &str, kind: MessageKind) -> Result<()> {
    let b = v.as_bytes();
    let Some(numbers) = b
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case(b"SIP/"))
        .map(|_| &b[4..])
    else {
        return Err(ParseError::new(ErrorKind::StartLine, kind));
    };
    if numbers == b"2.0" {
        return Ok(());
    }
    let digits = |x: &[u8]| !x.is_empty() && x.iter().all(u8::is_ascii_digit);
    match numbers.iter().position(|&c| c == b'.') {
        Some(dot) if digits(&numbers[..dot]) && digits(&numbers[dot + 1..]) => {
            Err(ParseError::new(ErrorKind::Version(v.to_owned()), kind))
        }
        _ => Err(ParseError::new(ErrorKind::StartLine, kind)),
    }
}

/// Splits header lines from `from` up to the blank line, joining folded continuations, in
/// one pass over the bytes. Returns the headers, the Content-Length if given, the end of
/// the head text and the start of the body. UTF-8 is checked by the caller afterwards.
fn parse_headers(
    buf: &Bytes,
    from: usize,
    limits: &Limits,
    transport: Transport,
) -> Result<(Headers, Option<usize>, usize, usize)> {
    let b = &buf[..];
    let mut acc = Collected {
        headers: Headers::with_capacity(16),
        content_length: None,
        cl_seen: 0,
    };
    // The header being collected (its lines may continue).
    let mut current: Option<Pending> = None;
    let mut line_no = 1usize;
    let mut pos = from;
    let (head_end, body_start) = loop {
        let Some(nl) = memchr::memchr(b'\n', &b[pos..]).map(|i| pos + i) else {
            // No blank line. A datagram that ends right after a header line is accepted
            // (RFC 4475 §3.1.2.15's file is like that); anything else is unterminated.
            if pos == b.len() && transport == Transport::Datagram {
                break (b.len(), b.len());
            }
            return Err(ParseError::new(
                ErrorKind::UnterminatedHead,
                MessageKind::Unknown,
            ));
        };
        let line_end = if nl > pos && b[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        if line_end == pos {
            break (pos, nl + 1);
        }
        if b[pos] == b' ' || b[pos] == b'\t' {
            // Folded continuation: extend the value of the header being collected.
            let Some(cur) = current.as_mut() else {
                return Err(ParseError::new(
                    ErrorKind::HeaderLine(line_no),
                    MessageKind::Unknown,
                ));
            };
            cur.value_end = line_end;
            cur.wire_end = wire_end(nl, line_end);
            if cur.value_end - cur.line_start > limits.max_header_line {
                return Err(limit(
                    LimitKind::HeaderLine,
                    limits.max_header_line,
                    MessageKind::Unknown,
                ));
            }
        } else {
            acc.finish(buf, current.take(), limits)?;
            if line_end - pos > limits.max_header_line {
                return Err(limit(
                    LimitKind::HeaderLine,
                    limits.max_header_line,
                    MessageKind::Unknown,
                ));
            }
            let line = &b[pos..line_end];
            let bad_line = || ParseError::new(ErrorKind::HeaderLine(line_no), MessageKind::Unknown);
            let colon = memchr::memchr(b':', line).ok_or_else(bad_line)?;
            let mut name_end = colon;
            while name_end > 0 && (line[name_end - 1] == b' ' || line[name_end - 1] == b'\t') {
                name_end -= 1;
            }
            let name = &line[..name_end];
            if name.is_empty() || !name.iter().all(|&c| is_token_char(c)) {
                return Err(bad_line());
            }
            // A token is ASCII, so this cannot fail.
            let name_str = std::str::from_utf8(name).map_err(|_| bad_line())?;
            let hname = HeaderName::classify(name_str, || {
                ByteStr::from_validated(buf, pos, pos + name_end)
            });
            let mut vstart = pos + colon + 1;
            while vstart < line_end && (b[vstart] == b' ' || b[vstart] == b'\t') {
                vstart += 1;
            }
            current = Some(Pending {
                name: hname,
                line_start: pos,
                value_start: vstart,
                value_end: line_end,
                wire_end: wire_end(nl, line_end),
            });
        }
        line_no += 1;
        pos = nl + 1;
    };
    acc.finish(buf, current.take(), limits)?;
    Ok((acc.headers, acc.content_length, head_end, body_start))
}

/// A header line being collected: offsets into the buffer.
struct Pending {
    name: HeaderName,
    line_start: usize,
    value_start: usize,
    value_end: usize,
    /// End of the wire form: after the CRLF, or the end of the text for a bare-LF line
    /// (the serializer then writes the CRLF).
    wire_end: usize,
}

/// Where a line's wire form ends: after its CRLF, or before a bare LF.
fn wire_end(nl: usize, line_end: usize) -> usize {
    if line_end + 1 == nl {
        nl + 1
    } else {
        line_end
    }
}

struct Collected {
    headers: Headers,
    content_length: Option<usize>,
    cl_seen: usize,
}

impl Collected {
    fn finish(&mut self, buf: &Bytes, cur: Option<Pending>, limits: &Limits) -> Result<()> {
        let Some(Pending {
            name,
            line_start,
            value_start: mut start,
            value_end: mut end,
            wire_end,
        }) = cur
        else {
            return Ok(());
        };
        let is_ws = |c: u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
        while start < end && is_ws(buf[start]) {
            start += 1;
        }
        while end > start && is_ws(buf[end - 1]) {
            end -= 1;
        }
        if name == HeaderName::ContentLength {
            self.cl_seen += 1;
            if self.cl_seen > 1 {
                return Err(ParseError::new(
                    ErrorKind::DuplicateHeader("Content-Length"),
                    MessageKind::Unknown,
                ));
            }
            let v = &buf[start..end];
            if v.is_empty() || v.len() > 10 || !v.iter().all(u8::is_ascii_digit) {
                return Err(ParseError::header("Content-Length"));
            }
            self.content_length =
                Some(v.iter().fold(0usize, |n, d| n * 10 + usize::from(d - b'0')));
        }
        if self.headers.len() >= limits.max_headers {
            return Err(limit(
                LimitKind::HeaderCount,
                limits.max_headers,
                MessageKind::Unknown,
            ));
        }
        // Validated as UTF-8 by the caller (the whole head) before the message is returned.
        self.headers.push_header(Header::parsed(
            name,
            ByteStr::from_validated(buf, line_start, wire_end),
            start - line_start,
            end - start,
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
