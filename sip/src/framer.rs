//! The stream framer for TCP, TLS: cuts a byte stream into messages by Content-Length
//! (RFC 3261 §18.3) and recognizes CRLF keep-alives (RFC 5626 §3.5.1). Needing more bytes
//! is a normal result (`Ok(None)`), not an error.

use bytes::{Buf, Bytes, BytesMut};

use crate::{
    error::{ErrorKind, MessageKind, ParseError},
    limits::{LimitKind, Limits},
    message::Message,
    parse::{parse, Transport},
};

/// What the framer cut from the stream.
#[derive(Debug)]
pub enum Frame {
    /// A complete, parsed message.
    Message(Message),
    /// A complete message that did not parse; the stream stays usable (its length was
    /// known), and the error says how to answer it.
    Malformed(ParseError),
    /// A keep-alive ping (CRLF CRLF): answer with a single CRLF pong.
    Ping,
    /// A keep-alive pong (a lone CRLF).
    Pong,
}

/// Buffers stream bytes and yields frames. A returned `Err` means the stream cannot be
/// framed any more (RFC 4475 §3.1.2.3: close the connection).
#[derive(Debug)]
pub struct StreamFramer {
    buf: BytesMut,
    limits: Limits,
    last: Bytes,
}

impl StreamFramer {
    pub fn new(limits: Limits) -> Self {
        StreamFramer {
            buf: BytesMut::with_capacity(4096),
            limits,
            last: Bytes::new(),
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes received but not yet framed.
    /// The bytes of the last message or malformed frame returned (to forward them as they
    /// came, or to answer a malformed one).
    pub fn last_frame(&self) -> &Bytes {
        &self.last
    }

    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        if self.buf.starts_with(b"\r\n") {
            if self.buf.starts_with(b"\r\n\r\n") {
                self.buf.advance(4);
                return Ok(Some(Frame::Ping));
            }
            if self.buf.len() < 4 && b"\r\n\r\n".starts_with(&self.buf[..]) {
                return Ok(None); // could still become a ping
            }
            self.buf.advance(2);
            return Ok(Some(Frame::Pong));
        }
        let max = self.limits.max_message_size;
        let kind = if self.buf.starts_with(b"SIP/") {
            MessageKind::Response
        } else {
            MessageKind::Request
        };
        let Some(head_len) =
            memchr::memmem::find(&self.buf[..self.buf.len().min(max + 4)], b"\r\n\r\n")
        else {
            if self.buf.len() > max {
                return Err(ParseError::new(
                    ErrorKind::Limit {
                        kind: LimitKind::MessageSize,
                        max,
                    },
                    kind,
                ));
            }
            return Ok(None);
        };
        let head_len = head_len + 4;
        let body_len =
            content_length(&self.buf[..head_len]).map_err(|k| ParseError::new(k, kind))?;
        let total = head_len + body_len;
        if total > max {
            return Err(ParseError::new(
                ErrorKind::Limit {
                    kind: LimitKind::MessageSize,
                    max,
                },
                kind,
            ));
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let frame = self.buf.split_to(total).freeze();
        self.last = frame.clone();
        Ok(Some(match parse(frame, &self.limits, Transport::Stream) {
            Ok(m) => Frame::Message(m),
            Err(e) => Frame::Malformed(e),
        }))
    }
}

/// Finds the Content-Length (or `l`) value in a head without parsing the rest.
fn content_length(head: &[u8]) -> Result<usize, ErrorKind> {
    let mut found: Option<usize> = None;
    let mut lines = head.split(|&c| c == b'\n').peekable();
    lines.next(); // start line
    while let Some(line) = lines.next() {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        if line.first().is_some_and(|c| *c == b' ' || *c == b'\t') {
            continue;
        }
        let name = line[..colon].trim_ascii_end();
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let mut value = line[colon + 1..].trim_ascii().to_vec();
        while let Some(next) = lines
            .peek()
            .filter(|l| l.first().is_some_and(|c| *c == b' ' || *c == b'\t'))
        {
            value.extend_from_slice(next.trim_ascii());
            lines.next();
        }
        if found.is_some() {
            return Err(ErrorKind::DuplicateHeader("Content-Length"));
        }
        if value.is_empty() || value.len() > 10 || !value.iter().all(u8::is_ascii_digit) {
            return Err(ErrorKind::Header("Content-Length"));
        }
        found = std::str::from_utf8(&value)
            .ok()
            .and_then(|v| v.parse().ok());
    }
    found.ok_or(ErrorKind::NoContentLength)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn frames_byte_by_byte_with_keepalives() {
        let mut f = StreamFramer::new(Limits::default());
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(MSG);
        stream.extend_from_slice(MSG);
        stream.extend_from_slice(b"\r\n");
        let mut frames = Vec::new();
        for b in &stream {
            f.push(std::slice::from_ref(b));
            while let Some(fr) = f.next_frame().expect("frame") {
                frames.push(fr);
            }
        }
        assert!(matches!(frames[0], Frame::Ping));
        for fr in &frames[1..3] {
            let Frame::Message(m) = fr else {
                panic!("expected a message, got {fr:?}")
            };
            assert_eq!(&m.body()[..], b"hello");
        }
        assert_eq!(
            frames.len(),
            3,
            "the trailing lone CRLF waits: it may be half a ping"
        );
        assert_eq!(f.buffered(), 2);
    }

    #[test]
    fn missing_negative_or_double_content_length_is_fatal() {
        for bad in [
            &b"OPTIONS sip:h SIP/2.0\r\nVia: x\r\n\r\n"[..],
            b"OPTIONS sip:h SIP/2.0\r\nl: -5\r\n\r\n",
            b"OPTIONS sip:h SIP/2.0\r\nl: 5\r\nContent-Length: 5\r\n\r\n",
        ] {
            let mut f = StreamFramer::new(Limits::default());
            f.push(bad);
            assert!(f.next_frame().is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn oversized_stream_is_refused_with_the_limit_named() {
        let limits = Limits {
            max_message_size: 100,
            ..Limits::default()
        };
        let mut f = StreamFramer::new(limits);
        f.push(&[b'A'; 200]);
        let err = f.next_frame().expect_err("limit");
        assert_eq!(
            err.kind,
            ErrorKind::Limit {
                kind: LimitKind::MessageSize,
                max: 100
            }
        );
        assert!(err.to_string().contains("max_message_size"));
    }

    #[test]
    fn malformed_but_framed_message_keeps_the_stream() {
        let mut f = StreamFramer::new(Limits::default());
        f.push(b"BAD LINE\r\nContent-Length: 0\r\n\r\n");
        f.push(MSG);
        assert!(matches!(f.next_frame(), Ok(Some(Frame::Malformed(_)))));
        assert!(matches!(f.next_frame(), Ok(Some(Frame::Message(_)))));
    }
}
