//! A subscription dialog as the notifier holds it (RFC 6665 §4.2, RFC 3261 §12.1.1), and
//! the NOTIFY requests sent in it — built without I/O, so the sequence of CSeqs, the
//! Subscription-State and the dialog identifiers can be tested alone.

use bytes::Bytes;
use herald_proto::v1::FlowRef;
use herald_sip::{ByteStr, Header, HeaderName, Method, Request};

use crate::store::Aor;

/// What a subscription watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `presence` of one presentity (RFC 3856).
    Presence,
    /// `presence.winfo`: who watches the subscriber (RFC 3857).
    Winfo,
    /// `presence` of a whole buddy list, as one resource list subscription (RFC 4662).
    List,
}

impl Kind {
    pub fn event(self) -> &'static str {
        match self {
            Kind::Presence | Kind::List => "presence",
            Kind::Winfo => "presence.winfo",
        }
    }
}

/// Subscription-State of the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Active,
    /// Waiting for the presentity's approval (RFC 3856 §6.6).
    Pending,
}

/// One subscription dialog.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub kind: Kind,
    pub watcher: Aor,
    /// The presentity (Presence), or the subscriber itself (Winfo, List).
    pub target: Aor,
    pub call_id: String,
    /// Our tag (the To tag of the SUBSCRIBE's 200, the From tag of NOTIFYs).
    pub local_tag: String,
    pub remote_tag: String,
    /// The SUBSCRIBE's To URI (our side) and From URI (the watcher's).
    pub local_uri: String,
    pub remote_uri: String,
    /// Where NOTIFYs go: the watcher's Contact, down the flow it subscribed over.
    pub remote_target: String,
    pub route_set: Vec<String>,
    pub flow: FlowRef,
    /// The `id` parameter of the Event header, echoed in NOTIFYs.
    pub event_id: Option<String>,
    /// The last CSeq we sent.
    pub cseq: u32,
    pub expires_at: u64,
    pub state: State,
    /// Version counter of winfo and RLMI documents.
    pub version: u32,
    /// What every NOTIFY of this dialog repeats, built by the first (`NotifyLines::default()`
    /// when the subscription is made).
    pub lines: NotifyLines,
}

/// The lines of a dialog's NOTIFYs that do not change from one to the next: a dialog's
/// identifiers (Call-ID, both tags and URIs) and its route set are fixed for its life
/// (RFC 3261 §12.2), so From, To, Call-ID, Event, Route and our Contact are written once
/// and every NOTIFY shares them (a header line is reference-counted). A fan-out of one
/// PUBLISH to thousands of watchers sends thousands of NOTIFYs: formatting these lines
/// afresh for each was a twentieth of the server's time. The Request-URI (the remote
/// target, which a refreshing SUBSCRIBE may move) and our Contact are kept with the text
/// they were built from and rebuilt when it differs.
#[derive(Debug, Clone, Default)]
pub struct NotifyLines {
    target: Option<(String, ByteStr)>,
    contact: Option<(String, Header)>,
    /// Max-Forwards, From, To, Call-ID (before CSeq), Event (after Contact), then the
    /// Routes and Require; empty until the first NOTIFY.
    fixed: Vec<Header>,
}

/// How many of [`NotifyLines::fixed`] come before CSeq.
const BEFORE_CSEQ: usize = 4;

/// How a NOTIFY ends or keeps its subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Still on, with this many seconds left.
    Continues(u64),
    /// `terminated` with this reason (RFC 6665 §4.1.3: timeout, noresource, rejected,
    /// deactivated, giveup).
    Terminated(&'static str),
}

impl Subscription {
    /// The next NOTIFY (its CSeq taken), with `via` our Via value and `contact` our
    /// Contact URI; `body` is `(content type, bytes)`. Built as a message, not as text to
    /// be parsed again: the notifier sends many.
    pub fn next_notify(
        &mut self,
        via: &str,
        contact: &str,
        ending: Ending,
        body: Option<(&str, Bytes)>,
    ) -> Request {
        self.cseq += 1;
        let state = match (ending, self.state) {
            (Ending::Terminated(reason), _) => format!("terminated;reason={reason}"),
            (Ending::Continues(left), State::Active) => format!("active;expires={left}"),
            (Ending::Continues(left), State::Pending) => format!("pending;expires={left}"),
        };
        if self.lines.fixed.is_empty() {
            self.lines.fixed = self.fixed_lines();
        }
        let target = match &self.lines.target {
            Some((text, uri)) if *text == self.remote_target => uri.clone(),
            _ => {
                let uri = ByteStr::from(self.remote_target.clone());
                self.lines.target = Some((self.remote_target.clone(), uri.clone()));
                uri
            }
        };
        let contact = match &self.lines.contact {
            Some((text, line)) if text == contact => line.clone(),
            _ => {
                let line = Header::new(HeaderName::Contact, &format!("<{contact}>"));
                self.lines.contact = Some((contact.to_owned(), line.clone()));
                line
            }
        };
        let mut r = Request::new(Method::Notify, target);
        let fixed = &self.lines.fixed;
        let h = &mut r.headers;
        h.push(HeaderName::Via, via);
        for line in &fixed[..BEFORE_CSEQ] {
            h.push_header(line.clone());
        }
        let mut cseq = String::with_capacity(18);
        herald_sip::text::push_decimal(&mut cseq, self.cseq);
        cseq.push_str(" NOTIFY");
        h.push(HeaderName::CSeq, cseq);
        h.push_header(contact);
        h.push_header(fixed[BEFORE_CSEQ].clone());
        h.push(HeaderName::SubscriptionState, state);
        for line in &fixed[BEFORE_CSEQ + 1..] {
            h.push_header(line.clone());
        }
        match body {
            Some((ctype, bytes)) => {
                h.push(HeaderName::ContentType, ctype);
                h.push(HeaderName::ContentLength, bytes.len().to_string());
                r.body = bytes;
            }
            None => h.push(HeaderName::ContentLength, "0"),
        }
        r
    }

    /// The lines of [`NotifyLines::fixed`], in order.
    fn fixed_lines(&self) -> Vec<Header> {
        let mut v = Vec::with_capacity(BEFORE_CSEQ + 2 + self.route_set.len());
        v.push(Header::new(HeaderName::MaxForwards, "70"));
        let from = format!("<{}>;tag={}", self.local_uri, self.local_tag);
        v.push(Header::new(HeaderName::From, &from));
        let to = format!("<{}>;tag={}", self.remote_uri, self.remote_tag);
        v.push(Header::new(HeaderName::To, &to));
        v.push(Header::new(HeaderName::CallId, &self.call_id));
        match &self.event_id {
            Some(id) => {
                let event = format!("{};id={id}", self.kind.event());
                v.push(Header::new(HeaderName::Event, &event));
            }
            None => v.push(Header::new(HeaderName::Event, self.kind.event())),
        }
        for route in &self.route_set {
            v.push(Header::new(HeaderName::Route, route));
        }
        if self.kind == Kind::List {
            v.push(Header::new(HeaderName::Require, "eventlist"));
        }
        v
    }
}

impl Subscription {
    /// The dialog's key in the store: Call-ID and our tag.
    pub fn key(&self) -> String {
        format!("{}\n{}", self.call_id, self.local_tag)
    }

    /// The subscription as a JSON record (what a restarted or another home server reads
    /// back with [`Subscription::from_record`]); `extra` is the engine's own field.
    pub fn to_record(&self, extra: &str) -> String {
        serde_json::json!({
            "kind": match self.kind { Kind::Presence => "presence", Kind::Winfo => "winfo", Kind::List => "list" },
            "watcher": self.watcher.as_str(),
            "target": self.target.as_str(),
            "call_id": self.call_id,
            "local_tag": self.local_tag,
            "remote_tag": self.remote_tag,
            "local_uri": self.local_uri,
            "remote_uri": self.remote_uri,
            "remote_target": self.remote_target,
            "route_set": self.route_set,
            "flow": [self.flow.frontend_id, self.flow.connection_id.to_string(), self.flow.transport.to_string(), self.flow.remote],
            "event_id": self.event_id,
            "cseq": self.cseq,
            "expires_at": self.expires_at,
            "pending": self.state == State::Pending,
            "version": self.version,
            "extra": extra,
        })
        .to_string()
    }

    /// Reads a record back; `None` if it is not one. Returns the engine's field too.
    pub fn from_record(data: &str) -> Option<(Subscription, String)> {
        let v: serde_json::Value = serde_json::from_str(data).ok()?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        let n = |k: &str| v.get(k).and_then(serde_json::Value::as_u64);
        let flow: Vec<String> = v
            .get("flow")?
            .as_array()?
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect();
        let [fe, conn, transport, remote] = <[String; 4]>::try_from(flow).ok()?;
        let sub = Subscription {
            kind: match s("kind")?.as_str() {
                "presence" => Kind::Presence,
                "winfo" => Kind::Winfo,
                "list" => Kind::List,
                _ => return None,
            },
            watcher: Aor::parse(&s("watcher")?)?,
            target: Aor::parse(&s("target")?)?,
            call_id: s("call_id")?,
            local_tag: s("local_tag")?,
            remote_tag: s("remote_tag")?,
            local_uri: s("local_uri")?,
            remote_uri: s("remote_uri")?,
            remote_target: s("remote_target")?,
            route_set: v
                .get("route_set")?
                .as_array()?
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            flow: FlowRef {
                frontend_id: fe,
                connection_id: conn.parse().ok()?,
                transport: transport.parse().ok()?,
                remote,
            },
            event_id: s("event_id"),
            cseq: u32::try_from(n("cseq")?).ok()?,
            expires_at: n("expires_at")?,
            state: if v.get("pending")?.as_bool()? {
                State::Pending
            } else {
                State::Active
            },
            version: u32::try_from(n("version")?).ok()?,
            lines: NotifyLines::default(),
        };
        Some((sub, s("extra").unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub() -> Subscription {
        Subscription {
            kind: Kind::Presence,
            watcher: Aor::parse("bob@example.com").unwrap(),
            target: Aor::parse("alice@example.com").unwrap(),
            call_id: "c1".into(),
            local_tag: "ours".into(),
            remote_tag: "theirs".into(),
            local_uri: "sip:alice@example.com".into(),
            remote_uri: "sip:bob@example.com".into(),
            remote_target: "sip:bob@192.0.2.7:5062".into(),
            route_set: vec!["<sip:p1.example.net;lr>".into()],
            flow: FlowRef::default(),
            event_id: Some("7".into()),
            cseq: 0,
            expires_at: 0,
            state: State::Active,
            version: 0,
            lines: NotifyLines::default(),
        }
    }

    fn text(r: Request) -> String {
        String::from_utf8(r.to_bytes().to_vec()).unwrap()
    }

    #[test]
    fn notifies_count_up_and_carry_the_dialog() {
        let mut s = sub();
        let body = Some(("application/pidf+xml", Bytes::from_static(b"<x/>")));
        let a = text(s.next_notify(
            "SIP/2.0/UDP h;branch=z9hG4bK1",
            "sip:herald@h",
            Ending::Continues(600),
            body,
        ));
        let b = text(s.next_notify(
            "SIP/2.0/UDP h;branch=z9hG4bK2",
            "sip:herald@h",
            Ending::Terminated("timeout"),
            None,
        ));
        assert!(
            a.starts_with("NOTIFY sip:bob@192.0.2.7:5062 SIP/2.0\r\n"),
            "{a}"
        );
        assert!(a.contains("CSeq: 1 NOTIFY\r\n") && b.contains("CSeq: 2 NOTIFY\r\n"));
        assert!(a.contains("From: <sip:alice@example.com>;tag=ours\r\n"));
        assert!(a.contains("To: <sip:bob@example.com>;tag=theirs\r\n"));
        assert!(a.contains("Event: presence;id=7\r\n"));
        assert!(a.contains("Route: <sip:p1.example.net;lr>\r\n"));
        assert!(a.contains("Subscription-State: active;expires=600\r\n"));
        assert!(a.ends_with("Content-Length: 4\r\n\r\n<x/>"), "{a}");
        assert!(b.contains("Subscription-State: terminated;reason=timeout\r\n"));
        let parsed = herald_sip::parse_datagram(Bytes::from(a), &herald_sip::Limits::default());
        assert!(parsed.is_ok_and(|m| m.validate().is_ok()));
    }

    #[test]
    fn a_moved_target_or_contact_is_followed_and_the_rest_is_shared() {
        let mut s = sub();
        let first = s.next_notify(
            "SIP/2.0/UDP h;branch=z9hG4bK1",
            "sip:herald@h",
            Ending::Continues(60),
            None,
        );
        s.remote_target = "sip:bob@192.0.2.8:5070".into();
        let second = s.next_notify(
            "SIP/2.0/UDP h;branch=z9hG4bK2",
            "sip:herald@h2",
            Ending::Continues(50),
            None,
        );
        let b = text(second.clone());
        assert!(
            b.starts_with("NOTIFY sip:bob@192.0.2.8:5070 SIP/2.0\r\n"),
            "{b}"
        );
        assert!(b.contains("Contact: <sip:herald@h2>\r\n"), "{b}");
        assert!(
            b.contains("CSeq: 2 NOTIFY\r\n")
                && b.contains("Via: SIP/2.0/UDP h;branch=z9hG4bK2\r\n")
        );
        let names = |r: &Request| r.headers.iter().map(|h| h.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&first),
            names(&second),
            "the same lines in the same order"
        );
        let from = |r: &Request| {
            r.headers
                .iter()
                .find(|h| h.name == HeaderName::From)
                .unwrap()
                .line()
                .as_ptr()
        };
        assert_eq!(
            from(&first),
            from(&second),
            "From is written once and shared"
        );
        // A copy of the subscription made by hand, without the built lines, says the same.
        let mut fresh = s.clone();
        fresh.lines = NotifyLines::default();
        fresh.cseq = 1;
        s.cseq = 1;
        let via = "SIP/2.0/UDP h;branch=z9hG4bK3";
        assert_eq!(
            text(fresh.next_notify(via, "sip:herald@h2", Ending::Continues(40), None)),
            text(s.next_notify(via, "sip:herald@h2", Ending::Continues(40), None))
        );
    }

    #[test]
    fn records_round_trip() {
        let mut s = sub();
        s.flow = FlowRef {
            frontend_id: "fe1".into(),
            connection_id: 7,
            transport: 2,
            remote: "192.0.2.7:5062".into(),
        };
        let (back, extra) = Subscription::from_record(&s.to_record("allow")).unwrap();
        assert_eq!(extra, "allow");
        assert_eq!(back.to_record("allow"), s.to_record("allow"));
        assert_eq!((back.flow, back.route_set), (s.flow, s.route_set));
        assert!(Subscription::from_record("{}").is_none());
    }

    #[test]
    fn pending_subscriptions_say_so() {
        let mut s = sub();
        s.state = State::Pending;
        let n = text(s.next_notify(
            "SIP/2.0/UDP h;branch=z9hG4bK1",
            "sip:herald@h",
            Ending::Continues(30),
            None,
        ));
        assert!(n.contains("Subscription-State: pending;expires=30\r\n"));
    }
}
