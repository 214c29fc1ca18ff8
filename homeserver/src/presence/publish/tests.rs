use herald_sip::{Limits, Message};

use super::*;

const DOC: &str = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@example.com\">\
<tuple id=\"t\"><status><basic>open</basic></status></tuple></presence>";

fn publish(headers: &str, body: &str) -> Request {
    let raw = format!(
        "PUBLISH sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKp\r\n\
         From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: p1\r\nCSeq: 1 PUBLISH\r\n\
         Max-Forwards: 70\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    match herald_sip::parse_datagram(raw.into(), &Limits::default()).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => panic!("request expected"),
    }
}

fn limits() -> PublishLimits {
    PublishLimits::default()
}

const PIDF: &str = "Event: presence\r\nContent-Type: application/pidf+xml\r\n";

#[test]
fn initial_refresh_modify_remove() {
    let mut pubs = Vec::new();
    let r = apply(
        &publish(&format!("{PIDF}Expires: 600\r\n"), DOC),
        &mut pubs,
        1000,
        &limits(),
        || "e1".into(),
    );
    assert_eq!(
        r,
        Ok(Published200::Stored {
            etag: "e1".into(),
            expires: 600
        })
    );
    assert_eq!(pubs[0].expires_at, 1600);
    // Refresh: no body, If-Match; a new tag each time.
    let refresh = publish(
        "Event: presence\r\nSIP-If-Match: e1\r\nExpires: 600\r\n",
        "",
    );
    let r = apply(&refresh, &mut pubs, 1100, &limits(), || "e2".into());
    assert_eq!(
        r,
        Ok(Published200::Stored {
            etag: "e2".into(),
            expires: 600
        })
    );
    assert_eq!(
        (pubs[0].at, pubs[0].expires_at),
        (1000, 1700),
        "a refresh keeps the document time"
    );
    // Modify: body with If-Match.
    let closed = DOC.replace("open", "closed");
    let modify = publish(&format!("{PIDF}SIP-If-Match: e2\r\n"), &closed);
    apply(&modify, &mut pubs, 1200, &limits(), || "e3".into()).unwrap();
    assert!(!pubs[0].doc.is_open());
    assert_eq!(pubs[0].at, 1200);
    // Remove.
    let remove = publish("Event: presence\r\nSIP-If-Match: e3\r\nExpires: 0\r\n", "");
    assert_eq!(
        apply(&remove, &mut pubs, 1300, &limits(), || "x".into()),
        Ok(Published200::Removed)
    );
    assert!(pubs.is_empty());
}

#[test]
fn stale_or_unknown_tags_get_412() {
    let mut pubs = Vec::new();
    apply(
        &publish(&format!("{PIDF}Expires: 60\r\n"), DOC),
        &mut pubs,
        0,
        &limits(),
        || "e1".into(),
    )
    .unwrap();
    let refresh = publish("Event: presence\r\nSIP-If-Match: e1\r\n", "");
    let r = apply(&refresh, &mut pubs, 61, &limits(), || "e2".into()).unwrap_err();
    assert_eq!(r.status.as_u16(), 412, "expired");
    let unknown = publish("Event: presence\r\nSIP-If-Match: nope\r\n", "");
    assert_eq!(
        apply(&unknown, &mut pubs, 0, &limits(), || "e".into())
            .unwrap_err()
            .status
            .as_u16(),
        412
    );
}

#[test]
fn refusals_name_what_is_wrong() {
    let mut pubs = Vec::new();
    let code = |r: Result<Published200, Refusal>| r.unwrap_err();
    let r = code(apply(
        &publish(
            "Event: dialog\r\nContent-Type: application/pidf+xml\r\n",
            DOC,
        ),
        &mut pubs,
        0,
        &limits(),
        || "e".into(),
    ));
    assert_eq!(
        (r.status.as_u16(), r.header.map(|h| h.1)),
        (489, Some("presence".into()))
    );
    let r = code(apply(
        &publish(&format!("{PIDF}Expires: 10\r\n"), DOC),
        &mut pubs,
        0,
        &limits(),
        || "e".into(),
    ));
    assert_eq!(
        (r.status.as_u16(), r.header.map(|h| h.1)),
        (423, Some("60".into()))
    );
    let r = code(apply(
        &publish("Event: presence\r\nContent-Type: text/plain\r\n", "hi"),
        &mut pubs,
        0,
        &limits(),
        || "e".into(),
    ));
    assert_eq!(r.status.as_u16(), 415);
    let r = code(apply(
        &publish(PIDF, "<presence"),
        &mut pubs,
        0,
        &limits(),
        || "e".into(),
    ));
    assert_eq!(r.status.as_u16(), 400);
    assert!(r.reason.starts_with("Bad PIDF"), "{}", r.reason);
    let r = code(apply(
        &publish("Event: presence\r\n", ""),
        &mut pubs,
        0,
        &limits(),
        || "e".into(),
    ));
    assert_eq!(
        (r.status.as_u16(), r.reason.as_str()),
        (400, "Initial PUBLISH needs a body")
    );
    assert!(pubs.is_empty());
}
