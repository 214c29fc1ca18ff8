//! Transport behaviour of the running server: CRLF keep-alives on TCP (RFC 5626 §3.5.1),
//! SIP over secure WebSocket through a real TLS client, the per-address connection cap,
//! and a stream that cannot be framed any more being closed (RFC 4475 §3.1.2.3).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::Duration,
};

use herald_tests::{test_dir, ws::WsDevice, Server, TlsRelay, DOMAIN};

fn connect(s: &Server) -> TcpStream {
    let c = TcpStream::connect(s.addr("tcp")).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    c
}

#[test]
fn crlf_keepalive_is_answered_with_crlf() {
    let dir = test_dir("keepalive");
    let s = Server::start(dir.path(), &[]);
    let mut c = connect(&s);
    c.write_all(b"\r\n\r\n").unwrap();
    let mut buf = [0u8; 8];
    let n = c.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"\r\n");
}

#[test]
fn secure_websocket_registration() {
    let dir = test_dir("wss");
    let s = Server::start(dir.path(), &[]);
    s.add_user("carol", "carol-pw");
    let relay = TlsRelay::start(s.addr("wss"), &dir.path().join("dev-cert.pem"));
    let mut dev = WsDevice::connect(relay.addr, "carol", "carol-pw");
    assert_eq!(dev.register(DOMAIN), 200);
}

#[test]
fn connections_per_address_are_capped() {
    let dir = test_dir("conncap");
    let s = Server::start(dir.path(), &[("HERALD_MAX_CONNECTIONS_PER_IP", "2")]);
    let mut first = connect(&s);
    let _second = connect(&s);
    std::thread::sleep(Duration::from_millis(200));
    let mut third = connect(&s);
    let mut buf = [0u8; 8];
    // The third is closed at once (a read reaches the end of the stream instead of
    // timing out); the first still answers keep-alives.
    match third.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("third connection not closed: {other:?}"),
    }
    first.write_all(b"\r\n\r\n").unwrap();
    assert_eq!(first.read(&mut buf).unwrap(), 2);
    assert_eq!(
        s.metric("herald_refused_total{reason=\"connection_limit_per_source\"}"),
        1.0
    );
}

#[test]
fn unframeable_stream_is_closed() {
    let dir = test_dir("unframeable");
    let s = Server::start(dir.path(), &[]);
    let mut c = connect(&s);
    let ncl = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sip/tests/rfc4475/ncl.dat"
    ))
    .unwrap();
    c.write_all(&ncl).unwrap();
    let mut all = Vec::new();
    // Closed: read_to_end reaches the end of the stream instead of timing out, because a
    // negative Content-Length leaves no way to find the next message.
    let closed = c.read_to_end(&mut all);
    assert!(
        closed.is_ok()
            || matches!(&closed, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "connection left open: {closed:?}"
    );
}
