//! Answers to requests that failed to parse or validate (RFC 3261 §8.2, §16.3): the
//! status the [`ParseError`] names, built from whatever Via, From, To, Call-ID and CSeq
//! lines can be read, leniently, from the raw bytes. A message whose Via cannot be found
//! is not answered (there is no one to answer), nor is a broken response (§18.1.2).

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Disposition, ParseError};

/// The response bytes for a malformed request, or `None` where it is dropped.
pub fn error_response(raw: &[u8], err: &ParseError) -> Option<Bytes> {
    let Disposition::Respond(status) = err.disposition() else {
        return None;
    };
    let head_end = memchr::memmem::find(raw, b"\r\n\r\n").unwrap_or(raw.len());
    let head = &raw[..head_end];
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut has_via = false;
    let mut has_to_tag = true;
    // Skip the start line; a folded line (leading SP/HT) belongs to the previous one and
    // is dropped with it rather than unfolded: an answer needs no more than the basics.
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let name = trim(&line[..colon]).to_ascii_lowercase();
        let keep = match name.as_slice() {
            b"via" | b"v" => {
                has_via = true;
                true
            }
            b"to" | b"t" => {
                has_to_tag = contains_ci(&line[colon..], b";tag=");
                true
            }
            b"from" | b"f" | b"call-id" | b"i" | b"cseq" => true,
            _ => false,
        };
        if keep && std::str::from_utf8(line).is_ok() && !line.contains(&0) {
            lines.push(line);
        }
    }
    if !has_via {
        return None;
    }
    let reason = err.reason().replace(['\r', '\n'], " ");
    let mut out = BytesMut::with_capacity(256);
    out.put_slice(format!("SIP/2.0 {status} {reason}\r\n").as_bytes());
    for line in lines {
        out.put_slice(line);
        if !has_to_tag && matches!(line.first(), Some(b'T' | b't')) {
            out.put_slice(b";tag=err");
        }
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"Content-Length: 0\r\n\r\n");
    Some(out.freeze())
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_datagram, Limits, Message};

    fn answer(raw: &str) -> Option<Message> {
        let err = parse_datagram(Bytes::copy_from_slice(raw.as_bytes()), &Limits::default())
            .and_then(|m| m.validate().map(|()| m))
            .expect_err("malformed");
        let bytes = error_response(raw.as_bytes(), &err)?;
        Some(parse_datagram(bytes, &Limits::default()).unwrap())
    }

    #[test]
    fn bad_version_gets_505_with_the_dialog_headers() {
        let raw = "OPTIONS sip:a@b SIP/7.0\r\nVia: SIP/7.0/UDP h;branch=z9hG4bK1\r\nt: <sip:a@b>\r\n\
                   From: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        let Some(Message::Response(r)) = answer(raw) else {
            panic!("no answer")
        };
        assert_eq!(r.status.as_u16(), 505);
        assert_eq!(r.headers.call_id().unwrap(), "x");
        assert_eq!(r.headers.to().unwrap().tag(), Some("err"));
    }

    #[test]
    fn no_via_no_answer_and_responses_are_dropped() {
        let raw = "OPTIONS sip:a@b SIP/2.0\r\nTo: <sip:a@b>\r\nCSeq: 1 OPTIONS\r\n\r\n";
        assert!(answer(raw).is_none());
        let raw = "SIP/2.0 999 Huge\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n";
        assert!(answer(raw).is_none());
    }

    #[test]
    fn missing_headers_get_400_naming_the_problem() {
        let raw = "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        let Some(Message::Response(r)) = answer(raw) else {
            panic!("no answer")
        };
        assert_eq!(r.status.as_u16(), 400);
        assert!(
            r.reason.as_str().to_ascii_lowercase().contains("missing"),
            "{}",
            r.reason.as_str()
        );
    }
}
