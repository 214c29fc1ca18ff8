//! Transactions driven end to end over a virtual network with a fake clock: two
//! `TransactionLayer`s (UAC and UAS), a seeded lossy network, no sleeping. Checks the
//! retransmission schedules and timeouts of RFC 3261 §17 and the RFC 6026 Accepted states.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use herald_sip::{
    parse_datagram,
    transactions::{TimerConfig, TransactionLayer, TxError, TxEvent, TxId},
    HeaderName, Limits, Message, Method, Request, Response, StatusCode,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Uac,
    Uas,
}

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Sim {
    base: Instant,
    now: Instant,
    uac: TransactionLayer<()>,
    uas: TransactionLayer<()>,
    reliable: bool,
    rng: XorShift,
    loss: f64,
    /// Drop the first N packets matching (side they go to, first line prefix).
    drop_first: Vec<(Side, &'static str, usize)>,
    delay: Duration,
    in_flight: Vec<(Instant, Side, Bytes)>,
    /// The UAS TU's answer to each request method.
    answer: fn(&Request) -> StatusCode,
    /// The UAC TU acknowledges 2xx to INVITE itself.
    uac_events: Vec<(Duration, TxEvent)>,
    uas_events: Vec<(Duration, TxEvent)>,
    /// Times (since start) at which the UAC sent something whose first line starts so.
    sent_by_uac: Vec<(Duration, String)>,
    sent_by_uas: Vec<(Duration, String)>,
}

impl Sim {
    fn new(loss: f64, seed: u64, reliable: bool, answer: fn(&Request) -> StatusCode) -> Sim {
        let base = Instant::now();
        Sim {
            base,
            now: base,
            uac: TransactionLayer::new(TimerConfig::default()),
            uas: TransactionLayer::new(TimerConfig::default()),
            reliable,
            rng: XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            loss,
            drop_first: Vec::new(),
            delay: Duration::from_millis(20),
            in_flight: Vec::new(),
            answer,
            uac_events: Vec::new(),
            uas_events: Vec::new(),
            sent_by_uac: Vec::new(),
            sent_by_uas: Vec::new(),
        }
    }

    fn t(&self) -> Duration {
        self.now - self.base
    }

    fn send(&mut self, to: Side, bytes: Bytes) {
        let line = first_line(&bytes);
        let log = if to == Side::Uas {
            &mut self.sent_by_uac
        } else {
            &mut self.sent_by_uas
        };
        log.push((self.now - self.base, line.clone()));
        for rule in &mut self.drop_first {
            if rule.0 == to && line.starts_with(rule.1) && rule.2 > 0 {
                rule.2 -= 1;
                return;
            }
        }
        if self.rng.next() < self.loss {
            return;
        }
        self.in_flight.push((self.now + self.delay, to, bytes));
    }

    /// Moves queued output into the network and lets the TUs react, until quiet.
    fn pump(&mut self) {
        loop {
            let mut progress = false;
            while let Some(t) = self.uac.poll_transmit() {
                self.send(Side::Uas, t.bytes);
                progress = true;
            }
            while let Some(t) = self.uas.poll_transmit() {
                self.send(Side::Uac, t.bytes);
                progress = true;
            }
            while let Some(e) = self.uas.poll_event() {
                if let TxEvent::Request { tx, request } = &e {
                    let mut resp = Response::to_request(request, (self.answer)(request));
                    resp.headers
                        .set(HeaderName::To, "<sip:bob@example.com>;tag=uas1");
                    self.uas.respond(*tx, resp, self.now).expect("respond");
                }
                self.uas_events.push((self.t(), e));
                progress = true;
            }
            while let Some(e) = self.uac.poll_event() {
                if let TxEvent::Response { response, .. } = &e {
                    if response.status.is_success()
                        && response.headers.cseq().unwrap().method == "INVITE"
                    {
                        let ack = ack_for_2xx(response);
                        self.send(Side::Uas, ack.to_bytes());
                    }
                }
                self.uac_events.push((self.t(), e));
                progress = true;
            }
            if !progress {
                return;
            }
        }
    }

    /// Runs until nothing is pending or `limit` has passed.
    fn run(&mut self, limit: Duration) {
        self.pump();
        loop {
            let next_packet = self.in_flight.iter().map(|p| p.0).min();
            let next = [
                next_packet,
                self.uac.poll_timeout(),
                self.uas.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next else { return };
            if next - self.base > limit {
                return;
            }
            self.now = self.now.max(next);
            let now = self.now;
            let (due, later): (Vec<_>, Vec<_>) = self.in_flight.drain(..).partition(|p| p.0 <= now);
            self.in_flight = later;
            for (_, to, bytes) in due {
                let msg = parse_datagram(bytes, &Limits::default()).expect("parse");
                let layer = if to == Side::Uas {
                    &mut self.uas
                } else {
                    &mut self.uac
                };
                match msg {
                    Message::Request(r) => layer
                        .handle_request(r, (), self.reliable, now)
                        .expect("request"),
                    Message::Response(r) => layer.handle_response(r, now),
                }
            }
            self.uac.handle_timeout(now);
            self.uas.handle_timeout(now);
            self.pump();
        }
    }

    fn start(&mut self, req: Request) -> TxId {
        let id = self
            .uac
            .send_request(req, (), self.reliable, self.now)
            .expect("send");
        self.pump();
        id
    }
}

fn first_line(b: &Bytes) -> String {
    String::from_utf8_lossy(b)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn request(method: &str, branch: &str) -> Request {
    let raw = format!(
        "{method} sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n\
         Call-ID: {branch}@192.0.2.1\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    );
    match parse_datagram(Bytes::from(raw), &Limits::default()).unwrap() {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!(),
    }
}

fn ack_for_2xx(resp: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, "sip:bob@192.0.2.2");
    ack.headers.push(
        HeaderName::Via,
        "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKack2xx",
    );
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        ack.headers
            .push(name.clone(), resp.headers.get(&name).unwrap());
    }
    ack.headers.push(HeaderName::CSeq, "1 ACK");
    ack
}

fn secs(v: &[(Duration, String)], prefix: &str) -> Vec<f64> {
    v.iter()
        .filter(|(_, l)| l.starts_with(prefix))
        .map(|(t, _)| (t.as_secs_f64() * 1000.0).round() / 1000.0)
        .collect()
}

fn ok(_: &Request) -> StatusCode {
    StatusCode::OK
}

fn busy(_: &Request) -> StatusCode {
    StatusCode::BUSY_HERE
}

fn finals(events: &[(Duration, TxEvent)]) -> Vec<String> {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            TxEvent::Response { response, .. } if response.status.is_final() => {
                Some(response.status.to_string())
            }
            TxEvent::Timeout { .. } => Some("timeout".to_owned()),
            _ => None,
        })
        .collect()
}

#[test]
fn non_invite_without_loss_sends_once_and_cleans_up() {
    let mut s = Sim::new(0.0, 1, false, ok);
    s.start(request("MESSAGE", "m1"));
    s.run(Duration::from_secs(120));
    assert_eq!(secs(&s.sent_by_uac, "MESSAGE"), vec![0.0]);
    assert_eq!(finals(&s.uac_events), vec!["200"]);
    assert_eq!(
        s.uas_events
            .iter()
            .filter(|(_, e)| matches!(e, TxEvent::Request { .. }))
            .count(),
        1
    );
    assert!(s.uac.is_empty() && s.uas.is_empty());
    // K = T4 at the UAC, J = 64*T1 at the UAS.
    let term = |ev: &[(Duration, TxEvent)]| {
        ev.iter()
            .find(|(_, e)| matches!(e, TxEvent::Terminated { .. }))
            .unwrap()
            .0
    };
    assert_eq!(
        term(&s.uac_events),
        Duration::from_millis(40) + Duration::from_secs(5)
    );
    assert_eq!(
        term(&s.uas_events),
        Duration::from_millis(20) + Duration::from_secs(32)
    );
}

#[test]
fn non_invite_total_loss_retransmits_on_timer_e_and_times_out_on_f() {
    let mut s = Sim::new(1.0, 1, false, ok);
    s.start(request("OPTIONS", "o1"));
    s.run(Duration::from_secs(120));
    assert_eq!(
        secs(&s.sent_by_uac, "OPTIONS"),
        vec![0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    );
    assert_eq!(finals(&s.uac_events), vec!["timeout"]);
    assert_eq!(
        s.uac_events
            .iter()
            .find(|(_, e)| matches!(e, TxEvent::Timeout { .. }))
            .unwrap()
            .0,
        Duration::from_secs(32)
    );
    assert!(s.uac.is_empty());
}

#[test]
fn non_invite_with_30_percent_loss_over_many_seeds() {
    let mut completed = 0;
    for seed in 0..200 {
        let mut s = Sim::new(0.3, seed, false, ok);
        s.start(request("MESSAGE", &format!("s{seed}")));
        s.run(Duration::from_secs(120));
        let f = finals(&s.uac_events);
        assert_eq!(f.len(), 1, "seed {seed}: exactly one outcome, got {f:?}");
        let seen = s
            .uas_events
            .iter()
            .filter(|(_, e)| matches!(e, TxEvent::Request { .. }))
            .count();
        assert!(
            seen <= 1,
            "seed {seed}: the UAS TU saw the request {seen} times"
        );
        if f[0] == "200" {
            completed += 1;
            assert_eq!(seen, 1);
        }
        assert!(
            s.uac.is_empty() && s.uas.is_empty(),
            "seed {seed}: transactions left over"
        );
    }
    assert!(
        completed >= 195,
        "only {completed}/200 completed at 30% loss"
    );
}

#[test]
fn lost_final_response_is_resent_for_the_retransmitted_request() {
    let mut s = Sim::new(0.0, 1, false, ok);
    s.drop_first.push((Side::Uac, "SIP/2.0 200", 1));
    s.start(request("MESSAGE", "m2"));
    s.run(Duration::from_secs(120));
    assert_eq!(secs(&s.sent_by_uac, "MESSAGE"), vec![0.0, 0.5]);
    assert_eq!(secs(&s.sent_by_uas, "SIP/2.0 200"), vec![0.02, 0.52]);
    assert_eq!(
        s.uas_events
            .iter()
            .filter(|(_, e)| matches!(e, TxEvent::Request { .. }))
            .count(),
        1
    );
    assert_eq!(finals(&s.uac_events), vec!["200"]);
}

#[test]
fn invite_total_loss_retransmits_on_timer_a_and_times_out_on_b() {
    let mut s = Sim::new(1.0, 1, false, ok);
    s.start(request("INVITE", "i1"));
    s.run(Duration::from_secs(120));
    assert_eq!(
        secs(&s.sent_by_uac, "INVITE"),
        vec![0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    );
    assert_eq!(finals(&s.uac_events), vec!["timeout"]);
    assert!(s.uac.is_empty());
}

#[test]
fn invite_rejected_client_acks_and_server_retransmits_until_ack() {
    let mut s = Sim::new(0.0, 1, false, busy);
    s.drop_first.push((Side::Uas, "ACK", 2));
    s.start(request("INVITE", "i2"));
    s.run(Duration::from_secs(120));
    // 100 Trying at once, then the 486 and its Timer G retransmissions until an ACK got through.
    assert_eq!(secs(&s.sent_by_uas, "SIP/2.0 100"), vec![0.02]);
    assert_eq!(secs(&s.sent_by_uas, "SIP/2.0 486"), vec![0.02, 0.52, 1.52]);
    assert_eq!(secs(&s.sent_by_uac, "ACK"), vec![0.04, 0.54, 1.54]);
    assert_eq!(finals(&s.uac_events), vec!["486"]);
    assert!(s
        .uas_events
        .iter()
        .all(|(_, e)| !matches!(e, TxEvent::Timeout { .. })));
    assert!(s.uac.is_empty() && s.uas.is_empty());
}

#[test]
fn invite_rejected_without_any_ack_times_out_on_h() {
    let mut s = Sim::new(0.0, 1, false, busy);
    s.drop_first.push((Side::Uas, "ACK", 100));
    s.start(request("INVITE", "i3"));
    s.run(Duration::from_secs(120));
    let g = secs(&s.sent_by_uas, "SIP/2.0 486");
    assert_eq!(&g[..6], &[0.02, 0.52, 1.52, 3.52, 7.52, 11.52]);
    let timeout = s
        .uas_events
        .iter()
        .find(|(_, e)| matches!(e, TxEvent::Timeout { .. }))
        .unwrap()
        .0;
    assert_eq!(timeout, Duration::from_millis(20) + Duration::from_secs(32));
}

#[test]
fn invite_accepted_on_both_sides_ack_goes_to_the_tu() {
    let mut s = Sim::new(0.0, 1, false, ok);
    s.start(request("INVITE", "i4"));
    s.run(Duration::from_secs(120));
    assert_eq!(finals(&s.uac_events), vec!["200"]);
    // The 2xx ACK is a separate, end-to-end request: it reaches the UAS TU.
    assert!(s
        .uas_events
        .iter()
        .any(|(_, e)| matches!(e, TxEvent::Ack { .. })));
    // No retransmission of the 2xx by the transaction (RFC 6026: the TU's job).
    assert_eq!(secs(&s.sent_by_uas, "SIP/2.0 200"), vec![0.02]);
    let term = |ev: &[(Duration, TxEvent)]| {
        ev.iter()
            .find(|(_, e)| matches!(e, TxEvent::Terminated { .. }))
            .unwrap()
            .0
    };
    assert_eq!(
        term(&s.uas_events),
        Duration::from_millis(20) + Duration::from_secs(32),
        "Timer L"
    );
    assert_eq!(
        term(&s.uac_events),
        Duration::from_millis(40) + Duration::from_secs(32),
        "Timer M"
    );
}

#[test]
fn reliable_transport_never_retransmits_and_ends_at_once() {
    let mut s = Sim::new(0.0, 1, true, ok);
    s.start(request("MESSAGE", "r1"));
    s.run(Duration::from_secs(120));
    assert_eq!(secs(&s.sent_by_uac, "MESSAGE"), vec![0.0]);
    let term = |ev: &[(Duration, TxEvent)]| {
        ev.iter()
            .find(|(_, e)| matches!(e, TxEvent::Terminated { .. }))
            .unwrap()
            .0
    };
    assert_eq!(term(&s.uac_events), Duration::from_millis(40), "K = 0");
    assert_eq!(term(&s.uas_events), Duration::from_millis(20), "J = 0");

    let mut s = Sim::new(1.0, 1, true, ok);
    s.start(request("MESSAGE", "r2"));
    s.run(Duration::from_secs(120));
    assert_eq!(
        secs(&s.sent_by_uac, "MESSAGE"),
        vec![0.0],
        "no Timer E on reliable transports"
    );
    assert_eq!(finals(&s.uac_events), vec!["timeout"]);
}

#[test]
fn misuse_is_refused_and_strays_are_reported() {
    let now = Instant::now();
    let mut l: TransactionLayer<()> = TransactionLayer::new(TimerConfig::default());
    let mut ack = request("ACK", "x1");
    assert_eq!(
        l.send_request(ack.clone(), (), false, now),
        Err(TxError::AckIsNotATransaction)
    );
    ack.headers
        .set(HeaderName::Via, "SIP/2.0/UDP h;branch=1234");
    let mut no_cookie = request("OPTIONS", "y");
    no_cookie
        .headers
        .set(HeaderName::Via, "SIP/2.0/UDP h;branch=1234");
    assert_eq!(
        l.send_request(no_cookie, (), false, now),
        Err(TxError::NoBranch)
    );
    l.send_request(request("OPTIONS", "dup"), (), false, now)
        .unwrap();
    assert_eq!(
        l.send_request(request("OPTIONS", "dup"), (), false, now),
        Err(TxError::DuplicateBranch)
    );
    let stray = Response::to_request(&request("OPTIONS", "nobody"), StatusCode::OK);
    l.handle_response(stray, now);
    while let Some(e) = l.poll_event() {
        if matches!(e, TxEvent::StrayResponse { .. }) {
            return;
        }
    }
    panic!("no stray response event");
}

#[test]
fn cancel_finds_its_invite_and_answers_cannot_be_repeated() {
    let now = Instant::now();
    let mut l: TransactionLayer<()> = TransactionLayer::new(TimerConfig::default());
    l.handle_request(request("INVITE", "c1"), (), false, now)
        .unwrap();
    let Some(TxEvent::Request {
        tx,
        request: invite,
    }) = l.poll_event()
    else {
        panic!("no request")
    };
    let mut cancel = request("CANCEL", "c1");
    cancel.headers.set(HeaderName::CSeq, "1 CANCEL");
    assert_eq!(l.invite_for_cancel(&cancel), Some(tx));
    l.respond(
        tx,
        Response::to_request(&invite, StatusCode::REQUEST_TERMINATED),
        now,
    )
    .unwrap();
    assert_eq!(
        l.respond(tx, Response::to_request(&invite, StatusCode::OK), now),
        Err(TxError::AlreadyAnswered)
    );
    assert_eq!(
        l.respond(
            TxId(999),
            Response::to_request(&invite, StatusCode::OK),
            now
        ),
        Err(TxError::Unknown)
    );
}

#[test]
fn zero_t2_cannot_spin() {
    // T2 caps Timer E; at zero, E would re-arm at `now` forever inside `handle_timeout`
    // while Timer F (64 * T1) is still 32 s away. The 1 ms floor prevents it.
    let cfg = TimerConfig {
        t2: Duration::ZERO,
        ..TimerConfig::default()
    };
    let start = Instant::now();
    let mut l: TransactionLayer<()> = TransactionLayer::new(cfg);
    l.send_request(request("OPTIONS", "z1"), (), false, start)
        .unwrap();
    l.handle_timeout(start + Duration::from_secs(1));
    let sent = std::iter::from_fn(|| l.poll_transmit()).count();
    assert_eq!(sent, 2, "the request, then one retransmission at 0.5 s");
    assert_eq!(l.poll_timeout(), Some(start + Duration::from_millis(1001)));
}

#[test]
fn a_stateless_answer_forgets_the_transaction_and_a_retransmission_is_new() {
    let now = Instant::now();
    let mut l: TransactionLayer<()> = TransactionLayer::new(TimerConfig::default());
    let register = request("REGISTER", "s1");
    l.handle_request(register.clone(), (), false, now).unwrap();
    let Some(TxEvent::Request { tx, request }) = l.poll_event() else {
        panic!("no request")
    };
    let challenge = Response::to_request(&request, StatusCode::UNAUTHORIZED);
    l.respond_statelessly(tx, challenge, now).unwrap();
    assert_eq!(
        std::iter::from_fn(|| l.poll_transmit())
            .map(|t| first_line(&t.bytes))
            .collect::<Vec<_>>(),
        ["SIP/2.0 401 Unauthorized"]
    );
    assert_eq!(l.poll_event(), Some(TxEvent::Terminated { tx }));
    assert!(l.is_empty(), "nothing kept for Timer J");
    assert_eq!(l.poll_timeout(), None);
    // The same request again is not absorbed: the TU sees it (and challenges it again).
    l.handle_request(register, (), false, now).unwrap();
    let Some(TxEvent::Request { tx: again, .. }) = l.poll_event() else {
        panic!("the retransmission was absorbed")
    };
    assert_ne!(again, tx);
    assert_eq!(
        l.respond_statelessly(
            TxId(999),
            Response::to_request(&request, StatusCode::OK),
            now
        ),
        Err(TxError::Unknown)
    );
}

#[test]
fn a_completed_non_invite_answers_retransmissions_until_timer_j() {
    let now = Instant::now();
    let mut l: TransactionLayer<u8> = TransactionLayer::new(TimerConfig::default());
    let message = request("MESSAGE", "j1");
    l.handle_request(message.clone(), 7, false, now).unwrap();
    let Some(TxEvent::Request { tx, request }) = l.poll_event() else {
        panic!("no request")
    };
    l.respond(tx, Response::to_request(&request, StatusCode::OK), now)
        .unwrap();
    let first = l.poll_transmit().expect("the 200");
    assert_eq!(first_line(&first.bytes), "SIP/2.0 200 OK");
    assert_eq!(l.len(), 1, "kept for Timer J");
    assert_eq!(l.peer(tx), None, "no longer live");
    assert_eq!(
        l.respond(tx, Response::to_request(&request, StatusCode::OK), now),
        Err(TxError::Unknown)
    );
    // A retransmission, even from elsewhere, gets the same bytes to the request's peer.
    let later = now + Duration::from_secs(31);
    l.handle_request(message.clone(), 9, false, later).unwrap();
    let again = l.poll_transmit().expect("the 200 again");
    assert_eq!((again.tx, again.peer, &again.bytes), (tx, 7, &first.bytes));
    assert_eq!(l.poll_event(), None, "absorbed, not a new request");
    assert_eq!(l.poll_timeout(), Some(now + Duration::from_secs(32)));
    l.handle_timeout(now + Duration::from_secs(32));
    assert_eq!(l.poll_event(), Some(TxEvent::Terminated { tx }));
    assert!(l.is_empty());
    assert_eq!(l.poll_timeout(), None);
    // After J the same request is a new one.
    l.handle_request(message, 7, false, now + Duration::from_secs(33))
        .unwrap();
    assert!(matches!(l.poll_event(), Some(TxEvent::Request { tx: t, .. }) if t != tx));
}

#[test]
fn a_completed_client_non_invite_absorbs_the_final_response_until_timer_k() {
    let now = Instant::now();
    let mut l: TransactionLayer<u8> = TransactionLayer::new(TimerConfig::default());
    let message = request("MESSAGE", "k1");
    let tx = l.send_request(message.clone(), 7, false, now).unwrap();
    assert!(l.poll_transmit().is_some(), "the MESSAGE");
    let ok = Response::to_request(&message, StatusCode::OK);
    l.handle_response(ok.clone(), now);
    assert!(matches!(l.poll_event(), Some(TxEvent::Response { tx: t, .. }) if t == tx));
    assert_eq!(l.len(), 1, "kept for Timer K");
    assert_eq!(l.peer(tx), None, "no longer live");
    // The 200 again, within K: swallowed, neither passed up nor stray.
    l.handle_response(ok.clone(), now + Duration::from_secs(4));
    assert_eq!(l.poll_event(), None);
    // Timer E no longer retransmits the request.
    l.handle_timeout(now + Duration::from_secs(4));
    assert!(l.poll_transmit().is_none());
    assert_eq!(l.poll_timeout(), Some(now + Duration::from_secs(5)));
    l.handle_timeout(now + Duration::from_secs(5));
    assert_eq!(l.poll_event(), Some(TxEvent::Terminated { tx }));
    assert!(l.is_empty());
    // After K the same response matches nothing.
    l.handle_response(ok, now + Duration::from_secs(6));
    assert!(matches!(
        l.poll_event(),
        Some(TxEvent::StrayResponse { .. })
    ));
}

#[test]
fn an_invite_is_answered_statefully_even_when_asked_statelessly() {
    let now = Instant::now();
    let mut l: TransactionLayer<()> = TransactionLayer::new(TimerConfig::default());
    l.handle_request(request("INVITE", "s2"), (), false, now)
        .unwrap();
    let Some(TxEvent::Request { tx, request }) = l.poll_event() else {
        panic!("no request")
    };
    let challenge = Response::to_request(&request, StatusCode::PROXY_AUTH_REQUIRED);
    l.respond_statelessly(tx, challenge, now).unwrap();
    assert_eq!(l.len(), 1, "kept until the ACK of the 407 (or Timer H)");
    assert_eq!(l.poll_event(), None);
}
