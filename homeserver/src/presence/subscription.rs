//! A subscription dialog as the notifier holds it (RFC 6665 §4.2, RFC 3261 §12.1.1), and
//! the NOTIFY requests sent in it — built without I/O, so the sequence of CSeqs, the
//! Subscription-State and the dialog identifiers can be tested alone.

use bytes::Bytes;
use herald_proto::v1::FlowRef;
use herald_sip::{HeaderName, Method, Request};

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
}

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
        let mut r = Request::new(Method::Notify, self.remote_target.clone());
        let h = &mut r.headers;
        h.push(HeaderName::Via, via);
        h.push(HeaderName::MaxForwards, "70");
        h.push(
            HeaderName::From,
            format!("<{}>;tag={}", self.local_uri, self.local_tag),
        );
        h.push(
            HeaderName::To,
            format!("<{}>;tag={}", self.remote_uri, self.remote_tag),
        );
        h.push(HeaderName::CallId, &self.call_id);
        h.push(HeaderName::CSeq, format!("{} NOTIFY", self.cseq));
        h.push(HeaderName::Contact, format!("<{contact}>"));
        match &self.event_id {
            Some(id) => h.push(HeaderName::Event, format!("{};id={id}", self.kind.event())),
            None => h.push(HeaderName::Event, self.kind.event()),
        }
        h.push(HeaderName::SubscriptionState, state);
        for route in &self.route_set {
            h.push(HeaderName::Route, route);
        }
        if self.kind == Kind::List {
            h.push(HeaderName::Require, "eventlist");
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
