//! Every RFC 4475 torture message, sent over UDP to the running server, gets the answer
//! the manifest in `shared/conformance/rfc4475` names — or is dropped where it says so —
//! and the server keeps answering afterwards. The server is a proxy and registrar that
//! authenticates, for the domain example.com, so "parse OK" messages get the answer of
//! that role: 407 for requests to forward (a proxy challenges before forwarding), 401
//! for REGISTER, 403 for a Request-URI of another domain (no open relay). The REGISTERs
//! the manifest says must succeed are answered with credentials and must then get 200
//! with the binding the manifest describes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    net::{SocketAddr, UdpSocket},
    path::PathBuf,
    time::{Duration, Instant},
};

use herald_sip::{auth::Challenge, parse_datagram, HeaderName, Limits, Message, Response};
use herald_tests::{test_dir, Server};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sip/tests/rfc4475")
}

/// What our server must do with each file (None: drop silently).
fn expected() -> HashMap<&'static str, Option<u16>> {
    let drop = None;
    HashMap::from([
        ("wsinv.dat", Some(403)),   // parse OK; Request-URI in another domain
        ("intmeth.dat", Some(501)), // unknown method
        ("esc01.dat", Some(403)),   // Request-URI host example.net: another domain
        ("escnull.dat", Some(401)), // REGISTER: challenged
        ("esc02.dat", Some(403)),   // unknown method RE%47IST%45R, another domain
        ("lwsdisp.dat", Some(407)),
        ("longreq.dat", Some(407)),
        ("dblreq.dat", Some(401)), // the REGISTER is handled, the trailing INVITE ignored
        ("semiuri.dat", Some(407)),
        ("transports.dat", Some(407)),
        ("mpart01.dat", Some(403)),
        ("unreason.dat", drop), // responses matching no transaction
        ("noreason.dat", drop),
        ("badinv01.dat", Some(400)),
        ("clerr.dat", Some(400)),
        ("ncl.dat", Some(400)),
        ("scalar02.dat", Some(400)),
        ("scalarlg.dat", drop),
        ("quotbal.dat", Some(400)),
        ("ltgtruri.dat", Some(400)),
        ("lwsruri.dat", Some(400)),
        ("lwsstart.dat", Some(400)),
        ("trws.dat", Some(400)),
        ("escruri.dat", Some(400)),
        ("baddate.dat", Some(400)),
        ("regbadct.dat", Some(400)),
        ("badaspec.dat", Some(400)),
        ("baddn.dat", Some(400)),
        ("badvers.dat", Some(505)),
        ("mismatch01.dat", Some(400)),
        ("mismatch02.dat", Some(501)),
        ("bigcode.dat", drop),
        ("badbranch.dat", Some(400)),
        ("insuf.dat", Some(400)),
        ("unkscm.dat", Some(416)),
        ("novelsc.dat", Some(416)),
        ("unksm2.dat", Some(400)), // registrar: To must be a SIP AOR
        ("bext01.dat", Some(420)),
        ("invut.dat", Some(407)),
        ("regaut01.dat", Some(401)),
        ("multi01.dat", Some(400)),
        ("mcl01.dat", Some(400)),
        ("bcast.dat", drop),
        ("zeromf.dat", Some(483)),
        ("cparam01.dat", Some(200)), // after authenticating
        ("cparam02.dat", Some(200)),
        ("regescrt.dat", Some(200)),
        ("sdp01.dat", Some(407)),
        ("inv2543.dat", Some(407)), // RFC 2543 request: answered statelessly
    ])
}

/// Sends `raw` from a fresh socket; returns the final response, or None within `wait`.
fn exchange(server: SocketAddr, raw: &[u8], wait: Duration) -> Option<Response> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    sock.send_to(raw, server).unwrap();
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 65_535];
    while Instant::now() < deadline {
        let Ok(n) = sock.recv(&mut buf) else { continue };
        let msg = parse_datagram(bytes::Bytes::copy_from_slice(&buf[..n]), &Limits::default())
            .expect("the server's answer parses");
        match msg {
            Message::Response(r) if r.status.as_u16() >= 200 => return Some(r),
            Message::Response(_) => {}
            Message::Request(r) => panic!("server sent a request: {}", r.method.as_str()),
        }
    }
    None
}

/// The REGISTER again with credentials for its To user, a new branch and the next CSeq.
fn with_credentials(raw: &[u8], challenge: &Response, password: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw).into_owned();
    let req = match parse_datagram(bytes::Bytes::copy_from_slice(raw), &Limits::default()).unwrap()
    {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!(),
    };
    let user = match req.headers.to().unwrap().uri {
        herald_sip::Uri::Sip(u) => u.user.unwrap().to_owned(),
        _ => unreachable!(),
    };
    let ch =
        Challenge::parse(challenge.headers.get(&HeaderName::WwwAuthenticate).unwrap()).unwrap();
    let auth = ch.answer(&user, password, "REGISTER", req.uri.as_str(), 1, "torture");
    let cseq = req.headers.cseq().unwrap().seq;
    let (start, rest) = text.split_once("\r\n").unwrap();
    let rest = rest
        .replace(
            &format!("{cseq} REGISTER"),
            &format!("{} REGISTER", cseq + 1),
        )
        .replace("branch=z9hG4bK", "branch=z9hG4bKauth");
    format!("{start}\r\nAuthorization: {auth}\r\n{rest}").into_bytes()
}

#[test]
fn every_torture_message_gets_the_manifest_answer() {
    let dir = test_dir("rfc4475");
    let s = Server::start(dir.path(), &[]);
    s.add_user("watson", "pw");
    s.add_user("user", "pw");
    let server = s.addr("udp");
    let expected = expected();
    let manifest = std::fs::read_to_string(corpus().join("manifest.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut seen = 0;
    for line in manifest.lines().skip(1) {
        let file = line.split('\t').next().unwrap();
        let want = *expected
            .get(file)
            .unwrap_or_else(|| panic!("no expectation for {file}"));
        let raw = std::fs::read(corpus().join(file)).unwrap();
        seen += 1;
        let wait = if want.is_some() {
            Duration::from_secs(3)
        } else {
            Duration::from_millis(700)
        };
        let mut got = exchange(server, &raw, wait);
        if want == Some(200) {
            let challenge = got.take().filter(|r| r.status.as_u16() == 401);
            let Some(ch) = challenge else {
                failures.push(format!("{file}: no 401 challenge"));
                continue;
            };
            got = exchange(server, &with_credentials(&raw, &ch, "pw"), wait);
        }
        let status = got.as_ref().map(|r| r.status.as_u16());
        if status != want {
            failures.push(format!("{file}: expected {want:?}, got {status:?}"));
            continue;
        }
        let Some(r) = got else { continue };
        let contact = r
            .headers
            .get_all(&HeaderName::Contact)
            .collect::<Vec<_>>()
            .join(", ");
        match file {
            "bext01.dat" => {
                let u = r.headers.get(&HeaderName::Unsupported).unwrap_or("");
                if !(u.contains("noProxiesSupportThis") && u.contains("norDoAnyProxiesSupportThis"))
                {
                    failures.push(format!("bext01: Unsupported lists {u:?}"));
                }
            }
            "cparam01.dat" if contact.contains("unknownparam") => {
                failures.push(format!(
                    "cparam01: contact-param became a URI parameter: {contact}"
                ));
            }
            "cparam02.dat"
                if !contact.contains("<sip:+19725552222@gw1.example.net;unknownparam>") =>
            {
                failures.push(format!("cparam02: URI parameter lost: {contact}"));
            }
            "regescrt.dat" if !contact.contains("?Route=") => {
                failures.push(format!("regescrt: escaped Route header lost: {contact}"));
            }
            _ => {}
        }
    }
    assert_eq!(seen, 49, "manifest rows");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Still answering: OPTIONS to the server itself.
    let ping = "OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.99:5060;rport;branch=z9hG4bKping1\r\n\
                Max-Forwards: 70\r\nFrom: <sip:probe@example.com>;tag=p\r\nTo: <sip:example.com>\r\n\
                Call-ID: ping-after-torture\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    let r =
        exchange(server, ping.as_bytes(), Duration::from_secs(3)).expect("server still answers");
    assert_eq!(r.status.as_u16(), 200);
    assert!(r
        .headers
        .get(&HeaderName::Allow)
        .unwrap()
        .contains("MESSAGE"));
}
