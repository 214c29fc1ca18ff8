//! Serialization. Headers are written in order with their values as they were received
//! (unknown headers byte-exact); Content-Length is always written, from the actual body.

use bytes::{Bytes, BytesMut};

use crate::{
    header::{Header, HeaderName, Headers},
    message::{Message, Request, Response},
};

impl Request {
    pub fn write_to(&self, out: &mut BytesMut) {
        out.extend_from_slice(&self.to_bytes());
    }

    /// Serializes into one exactly sized allocation.
    pub fn to_bytes(&self) -> Bytes {
        let method = self.method.as_str().as_bytes();
        let len = method.len() + 1 + self.uri.len() + 10 + rest_len(&self.headers, &self.body);
        let mut v = Vec::with_capacity(len);
        v.extend_from_slice(method);
        v.push(b' ');
        v.extend_from_slice(self.uri.as_bytes());
        v.extend_from_slice(b" SIP/2.0\r\n");
        write_rest(&self.headers, &self.body, &mut v);
        debug_assert_eq!(v.len(), len);
        Bytes::from(v)
    }
}

impl Response {
    pub fn write_to(&self, out: &mut BytesMut) {
        out.extend_from_slice(&self.to_bytes());
    }

    /// Serializes into one exactly sized allocation.
    pub fn to_bytes(&self) -> Bytes {
        let len = 8 + 3 + 1 + self.reason.len() + 2 + rest_len(&self.headers, &self.body);
        let mut v = Vec::with_capacity(len);
        v.extend_from_slice(b"SIP/2.0 ");
        let code = self.status.as_u16();
        v.extend_from_slice(&[
            b'0' + (code / 100) as u8,
            b'0' + (code / 10 % 10) as u8,
            b'0' + (code % 10) as u8,
        ]);
        v.push(b' ');
        v.extend_from_slice(self.reason.as_bytes());
        v.extend_from_slice(b"\r\n");
        write_rest(&self.headers, &self.body, &mut v);
        debug_assert_eq!(v.len(), len);
        Bytes::from(v)
    }
}

impl Message {
    pub fn write_to(&self, out: &mut BytesMut) {
        match self {
            Message::Request(r) => r.write_to(out),
            Message::Response(r) => r.write_to(out),
        }
    }

    /// Serializes into one exactly sized allocation.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

/// The bytes `write_rest` writes, so the buffer is allocated once.
fn rest_len(headers: &Headers, body: &Bytes) -> usize {
    let mut n = 0;
    let mut cl_done = false;
    for h in headers {
        if !matches!(h.name, HeaderName::ContentLength) {
            n += h.wire_len();
        } else if !cl_done {
            cl_done = true;
            n += if correct_length(h, body.len()) {
                h.wire_len()
            } else {
                canonical_cl_len(body.len())
            };
        }
    }
    if !cl_done {
        n += canonical_cl_len(body.len());
    }
    n + 2 + body.len()
}

/// Header lines in order, then the body. Content-Length is always the body's real length:
/// written where the first one stood (as received, if it was right), or at the end.
fn write_rest(headers: &Headers, body: &Bytes, out: &mut Vec<u8>) {
    let mut cl_done = false;
    for h in headers {
        if !matches!(h.name, HeaderName::ContentLength) {
            h.write_wire(out);
        } else if !cl_done {
            cl_done = true;
            if correct_length(h, body.len()) {
                h.write_wire(out);
            } else {
                put_canonical_cl(body.len(), out);
            }
        }
    }
    if !cl_done {
        put_canonical_cl(body.len(), out);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// Whether a received Content-Length states the body's real length.
fn correct_length(h: &Header, len: usize) -> bool {
    h.value().parse::<usize>().ok() == Some(len)
}

fn canonical_cl_len(len: usize) -> usize {
    b"Content-Length: ".len() + decimal_len(len) + 2
}

fn put_canonical_cl(len: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(b"Content-Length: ");
    put_decimal(len, out);
    out.extend_from_slice(b"\r\n");
}

fn decimal_len(mut n: usize) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

fn put_decimal(n: usize, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    out.extend_from_slice(crate::text::decimal(n as u64, &mut buf));
}
