use super::*;
use crate::{error::Disposition, header::HeaderName};

const REGISTER: &str = "REGISTER sip:example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sip:alice@example.com>;tag=1928301774\r\n\
To: <sip:alice@example.com>\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 314159 REGISTER\r\n\
Contact: <sip:alice@192.0.2.10:5060;transport=udp>;expires=3600\r\n\
Content-Length: 0\r\n\r\n";

fn dg(s: &str) -> Result<Message> {
    parse_datagram(Bytes::copy_from_slice(s.as_bytes()), &Limits::default())
}

#[test]
fn parses_a_register() {
    let Message::Request(r) = dg(REGISTER).expect("parse") else {
        panic!("not a request")
    };
    assert_eq!(r.method, Method::Register);
    assert_eq!(&*r.uri, "sip:example.com");
    assert_eq!(r.headers.len(), 8);
    assert_eq!(r.headers.call_id(), Ok("a84b4c76e66710@pc33.example.com"));
    assert_eq!(r.headers.cseq().map(|c| c.seq), Ok(314159));
    assert_eq!(r.headers.from().expect("from").tag(), Some("1928301774"));
    assert_eq!(
        r.headers.top_via().expect("via").branch(),
        Some("z9hG4bK776asdhds")
    );
    r.validate().expect("valid");
}

#[test]
fn round_trips() {
    let m = dg(REGISTER).expect("parse");
    let again = dg(std::str::from_utf8(&m.to_bytes()).expect("utf8")).expect("reparse");
    assert_eq!(m, again);
}

#[test]
fn accepts_bare_lf_and_leading_crlf() {
    let s = format!("\r\n\r\n{}", REGISTER.replace("\r\n", "\n"));
    let m = dg(&s).expect("parse");
    assert_eq!(m.headers().len(), 8);
}

#[test]
fn version_errors() {
    let e = dg(&REGISTER.replace("SIP/2.0\r\nVia", "SIP/7.0\r\nVia")).expect_err("505");
    assert_eq!(e.disposition(), Disposition::Respond(505));
    let e = dg(&REGISTER.replace("SIP/2.0\r\nVia", "HTTP/1.1\r\nVia")).expect_err("400");
    assert_eq!(e.status(), 400);
}

#[test]
fn limits_name_what_was_hit() {
    let tight = Limits {
        max_headers: 3,
        ..Limits::default()
    };
    let e = parse_datagram(Bytes::from_static(REGISTER.as_bytes()), &tight).expect_err("limit");
    assert!(e.to_string().contains("max_headers"), "{e}");
    let tight = Limits {
        max_uri_len: 5,
        ..Limits::default()
    };
    let e = parse_datagram(Bytes::from_static(REGISTER.as_bytes()), &tight).expect_err("limit");
    assert_eq!(e.status(), 414);
    let tight = Limits {
        max_header_line: 20,
        ..Limits::default()
    };
    let e = parse_datagram(Bytes::from_static(REGISTER.as_bytes()), &tight).expect_err("limit");
    assert!(e.to_string().contains("max_header_line"), "{e}");
    let tight = Limits {
        max_message_size: 100,
        ..Limits::default()
    };
    let e = parse_datagram(Bytes::from_static(REGISTER.as_bytes()), &tight).expect_err("limit");
    assert_eq!(e.status(), 513);
}

#[test]
fn response_status_line() {
    let m = dg("SIP/2.0 180 Ringing Now\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n")
        .expect("parse");
    let r = m.as_response().expect("response");
    assert_eq!((r.status.as_u16(), &*r.reason), (180, "Ringing Now"));
    assert!(dg("SIP/2.0 999 Bad\r\n\r\n").is_err());
}

#[test]
fn headers_can_be_edited() {
    let Message::Request(mut r) = dg(REGISTER).expect("parse") else {
        panic!()
    };
    r.headers.push_front(
        HeaderName::Via,
        "SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp",
    );
    assert_eq!(r.headers.top_via().expect("via").transport, "TCP");
    assert_eq!(
        r.headers.remove_first_value(&HeaderName::Via).as_deref(),
        Some("SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp")
    );
    r.headers.set(HeaderName::MaxForwards, "69");
    assert_eq!(r.headers.max_forwards(), Ok(Some(69)));
}

#[test]
fn non_ascii_where_the_version_belongs_is_a_400_not_a_panic() {
    // Found by the parse_roundtrip fuzz target: 'й' straddles byte 4 of the last token.
    let raw = b"01D at:~ s\xd0\x9e\xd0\xb9ZK\n";
    let e = parse_datagram(Bytes::from_static(raw), &Limits::default()).expect_err("400");
    assert_eq!(e.status(), 400);
    for v in ["sip/2.0", "SIP/2.0"] {
        assert!(check_version(v, MessageKind::Request).is_ok(), "{v}");
    }
    for (v, status) in [
        ("SIP/7.0", 505),
        ("SIP/2.", 400),
        ("SIP/.0", 400),
        ("SIPX2.0", 400),
        ("Й", 400),
        ("SIP/2.0x", 400),
    ] {
        assert_eq!(
            check_version(v, MessageKind::Request).map_err(|e| e.status()),
            Err(status),
            "{v}"
        );
    }
}

#[test]
fn unmodified_message_reproduces_its_input_exactly() {
    for raw in [
        REGISTER.to_owned(),
        REGISTER
            .replace("Content-Length: 0", "l:0")
            .replace("Via:", "v :"),
    ] {
        let m = dg(&raw).expect("parse");
        assert_eq!(std::str::from_utf8(&m.to_bytes()).expect("utf8"), raw);
    }
    // A wrong Content-Length is rewritten in place; a missing one is added at the end.
    let m = dg(&REGISTER.replace("Content-Length: 0\r\n\r\n", "Content-Length: 0\r\n\r\nbody"))
        .expect("parse");
    let Message::Request(mut r) = m else { panic!() };
    r.body = Bytes::from_static(b"hello");
    assert!(std::str::from_utf8(&r.to_bytes())
        .expect("utf8")
        .ends_with("Content-Length: 5\r\n\r\nhello"));
    r.headers.remove_all(&HeaderName::ContentLength);
    assert!(std::str::from_utf8(&r.to_bytes())
        .expect("utf8")
        .ends_with("Content-Length: 5\r\n\r\nhello"));
}
