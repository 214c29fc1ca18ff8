//! Serialization. Headers are written in order with their values as they were received
//! (unknown headers byte-exact); Content-Length is always written, from the actual body.

use bytes::{BufMut, Bytes, BytesMut};

use crate::{
    header::{HeaderName, Headers},
    message::{Message, Request, Response},
};

impl Request {
    pub fn write_to(&self, out: &mut BytesMut) {
        out.reserve(estimate(&self.headers, self.body.len()) + self.uri.len());
        out.put_slice(self.method.as_str().as_bytes());
        out.put_u8(b' ');
        out.put_slice(self.uri.as_bytes());
        out.put_slice(b" SIP/2.0\r\n");
        write_rest(&self.headers, &self.body, out);
    }

    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::new();
        self.write_to(&mut b);
        b.freeze()
    }
}

impl Response {
    pub fn write_to(&self, out: &mut BytesMut) {
        out.reserve(estimate(&self.headers, self.body.len()) + self.reason.len());
        out.put_slice(b"SIP/2.0 ");
        let code = self.status.as_u16();
        out.put_slice(&[
            b'0' + (code / 100) as u8,
            b'0' + (code / 10 % 10) as u8,
            b'0' + (code % 10) as u8,
        ]);
        out.put_u8(b' ');
        out.put_slice(self.reason.as_bytes());
        out.put_slice(b"\r\n");
        write_rest(&self.headers, &self.body, out);
    }

    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::new();
        self.write_to(&mut b);
        b.freeze()
    }
}

impl Message {
    pub fn write_to(&self, out: &mut BytesMut) {
        match self {
            Message::Request(r) => r.write_to(out),
            Message::Response(r) => r.write_to(out),
        }
    }

    pub fn to_bytes(&self) -> Bytes {
        let mut b = BytesMut::new();
        self.write_to(&mut b);
        b.freeze()
    }
}

fn estimate(h: &Headers, body: usize) -> usize {
    32 + body
        + h.iter()
            .map(|h| h.name.wire_name().len() + h.value.len() + 4)
            .sum::<usize>()
}

fn write_rest(headers: &Headers, body: &Bytes, out: &mut BytesMut) {
    for h in headers {
        if h.name == HeaderName::ContentLength {
            continue;
        }
        out.put_slice(h.name.wire_name().as_bytes());
        out.put_slice(b": ");
        out.put_slice(h.value.as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"Content-Length: ");
    put_decimal(body.len(), out);
    out.put_slice(b"\r\n\r\n");
    out.put_slice(body);
}

fn put_decimal(mut n: usize, out: &mut BytesMut) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&buf[i..]);
}
