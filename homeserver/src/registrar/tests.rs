use herald_proto::v1::{FlowRef, Transport};
use herald_sip::{Message, Request};

use super::*;

fn flow() -> FlowRef {
    FlowRef {
        frontend_id: "fe".into(),
        connection_id: 0,
        transport: Transport::Udp as i32,
        remote: "127.0.0.1:5070".into(),
    }
}

fn register(cseq: u32, extra: &str) -> Request {
    let raw = format!(
        "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK{cseq}\r\n\
         From: <sip:alice@example.com>;tag=a\r\nTo: <sip:alice@example.com>\r\nCall-ID: reg-1\r\n\
         CSeq: {cseq} REGISTER\r\n{extra}Content-Length: 0\r\n\r\n"
    );
    match herald_sip::parse_datagram(raw.into(), &herald_sip::Limits::default()).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => panic!("request expected"),
    }
}

fn cfg() -> HomeConfig {
    HomeConfig::for_domain("example.com")
}

fn aor() -> Aor {
    Aor::parse("alice@example.com").unwrap()
}

#[test]
fn two_contacts_then_refresh_and_remove_one() {
    let req = register(
        1,
        "Contact: <sip:a@10.0.0.1>;q=0.7, <sip:a@10.0.0.2;transport=tcp>\r\nExpires: 600\r\n",
    );
    let set = apply(&req, &aor(), &[], &flow(), 1000, &cfg())
        .unwrap()
        .unwrap();
    assert_eq!(set.len(), 2);
    assert_eq!(set[0].q, Some(700));
    assert_eq!(set[1].expires_at, 1600);
    let ok = ok(&req, &set, 1000, &cfg());
    assert_eq!(ok.headers.get_all(&HeaderName::Contact).count(), 2);
    assert!(ok
        .headers
        .get(&HeaderName::Contact)
        .unwrap()
        .contains("expires=600;q=0.700"));

    let req = register(2, "Contact: <sip:a@10.0.0.1>;expires=0\r\n");
    let after = apply(&req, &aor(), &set, &flow(), 1001, &cfg())
        .unwrap()
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].contact, "sip:a@10.0.0.2;transport=tcp");
}

#[test]
fn too_brief_gets_423_with_min_expires() {
    let req = register(1, "Contact: <sip:a@10.0.0.1>;expires=5\r\n");
    let r = apply(&req, &aor(), &[], &flow(), 0, &cfg()).unwrap_err();
    assert_eq!(r.status.as_u16(), 423);
    assert_eq!(r.headers.get(&HeaderName::MinExpires), Some("60"));
}

#[test]
fn star_needs_expires_zero_and_removes_all() {
    let req = register(1, "Contact: <sip:a@10.0.0.1>\r\n");
    let set = apply(&req, &aor(), &[], &flow(), 0, &cfg())
        .unwrap()
        .unwrap();
    let star = register(2, "Contact: *\r\nExpires: 0\r\n");
    assert_eq!(
        apply(&star, &aor(), &set, &flow(), 1, &cfg()).unwrap(),
        Some(vec![])
    );
    let bad = register(3, "Contact: *\r\n");
    assert_eq!(
        apply(&bad, &aor(), &set, &flow(), 1, &cfg())
            .unwrap_err()
            .status
            .as_u16(),
        400
    );
}

#[test]
fn stale_cseq_on_the_same_call_id_is_refused() {
    let req = register(5, "Contact: <sip:a@10.0.0.1>\r\n");
    let set = apply(&req, &aor(), &[], &flow(), 0, &cfg())
        .unwrap()
        .unwrap();
    let old = register(4, "Contact: <sip:a@10.0.0.1>\r\n");
    assert_eq!(
        apply(&old, &aor(), &set, &flow(), 1, &cfg())
            .unwrap_err()
            .status
            .as_u16(),
        500
    );
}

#[test]
fn fetch_changes_nothing_and_instance_replaces_contact() {
    let fetch = register(1, "");
    assert_eq!(
        apply(&fetch, &aor(), &[], &flow(), 0, &cfg()).unwrap(),
        None
    );
    let inst = "Contact: <sip:a@10.0.0.1>;+sip.instance=\"<urn:uuid:1>\";reg-id=1\r\n";
    let set = apply(&register(1, inst), &aor(), &[], &flow(), 0, &cfg())
        .unwrap()
        .unwrap();
    let moved = "Contact: <sip:a@192.0.2.9:5099>;+sip.instance=\"<urn:uuid:1>\";reg-id=1\r\n";
    let after = apply(&register(2, moved), &aor(), &set, &flow(), 0, &cfg())
        .unwrap()
        .unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].contact, "sip:a@192.0.2.9:5099");
}

#[test]
fn udp_contacts_are_reached_at_their_address_unless_behind_nat() {
    let one = |contact: &str| {
        let req = register(1, &format!("Contact: <{contact}>\r\n"));
        apply(&req, &aor(), &[], &flow(), 0, &cfg())
            .unwrap()
            .unwrap()
            .remove(0)
            .flow
            .remote
    };
    assert_eq!(one("sip:a@127.0.0.1:5090"), "127.0.0.1:5090");
    assert_eq!(one("sip:a@192.0.2.7"), "192.0.2.7:5060");
    // Private address that is not the source: NAT, use the source.
    assert_eq!(one("sip:a@192.168.1.20:5060"), "127.0.0.1:5070");
    assert_eq!(one("sip:a@host.example.com"), "127.0.0.1:5070");
    assert_eq!(one("sip:a@192.0.2.7;ob"), "127.0.0.1:5070");
}

#[test]
fn the_200_lists_each_binding_with_its_time_left_and_q() {
    let req = register(1, "Contact: <sip:a@10.0.0.1>\r\n");
    let base = apply(&req, &aor(), &[], &flow(), 1000, &cfg())
        .unwrap()
        .unwrap()
        .remove(0);
    let cases = [
        (None, 1600, "<sip:a@10.0.0.1>;expires=600"),
        (Some(0), 1000, "<sip:a@10.0.0.1>;expires=0;q=0.000"),
        (Some(5), 999, "<sip:a@10.0.0.1>;expires=0;q=0.005"),
        (Some(50), 1001, "<sip:a@10.0.0.1>;expires=1;q=0.050"),
        (Some(700), 4600, "<sip:a@10.0.0.1>;expires=3600;q=0.700"),
        (Some(999), 1010, "<sip:a@10.0.0.1>;expires=10;q=0.999"),
        (Some(1000), 8200, "<sip:a@10.0.0.1>;expires=7200;q=1.000"),
    ];
    for (q, expires_at, want) in cases {
        let b = Binding {
            q,
            expires_at,
            ..base.clone()
        };
        let r = ok(&req, &[b], 1000, &cfg());
        assert_eq!(r.headers.get(&HeaderName::Contact), Some(want));
    }
}
