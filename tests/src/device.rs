//! A scriptable SIP device for the tests, over any wire (WebSocket, where sipp has no
//! transport; UDP from a chosen loopback address, for the attacker tests): SIP built and
//! parsed with the `herald-sip` core, digest answered like any client, and every response
//! available whole when a test needs to compare answers.

use std::time::{Duration, Instant};

use herald_sip::{auth::Challenge, HeaderName, Message, Request, Response, StatusCode};

/// How a device's messages travel.
pub trait Wire {
    fn send(&mut self, text: &str);
    /// The next SIP message within `timeout`.
    fn recv(&mut self, timeout: Duration) -> Option<Message>;
    /// The Via sent-by with its transport, like `WS df7jal23ls0d.invalid`.
    fn via(&self) -> String;
    /// The Contact URI of `user` on this wire.
    fn contact(&self, user: &str) -> String;
}

pub struct Device<W: Wire> {
    pub wire: W,
    pub user: String,
    password: String,
    cseq: u32,
    call_id: String,
    /// Content-Type of request bodies.
    pub content_type: String,
}

/// A number no other request of this test process uses (branches and Call-IDs must be
/// unique across devices, or the server rightly takes one device's request for another's
/// retransmission).
/// The URI in a request's From header, as text.
pub fn from_uri(req: &Request) -> String {
    req.headers
        .from()
        .map(|f| f.uri.to_string())
        .unwrap_or_default()
}

pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    u64::from(std::process::id()) * 1_000_000 + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The first and (after answering a challenge) second response of an exchange.
pub struct Exchange {
    pub first: Response,
    pub second: Option<Response>,
    /// The Authorization (or Proxy-Authorization) value sent with the second request.
    pub credentials: Option<String>,
}

impl Exchange {
    /// The final status: the second response's if there was one.
    pub fn status(&self) -> u16 {
        self.second.as_ref().unwrap_or(&self.first).status.as_u16()
    }
}

impl<W: Wire> Device<W> {
    pub fn new(wire: W, user: &str, password: &str) -> Device<W> {
        Device {
            wire,
            user: user.to_owned(),
            password: password.to_owned(),
            cseq: 0,
            call_id: format!("dev-{}-{}", user, unique()),
            content_type: "text/plain".into(),
        }
    }

    /// The next final response.
    pub fn response(&mut self) -> Response {
        self.response_within(Duration::from_secs(10))
            .expect("no response from the server")
    }

    /// The next final response within `timeout`.
    pub fn response_within(&mut self, timeout: Duration) -> Option<Response> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            if let Some(Message::Response(r)) = self.wire.recv(left) {
                if r.status.as_u16() >= 200 {
                    return Some(r);
                }
            }
        }
    }

    /// The final response to the request with `call_id` within `timeout` (others, late
    /// answers to earlier requests, are skipped).
    pub fn response_to(&mut self, call_id: &str, timeout: Duration) -> Option<Response> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let r = self.response_within(left)?;
            if r.headers.call_id().ok() == Some(call_id) {
                return Some(r);
            }
        }
    }

    /// A MESSAGE that may get no answer (a server dying under it): the final status, or
    /// `None` when a step got no final response within `timeout`.
    pub fn try_message(
        &mut self,
        domain: &str,
        to_user: &str,
        body: &str,
        timeout: Duration,
    ) -> Option<u16> {
        self.try_request(
            "MESSAGE",
            &format!("sip:{to_user}@{domain}"),
            domain,
            body,
            timeout,
        )
    }

    /// `method` to `uri` as this device's user, answering a 401 or 407 once; the final
    /// status, or `None` when a step got no final response within `timeout`.
    fn try_request(
        &mut self,
        method: &str,
        uri: &str,
        domain: &str,
        body: &str,
        timeout: Duration,
    ) -> Option<u16> {
        let me = self.user.clone();
        let call_id_of = |text: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix("Call-ID: "))
                .unwrap_or_default()
                .to_owned()
        };
        let first = self.build(method, uri, &me, domain, None, body);
        let r = self.send_until_answered(&first, &call_id_of(&first), timeout)?;
        let header = match r.status.as_u16() {
            401 => HeaderName::WwwAuthenticate,
            407 => HeaderName::ProxyAuthenticate,
            status => return Some(status),
        };
        let ch = Challenge::parse(r.headers.get(&header)?).ok()?;
        let creds = ch.answer(&self.user, &self.password, method, uri, 1, "devclient");
        let second = self.build(method, uri, &me, domain, Some(&creds), body);
        self.send_until_answered(&second, &call_id_of(&second), timeout)
            .map(|r| r.status.as_u16())
    }

    /// Sends `text` and waits for its final response; over UDP it is retransmitted as a
    /// user agent would (RFC 3261 Timer E: after 500 ms, doubling up to 4 s).
    fn send_until_answered(
        &mut self,
        text: &str,
        call_id: &str,
        timeout: Duration,
    ) -> Option<Response> {
        let udp = self.wire.via().starts_with("UDP");
        let deadline = Instant::now() + timeout;
        let mut interval = Duration::from_millis(500);
        loop {
            self.wire.send(text);
            let left = deadline.checked_duration_since(Instant::now())?;
            let wait = if udp { interval.min(left) } else { left };
            if let Some(r) = self.response_to(call_id, wait) {
                return Some(r);
            }
            interval = (interval * 2).min(Duration::from_secs(4));
        }
    }

    /// A REGISTER that may get no answer: the final status, or `None`.
    pub fn try_register(&mut self, domain: &str, timeout: Duration) -> Option<u16> {
        self.try_request("REGISTER", &format!("sip:{domain}"), domain, "", timeout)
    }

    /// A PUBLISH of `body` for this device's user that may get no answer: the final
    /// status, or `None`.
    pub fn try_publish(&mut self, domain: &str, body: &str, timeout: Duration) -> Option<u16> {
        let uri = format!("sip:{}@{domain}", self.user);
        self.try_request("PUBLISH", &uri, domain, body, timeout)
    }

    /// The text of a request from this device. REGISTER binds this device's contact for
    /// ten minutes and keeps one Call-ID; other requests get a Call-ID of their own.
    pub fn build(
        &mut self,
        method: &str,
        uri: &str,
        from_user: &str,
        domain: &str,
        auth: Option<&str>,
        body: &str,
    ) -> String {
        self.cseq += 1;
        let n = unique();
        let register = method == "REGISTER";
        let to = if register {
            format!("<sip:{}@{domain}>", self.user)
        } else {
            format!("<{uri}>")
        };
        let call_id = if register {
            self.call_id.clone()
        } else {
            format!("dev-{n}")
        };
        let mut s = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/{via};branch=z9hG4bK-dev-{n}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{from_user}@{domain}>;tag=dev{n}\r\nTo: {to}\r\n\
             Call-ID: {call_id}\r\nCSeq: {c} {method}\r\nContact: <{contact}>\r\n",
            via = self.wire.via(),
            c = self.cseq,
            contact = self.wire.contact(from_user),
        );
        match method {
            "REGISTER" => s.push_str("Expires: 600\r\n"),
            "SUBSCRIBE" | "PUBLISH" => s.push_str("Event: presence\r\nExpires: 600\r\n"),
            _ => {}
        }
        if let Some(a) = auth {
            let header = if register {
                "Authorization"
            } else {
                "Proxy-Authorization"
            };
            s.push_str(&format!("{header}: {a}\r\n"));
        }
        if !body.is_empty() {
            s.push_str(&format!("Content-Type: {}\r\n", self.content_type));
        }
        s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        s
    }

    /// Sends `method` to `uri` as `from_user`; answers a 401/407 challenge once with this
    /// device's credentials.
    pub fn exchange(
        &mut self,
        method: &str,
        uri: &str,
        from_user: &str,
        domain: &str,
        body: &str,
    ) -> Exchange {
        let first = self.build(method, uri, from_user, domain, None, body);
        self.wire.send(&first);
        let first = self.response();
        let header = match first.status.as_u16() {
            401 => HeaderName::WwwAuthenticate,
            407 => HeaderName::ProxyAuthenticate,
            _ => {
                return Exchange {
                    first,
                    second: None,
                    credentials: None,
                }
            }
        };
        let ch = Challenge::parse(first.headers.get(&header).expect("a challenge"))
            .expect("a valid challenge");
        let creds = ch.answer(&self.user, &self.password, method, uri, 1, "devclient");
        let second = self.build(method, uri, from_user, domain, Some(&creds), body);
        self.wire.send(&second);
        let second = self.response();
        Exchange {
            first,
            second: Some(second),
            credentials: Some(creds),
        }
    }

    /// `n` REGISTERs sent back to back without waiting for answers, each from a Call-ID
    /// of its own and binding a contact of its own (`;line=1` … `;line=n` on this device's
    /// contact) for ten minutes, then a query (no Contact) once they are all answered.
    /// Each carries credentials for a nonce of its own (fetched first), so the order in
    /// which the server takes them does not matter. Returns the burst's final statuses
    /// and the query's response.
    pub fn register_burst(&mut self, domain: &str, n: usize) -> (Vec<u16>, Response) {
        let uri = format!("sip:{domain}");
        let me = self.user.clone();
        // One nonce per REGISTER of the burst, and one for the query.
        let mut challenges = Vec::new();
        for _ in 0..=n {
            let probe = self.build("REGISTER", &uri, &me, domain, None, "");
            self.wire.send(&probe);
            let r = self.response();
            let ch = r
                .headers
                .get(&HeaderName::WwwAuthenticate)
                .and_then(|h| Challenge::parse(h).ok())
                .expect("a valid challenge");
            challenges.push(ch);
        }
        let contact = self.wire.contact(&me);
        let via = self.wire.via();
        let register = |ch: &Challenge, line: Option<usize>| {
            let creds = ch.answer(&me, &self.password, "REGISTER", &uri, 1, "burst");
            let k = unique();
            let binding = line.map_or(String::new(), |l| {
                format!("Contact: <{contact};line={l}>\r\nExpires: 600\r\n")
            });
            format!(
                "REGISTER {uri} SIP/2.0\r\nVia: SIP/2.0/{via};branch=z9hG4bK-burst-{k}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:{me}@{domain}>;tag=b{k}\r\nTo: <sip:{me}@{domain}>\r\n\
                 Call-ID: burst-{k}\r\nCSeq: 1 REGISTER\r\n{binding}\
                 Authorization: {creds}\r\nContent-Length: 0\r\n\r\n"
            )
        };
        let texts: Vec<String> = (0..=n)
            .map(|i| register(&challenges[i], (i < n).then_some(i + 1)))
            .collect();
        for t in &texts[..n] {
            self.wire.send(t);
        }
        let statuses = (0..n).map(|_| self.response().status.as_u16()).collect();
        self.wire.send(&texts[n]);
        (statuses, self.response())
    }

    /// REGISTER with digest; returns the final status.
    pub fn register(&mut self, domain: &str) -> u16 {
        self.register_with_algorithm(domain).0
    }

    /// REGISTER answering the first challenge offered; returns the final status and the
    /// digest algorithm used.
    pub fn register_with_algorithm(&mut self, domain: &str) -> (u16, String) {
        let me = self.user.clone();
        let x = self.exchange("REGISTER", &format!("sip:{domain}"), &me, domain, "");
        let algorithm = x
            .first
            .headers
            .get(&HeaderName::WwwAuthenticate)
            .and_then(|h| Challenge::parse(h).ok())
            .map(|c| c.algorithm.as_str().to_owned())
            .unwrap_or_default();
        (x.status(), algorithm)
    }

    /// Sends a MESSAGE to `to_user` claiming to be `from_user`, answering the proxy
    /// challenge with this device's credentials; returns the final status.
    pub fn message(&mut self, domain: &str, to_user: &str, from_user: &str, body: &str) -> u16 {
        let uri = format!("sip:{to_user}@{domain}");
        self.exchange("MESSAGE", &uri, from_user, domain, body)
            .status()
    }

    /// An INVITE (no SDP) as this device's user; returns the final status.
    pub fn invite(&mut self, domain: &str, to_user: &str) -> u16 {
        let me = self.user.clone();
        let uri = format!("sip:{to_user}@{domain}");
        self.exchange("INVITE", &uri, &me, domain, "").status()
    }

    /// Plays a phone that rings and is never answered: 180 to the INVITE, then — when the
    /// CANCEL comes — 200 to the CANCEL and 487 to the INVITE; returns whether the ACK
    /// for the 487 arrived.
    pub fn ring_until_cancelled(&mut self, timeout: Duration) -> bool {
        let Some(invite) = self.next_request("INVITE", timeout) else {
            return false;
        };
        self.answer(&invite, 180);
        let Some(cancel) = self.next_request("CANCEL", timeout) else {
            return false;
        };
        self.answer(&cancel, 200);
        self.answer(&invite, 487);
        self.next_request("ACK", timeout).is_some()
    }

    /// The next request of `method` within `timeout`.
    pub fn next_request(&mut self, method: &str, timeout: Duration) -> Option<Request> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(Message::Request(req)) = self.wire.recv(Duration::from_millis(500)) {
                if req.method.as_str() == method {
                    return Some(req);
                }
            }
        }
        None
    }

    /// Answers `req` with `status` (a To tag added).
    pub fn answer(&mut self, req: &Request, status: u16) {
        let code = StatusCode::new(status).expect("a valid status");
        let mut r = Response::to_request(req, code);
        let to = r.headers.get(&HeaderName::To).expect("To").to_owned();
        if !to.contains(";tag=") {
            r.headers.set(HeaderName::To, format!("{to};tag=dev"));
        }
        let text = String::from_utf8(r.to_bytes().to_vec()).expect("UTF-8");
        self.wire.send(&text);
    }

    /// Waits for a request of `method`, answers it 200, and returns it.
    pub fn answer_next(&mut self, method: &str, timeout: Duration) -> Option<Request> {
        let req = self.next_request(method, timeout)?;
        self.answer(&req, 200);
        Some(req)
    }
}
