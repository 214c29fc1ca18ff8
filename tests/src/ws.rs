//! A SIP-over-WebSocket device for the tests (RFC 7118): sipp has no WebSocket transport,
//! so this plays the browser client — real WebSocket framing over a real socket, SIP
//! built and parsed with the `herald-sip` core, digest answered like any client.

use std::{
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use bytes::Bytes;
use herald_sip::{auth::Challenge, parse_datagram, HeaderName, Limits, Message, Request, Response};
use tungstenite::{client::IntoClientRequest, http::HeaderValue, Message as Ws, WebSocket};

pub struct WsDevice {
    ws: WebSocket<TcpStream>,
    pub user: String,
    password: String,
    cseq: u32,
    call_id: String,
}

/// A number no other request of this test process uses (branches and Call-IDs must be
/// unique across devices, or the server rightly takes one device's request for another's
/// retransmission).
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    u64::from(std::process::id()) * 1_000_000 + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Opens a WebSocket with the `sip` subprotocol and the given Origin; the server's
/// refusal comes back as the error.
pub fn connect(
    addr: SocketAddr,
    origin: Option<&str>,
) -> Result<WebSocket<TcpStream>, tungstenite::Error> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut req = format!("ws://{addr}/").into_client_request()?;
    req.headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("sip"));
    if let Some(o) = origin {
        req.headers_mut()
            .insert("origin", HeaderValue::from_str(o).unwrap());
    }
    tungstenite::client(req, stream)
        .map(|(ws, _)| ws)
        .map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => tungstenite::Error::ConnectionClosed,
        })
}

impl WsDevice {
    pub fn connect(addr: SocketAddr, user: &str, password: &str) -> WsDevice {
        WsDevice {
            ws: connect(addr, None).expect("WebSocket connect"),
            user: user.to_owned(),
            password: password.to_owned(),
            cseq: 0,
            call_id: format!("ws-{}-{}", user, unique()),
        }
    }

    fn send(&mut self, text: String) {
        self.ws.send(Ws::Text(text.into())).expect("WebSocket send");
    }

    /// The next SIP message within `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Option<Message> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            match self.ws.read() {
                Ok(Ws::Text(t)) => {
                    return Some(
                        parse_datagram(Bytes::from(t.as_str().to_owned()), &Limits::default())
                            .expect("server sent valid SIP"),
                    );
                }
                Ok(Ws::Binary(b)) => {
                    return Some(
                        parse_datagram(b, &Limits::default()).expect("server sent valid SIP"),
                    )
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("WebSocket read: {e}"),
            }
        }
        None
    }

    fn response(&mut self) -> Response {
        loop {
            match self.recv(Duration::from_secs(10)) {
                Some(Message::Response(r)) if r.status.as_u16() >= 200 => return r,
                Some(_) => {}
                None => panic!("no response over WebSocket"),
            }
        }
    }

    fn register_request(&mut self, domain: &str, auth: Option<String>) -> String {
        self.cseq += 1;
        let mut s = format!(
            "REGISTER sip:{domain} SIP/2.0\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-ws-{}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{u}@{domain}>;tag=ws{c}\r\nTo: <sip:{u}@{domain}>\r\n\
             Call-ID: {cid}\r\nCSeq: {c} REGISTER\r\nContact: <sip:{u}@df7jal23ls0d.invalid;transport=ws>\r\n\
             Expires: 600\r\n",
            unique(),
            u = self.user,
            c = self.cseq,
            cid = self.call_id
        );
        if let Some(a) = auth {
            s.push_str(&format!("Authorization: {a}\r\n"));
        }
        s.push_str("Content-Length: 0\r\n\r\n");
        s
    }

    /// REGISTER with digest; returns the final status.
    pub fn register(&mut self, domain: &str) -> u16 {
        self.register_with_algorithm(domain).0
    }

    /// REGISTER answering the first challenge offered; returns the final status and the
    /// digest algorithm used.
    pub fn register_with_algorithm(&mut self, domain: &str) -> (u16, String) {
        let first = self.register_request(domain, None);
        self.send(first);
        let r = self.response();
        if r.status.as_u16() != 401 {
            return (r.status.as_u16(), String::new());
        }
        let ch = Challenge::parse(r.headers.get(&HeaderName::WwwAuthenticate).unwrap()).unwrap();
        let auth = ch.answer(
            &self.user,
            &self.password,
            "REGISTER",
            &format!("sip:{domain}"),
            1,
            "wsclient",
        );
        let second = self.register_request(domain, Some(auth));
        self.send(second);
        (
            self.response().status.as_u16(),
            ch.algorithm.as_str().to_owned(),
        )
    }

    /// Sends a MESSAGE to `to_user` claiming to be `from_user`, answering the proxy
    /// challenge with this device's credentials; returns the final status.
    pub fn message(&mut self, domain: &str, to_user: &str, from_user: &str, body: &str) -> u16 {
        self.request("MESSAGE", domain, to_user, from_user, body)
    }

    /// An INVITE (no SDP) as this device's user; returns the final status.
    pub fn invite(&mut self, domain: &str, to_user: &str) -> u16 {
        let me = self.user.clone();
        self.request("INVITE", domain, to_user, &me, "")
    }

    fn request(
        &mut self,
        method: &str,
        domain: &str,
        to_user: &str,
        from_user: &str,
        body: &str,
    ) -> u16 {
        let uri = format!("sip:{to_user}@{domain}");
        let build = |cseq: u32, auth: Option<String>| {
            let mut s = format!(
                "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-wsm-{cseq}-{n}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:{from_user}@{domain}>;tag=wsm{n}\r\nTo: <{uri}>\r\n\
                 Call-ID: wsm-{n}\r\nCSeq: {cseq} {method}\r\nContent-Type: text/plain\r\n\
                 Contact: <sip:{from_user}@df7jal23ls0d.invalid;transport=ws>\r\n",
                n = unique(),
            );
            if let Some(a) = auth {
                s.push_str(&format!("Proxy-Authorization: {a}\r\n"));
            }
            s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
            s
        };
        self.cseq += 1;
        let first = build(self.cseq, None);
        self.send(first);
        let r = self.response();
        if r.status.as_u16() != 407 {
            return r.status.as_u16();
        }
        let ch = Challenge::parse(r.headers.get(&HeaderName::ProxyAuthenticate).unwrap()).unwrap();
        let auth = ch.answer(&self.user, &self.password, method, &uri, 1, "wsclient");
        self.cseq += 1;
        let second = build(self.cseq, Some(auth));
        self.send(second);
        self.response().status.as_u16()
    }

    /// Plays a phone that rings and is never answered: 180 to the INVITE, then — when the
    /// CANCEL comes — 200 to the CANCEL and 487 to the INVITE; returns whether the ACK
    /// for the 487 arrived.
    pub fn ring_until_cancelled(&mut self, timeout: Duration) -> bool {
        let Some(invite) = self.next_request("INVITE", timeout) else {
            return false;
        };
        self.answer(&invite, 180, "ringing");
        let Some(cancel) = self.next_request("CANCEL", timeout) else {
            return false;
        };
        self.answer(&cancel, 200, "ringing");
        self.answer(&invite, 487, "ringing");
        self.next_request("ACK", timeout).is_some()
    }

    fn next_request(&mut self, method: &str, timeout: Duration) -> Option<Request> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(Message::Request(req)) = self.recv(Duration::from_millis(500)) {
                if req.method.as_str() == method {
                    return Some(req);
                }
            }
        }
        None
    }

    fn answer(&mut self, req: &Request, status: u16, tag: &str) {
        let code = herald_sip::StatusCode::new(status).unwrap();
        let mut r = Response::to_request(req, code);
        let to = r.headers.get(&HeaderName::To).unwrap().to_owned();
        if !to.contains(";tag=") {
            r.headers.set(HeaderName::To, format!("{to};tag={tag}"));
        }
        self.send(String::from_utf8(r.to_bytes().to_vec()).unwrap());
    }

    /// Waits for a request of `method`, answers it 200, and returns it.
    pub fn answer_next(&mut self, method: &str, timeout: Duration) -> Option<Request> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(Message::Request(req)) = self.recv(Duration::from_millis(500)) {
                if req.method.as_str() != method {
                    continue;
                }
                let mut ok = Response::to_request(&req, herald_sip::StatusCode::OK);
                let to = ok.headers.get(&HeaderName::To).unwrap().to_owned();
                ok.headers.set(HeaderName::To, format!("{to};tag=wsdev"));
                let bytes = ok.to_bytes();
                self.send(String::from_utf8(bytes.to_vec()).unwrap());
                return Some(req);
            }
        }
        None
    }
}
