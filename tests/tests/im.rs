//! RFC 3428 instant messages through the running server, between real peers on different
//! transports: UDP -> TCP, TCP -> WebSocket, TLS -> UDP, and the archive of each.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_tests::{auth_field, free_port, sipp::Sipp, ws::WsDevice, Server, TlsRelay, DOMAIN};

fn server(dir: &std::path::Path) -> Server {
    let s = Server::start(dir, &[]);
    s.add_user("alice", "alice-pw");
    s.add_user("bob", "bob-pw");
    s
}

#[test]
fn udp_sender_to_tcp_device() {
    let dir = herald_tests::test_dir("im");
    let s = server(dir.path());
    // The device registers over TCP and must get the MESSAGE down that same connection.
    // sipp matches the incoming MESSAGE to its call by Call-ID, so both sides use the same
    // Call-ID format.
    let cid = format!("udp-tcp-{}-%u", free_port());
    let bob_auth = auth_field("bob", "bob-pw");
    let bob = Sipp::new(dir.path(), "bob", "register_receive.xml")
        .to(s.addr("tcp"))
        .transport("t1")
        .fields(&["bob", DOMAIN, &bob_auth, "127.0.0.1:5999"])
        .arg("-cid_str")
        .arg(&cid)
        .spawn();
    std::thread::sleep(Duration::from_secs(1));
    let alice_auth = auth_field("alice", "alice-pw");
    let alice = Sipp::new(dir.path(), "alice", "message_uac.xml")
        .to(s.addr("udp"))
        .fields(&["alice", DOMAIN, &alice_auth, "bob"])
        .arg("-cid_str")
        .arg(&cid)
        .run();
    alice.assert_ok("alice sends over UDP");
    assert!(
        alice.messages.contains("SIP/2.0 200 OK"),
        "not delivered:\n{}",
        alice.messages
    );
    let bob = bob.wait();
    bob.assert_ok("bob receives over TCP");
    assert!(bob.messages.contains("Hello from Herald test"));
    let a = s.archive("alice", 1);
    assert_eq!(a.len(), 1, "{a:?}");
    assert!(
        a[0].contains("\"outcome\":\"delivered:200\"") && a[0].contains("bob@example.com"),
        "{a:?}"
    );
    assert!(a[0].contains("Hello from Herald test 1"), "{a:?}");
}

#[test]
fn tcp_sender_to_websocket_device() {
    let dir = herald_tests::test_dir("im");
    let s = server(dir.path());
    let mut bob = WsDevice::connect(s.addr("ws"), "bob", "bob-pw");
    assert_eq!(bob.register(DOMAIN), 200);
    let alice_auth = auth_field("alice", "alice-pw");
    let alice = Sipp::new(dir.path(), "alice", "message_uac.xml")
        .to(s.addr("tcp"))
        .transport("t1")
        .fields(&["alice", DOMAIN, &alice_auth, "bob"])
        .spawn();
    let got = bob
        .answer_next("MESSAGE", Duration::from_secs(15))
        .expect("MESSAGE over WebSocket");
    assert!(String::from_utf8_lossy(&got.body).contains("Hello from Herald test 1"));
    assert!(herald_tests::device::from_uri(&got).contains("alice@example.com"));
    let alice = alice.wait();
    alice.assert_ok("alice sends over TCP");
    assert!(
        alice.messages.contains("SIP/2.0 200 OK"),
        "{}",
        alice.messages
    );
}

#[test]
fn tls_sender_to_udp_device() {
    let dir = herald_tests::test_dir("im");
    let s = server(dir.path());
    let (device, contact) = Sipp::new(dir.path(), "bob-device", "message_uas.xml").listen();
    s.register(dir.path(), "bob-reg", "bob", "bob-pw", &contact);
    let alice_auth = auth_field("alice", "alice-pw");
    let relay = TlsRelay::start(s.addr("tls"), &dir.path().join("dev-cert.pem"));
    let alice = Sipp::new(dir.path(), "alice", "message_uac.xml")
        .to(relay.addr)
        .transport("t1")
        .fields(&["alice", DOMAIN, &alice_auth, "bob"])
        .run();
    alice.assert_ok("alice sends over TLS");
    assert!(
        alice.messages.contains("SIP/2.0 200 OK"),
        "{}",
        alice.messages
    );
    device.wait().assert_ok("bob's device receives over UDP");
}

#[test]
fn unknown_recipient_oversized_body_and_impersonation_are_refused() {
    let dir = herald_tests::test_dir("im");
    let s = Server::start(dir.path(), &[("HERALD_MAX_MESSAGE_BODY", "100")]);
    s.add_user("alice", "alice-pw");
    s.add_user("bob", "bob-pw");
    let mut alice = WsDevice::connect(s.addr("ws"), "alice", "alice-pw");
    assert_eq!(alice.message(DOMAIN, "nobody", "alice", "hi"), 404);
    assert_eq!(alice.message(DOMAIN, "bob", "alice", &"x".repeat(101)), 413);
    // Authenticated as alice, claiming to be bob.
    assert_eq!(alice.message(DOMAIN, "bob", "bob", "it's me"), 403);
    // A wrong password gets 403 too, and so does an unknown user: the same answer.
    let mut mallory = WsDevice::connect(s.addr("ws"), "alice", "wrong");
    assert_eq!(mallory.message(DOMAIN, "bob", "alice", "hi"), 403);
    let mut ghost = WsDevice::connect(s.addr("ws"), "ghost", "pw");
    assert_eq!(ghost.message(DOMAIN, "bob", "ghost", "hi"), 403);
    let a = s.archive("alice", 2);
    let outcomes: Vec<_> = a
        .iter()
        .map(|l| {
            l.split("\"outcome\":\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(outcomes, ["refused:413", "refused:404"], "{a:?}");
}

#[test]
fn message_forks_to_every_device_and_the_first_200_answers() {
    let dir = herald_tests::test_dir("im-fork");
    let s = server(dir.path());
    let mut devices = Vec::new();
    for name in ["bob-desk", "bob-mobile"] {
        let (device, contact) = Sipp::new(dir.path(), name, "message_uas.xml").listen();
        devices.push(device);
        s.register(
            dir.path(),
            &format!("{name}-reg"),
            "bob",
            "bob-pw",
            &contact,
        );
    }
    let alice_auth = auth_field("alice", "alice-pw");
    let alice = Sipp::new(dir.path(), "alice", "message_uac.xml")
        .to(s.addr("udp"))
        .fields(&["alice", DOMAIN, &alice_auth, "bob"])
        .run();
    alice.assert_ok("alice sends");
    assert_eq!(
        alice.messages.matches("SIP/2.0 200 OK").count(),
        1,
        "one answer: {}",
        alice.messages
    );
    for d in devices {
        d.wait().assert_ok("every device receives the MESSAGE");
    }
    // Both branches answered: the fork is over now, not when its UDP client
    // transactions end (Timer K, 5 s later), which is when it used to be dropped.
    assert!(
        s.metrics_text().contains("herald_forks_open"),
        "the gauge is exported"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while s.metric("herald_forks_open") != 0.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the fork still open 2 s after both devices answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `HERALD_ARCHIVE_MODE=off`: messages are delivered and stored for offline users as
/// always, but no archive record of any of them is written.
#[test]
fn with_the_archive_off_messages_flow_and_nothing_is_archived() {
    let dir = herald_tests::test_dir("im-archive-off");
    let s = Server::start(dir.path(), &[("HERALD_ARCHIVE_MODE", "off")]);
    for (u, p) in [
        ("alice", "alice-pw"),
        ("bob", "bob-pw"),
        ("carol", "carol-pw"),
    ] {
        s.add_user(u, p);
    }
    // Bob has no device: stored, 202.
    s.message(dir.path(), "alice-to-bob", "alice", "bob", "202 Accepted");
    // Carol's device is registered: delivered, 200.
    let (carol_device, carol_contact) =
        Sipp::new(dir.path(), "carol-device", "message_uas.xml").listen();
    s.register(dir.path(), "carol-reg", "carol", "carol-pw", &carol_contact);
    s.message(dir.path(), "alice-to-carol", "alice", "carol", "200 OK");
    carol_device.wait().assert_ok("carol's device receives");
    // Bob registers: the stored message still reaches him.
    s.receives_stored(dir.path(), "bob", "alice");
    // Three messages' worth of records would be there in the default mode (delivered,
    // stored, and the stored one's delivery); here none are.
    for user in ["alice", "bob", "carol"] {
        let a = s.archive(user, 1);
        assert!(a.is_empty(), "{user}'s archive: {a:?}");
    }
}
