//! Calls through the server (RFC 3261 §16): INVITE with proxy authentication, 180, 200,
//! ACK and BYE routed back through the server by its Record-Route; REGISTER with digest
//! on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_tests::{auth_field, sipp::Sipp, test_dir, Server, DOMAIN};

#[test]
fn invite_200_ack_bye_through_the_server() {
    let dir = test_dir("call");
    let s = Server::start(dir.path(), &[]);
    s.add_user("alice", "alice-pw");
    s.add_user("bob", "bob-pw");
    let (callee, phone) = Sipp::new(dir.path(), "bob-phone", "invite_uas.xml").listen();
    s.register(dir.path(), "bob-reg", "bob", "bob-pw", &phone);
    let alice_auth = auth_field("alice", "alice-pw");
    let caller = Sipp::new(dir.path(), "alice", "invite_uac.xml")
        .to(s.addr("udp"))
        .fields(&["alice", DOMAIN, &alice_auth, "bob"])
        .run();
    caller.assert_ok("alice calls bob");
    let callee = callee.wait();
    callee.assert_ok("bob answers, gets ACK and BYE");
    // The callee saw our Record-Route, and the ACK and BYE came through the server
    // (they carry its Via).
    assert!(
        callee
            .messages
            .contains("Record-Route: <sip:herald@127.0.0.1:"),
        "{}",
        callee.messages
    );
    for method in ["ACK", "BYE"] {
        let at = callee
            .messages
            .find(&format!("\n{method} sip:"))
            .unwrap_or_else(|| panic!("no {method}"));
        let msg = &callee.messages[at..];
        let via = msg.lines().find(|l| l.starts_with("Via:")).unwrap();
        assert!(
            via.contains("z9hG4bK-hs1-"),
            "{method} did not pass the server: {via}"
        );
    }
    // The caller's INVITE was challenged first.
    assert!(
        caller.messages.contains("SIP/2.0 407"),
        "{}",
        caller.messages
    );
}

#[test]
fn calling_a_user_with_no_device_gets_480_and_an_unknown_user_404() {
    let dir = test_dir("call-unavailable");
    let s = Server::start(dir.path(), &[]);
    s.add_user("alice", "alice-pw");
    s.add_user("bob", "bob-pw");
    let mut alice = herald_tests::ws::WsDevice::connect(s.addr("ws"), "alice", "alice-pw");
    assert_eq!(alice.invite(DOMAIN, "bob"), 480);
    assert_eq!(alice.invite(DOMAIN, "nobody"), 404);
}

#[test]
fn two_phones_ring_the_first_to_answer_wins_the_other_is_cancelled() {
    let dir = test_dir("fork");
    let s = Server::start(dir.path(), &[]);
    s.add_user("alice", "alice-pw");
    s.add_user("bob", "bob-pw");
    let (answering, desk) = Sipp::new(dir.path(), "bob-desk", "invite_uas.xml").listen();
    let (ringing, mobile) = Sipp::new(dir.path(), "bob-mobile", "invite_uas_ring.xml").listen();
    s.register(dir.path(), "bob-reg-desk", "bob", "bob-pw", &desk);
    s.register(dir.path(), "bob-reg-mobile", "bob", "bob-pw", &mobile);
    let alice_auth = auth_field("alice", "alice-pw");
    Sipp::new(dir.path(), "alice", "invite_uac.xml")
        .to(s.addr("udp"))
        .fields(&["alice", DOMAIN, &alice_auth, "bob"])
        .run()
        .assert_ok("alice's call is answered");
    answering.wait().assert_ok("the desk phone answers");
    let ringing = ringing.wait();
    ringing.assert_ok("the mobile rang, was cancelled and got the ACK for its 487");
    assert!(
        ringing.messages.contains("\nCANCEL sip:"),
        "{}",
        ringing.messages
    );
}

#[test]
fn the_caller_cancels_before_an_answer() {
    let dir = test_dir("cancel");
    let s = Server::start(dir.path(), &[]);
    s.add_user("alice", "alice-pw");
    s.add_user("bob", "bob-pw");
    let mut bob = herald_tests::ws::WsDevice::connect(s.addr("ws"), "bob", "bob-pw");
    assert_eq!(bob.register(DOMAIN), 200);
    let alice_auth = auth_field("alice", "alice-pw");
    let caller = Sipp::new(dir.path(), "alice", "invite_cancel_uac.xml")
        .to(s.addr("udp"))
        .fields(&["alice", DOMAIN, &alice_auth, "bob"])
        .spawn();
    assert!(
        bob.ring_until_cancelled(std::time::Duration::from_secs(15)),
        "bob's phone did not see INVITE, CANCEL and the ACK of its 487"
    );
    caller
        .wait()
        .assert_ok("alice cancels: 200 to the CANCEL, 487 to the INVITE");
}

#[test]
fn a_forged_route_does_not_make_the_server_a_relay() {
    use std::net::UdpSocket;
    let dir = test_dir("forged-route");
    let s = Server::start(dir.path(), &[]);
    let victim = UdpSocket::bind("127.0.0.1:0").unwrap();
    victim
        .set_read_timeout(Some(std::time::Duration::from_millis(1500)))
        .unwrap();
    let v = victim.local_addr().unwrap().port();
    let server = s.addr("udp");
    let attacker = UdpSocket::bind("127.0.0.1:0").unwrap();
    attacker
        .set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .unwrap();
    // Flow tokens in the shape the server writes, but not signed by it.
    let bye = format!(
        "BYE sip:someone@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKforged\r\n\
         Route: <sip:herald@{server};lr;hfa=fe1~0~1~127.0.0.1%3A9;hfb=fe1~0~1~127.0.0.1%3A{v};hfs=000000000000000000000000>\r\n\
         Max-Forwards: 70\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n\
         Call-ID: forged-1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
    );
    attacker.send_to(bye.as_bytes(), server).unwrap();
    let mut buf = [0u8; 4096];
    let n = attacker
        .recv(&mut buf)
        .expect("an answer to the forged BYE");
    let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(answer.starts_with("SIP/2.0 403"), "{answer}");
    if let Ok(n) = victim.recv(&mut buf) {
        panic!(
            "the server relayed to the victim:\n{}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
}
