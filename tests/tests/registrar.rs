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
