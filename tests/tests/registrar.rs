//! The registrar over the wire: SHA-256 digest when offered (RFC 8760), MD5 as the
//! fallback, wrong passwords and unknown users refused alike, several contacts per AOR,
//! and WebSocket Origin checks on the way in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_tests::{test_dir, ws, ws::WsDevice, Server, DOMAIN};

#[test]
fn sha256_digest_when_offered_first() {
    let dir = test_dir("sha256");
    let s = Server::start(dir.path(), &[("HERALD_AUTH_ALGORITHMS", "SHA-256,MD5")]);
    s.add_user("alice", "alice-pw");
    let mut dev = WsDevice::connect(s.addr("ws"), "alice", "alice-pw");
    let (status, algorithm) = dev.register_with_algorithm(DOMAIN);
    assert_eq!((status, algorithm.as_str()), (200, "SHA-256"));
    let mut wrong = WsDevice::connect(s.addr("ws"), "alice", "nope");
    assert_eq!(wrong.register(DOMAIN), 403);
    let mut ghost = WsDevice::connect(s.addr("ws"), "ghost", "nope");
    assert_eq!(ghost.register(DOMAIN), 403);
}

#[test]
fn md5_by_default() {
    let dir = test_dir("md5");
    let s = Server::start(dir.path(), &[]);
    s.add_user("bob", "bob-pw");
    let mut dev = WsDevice::connect(s.addr("ws"), "bob", "bob-pw");
    let (status, algorithm) = dev.register_with_algorithm(DOMAIN);
    assert_eq!((status, algorithm.as_str()), (200, "MD5"));
}

#[test]
fn websocket_origin_allow_list_and_subprotocol() {
    let dir = test_dir("origin");
    let s = Server::start(
        dir.path(),
        &[("HERALD_WS_ORIGINS", "https://app.example.com")],
    );
    assert!(ws::connect(s.addr("ws"), Some("https://app.example.com")).is_ok());
    assert!(
        ws::connect(s.addr("ws"), None).is_ok(),
        "native clients send no Origin"
    );
    match ws::connect(s.addr("ws"), Some("https://evil.example")) {
        Err(tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 403),
        other => panic!("foreign origin accepted: {:?}", other.map(|_| ())),
    }
}

/// REGISTER is answered without a server transaction (RFC 3261 §8.2.7); a retransmission
/// over UDP still meets what the first copy got: the 200 again (not a 403 for reusing its
/// nonce count), without being applied again — a binding removed since stays removed —
/// and a refusal again.
#[test]
fn retransmitted_register_over_udp() {
    use herald_sip::{auth::Challenge, HeaderName};
    use herald_tests::{device::Wire, udp::UdpDevice};

    let dir = test_dir("retransmit");
    let s = Server::start(dir.path(), &[]);
    s.add_user("rita", "rita-pw");
    let mut dev = UdpDevice::udp([127, 0, 0, 1].into(), s.addr("udp"), "rita", "rita-pw");
    let uri = format!("sip:{DOMAIN}");
    // The text of an authenticated REGISTER binding for `expires` seconds.
    let authenticated = |dev: &mut UdpDevice, expires: u32| {
        let probe = dev.build("REGISTER", &uri, "rita", DOMAIN, None, "");
        dev.wire.send(&probe);
        let r = dev.response();
        assert_eq!(r.status.as_u16(), 401);
        let ch = Challenge::parse(r.headers.get(&HeaderName::WwwAuthenticate).unwrap()).unwrap();
        let creds = ch.answer("rita", "rita-pw", "REGISTER", &uri, 1, "retransmit");
        dev.build("REGISTER", &uri, "rita", DOMAIN, Some(&creds), "")
            .replace("Expires: 600", &format!("Expires: {expires}"))
    };
    // Sends `text`; the answer's status and how many bindings it lists.
    let answer = |dev: &mut UdpDevice, text: &str| {
        dev.wire.send(text);
        let r = dev.response();
        let contacts = r.headers.get_all(&HeaderName::Contact).count();
        (r.status.as_u16(), contacts)
    };

    let bind = authenticated(&mut dev, 600);
    assert_eq!(answer(&mut dev, &bind), (200, 1));
    assert_eq!(answer(&mut dev, &bind), (200, 1), "the retransmission");

    let unbind = authenticated(&mut dev, 0);
    assert_eq!(answer(&mut dev, &unbind), (200, 0));
    assert_eq!(answer(&mut dev, &bind).0, 200, "a late copy of the first");
    // A query (no Contact) lists the bindings in force: none came back.
    let query: String = authenticated(&mut dev, 600)
        .lines()
        .filter(|l| !l.starts_with("Contact:") && !l.starts_with("Expires:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    assert_eq!(
        answer(&mut dev, &query),
        (200, 0),
        "a late copy of the first REGISTER brought its binding back"
    );

    let brief = authenticated(&mut dev, 5);
    assert_eq!(answer(&mut dev, &brief).0, 423);
    assert_eq!(answer(&mut dev, &brief).0, 423, "the refusal again");
}
