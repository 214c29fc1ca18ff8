//! A subscription dialog as the notifier holds it (RFC 6665 §4.2, RFC 3261 §12.1.1), and
//! the NOTIFY requests sent in it — built without I/O, so the sequence of CSeqs, the
//! Subscription-State and the dialog identifiers can be tested alone.

use herald_proto::v1::FlowRef;

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
    /// The text of the next NOTIFY (its CSeq taken), with `via` our Via value and
    /// `contact` our Contact URI; `body` is `(content type, bytes)`.
    pub fn next_notify(
        &mut self,
        via: &str,
        contact: &str,
        ending: Ending,
        body: Option<(&str, &[u8])>,
    ) -> Vec<u8> {
        self.cseq += 1;
        let state = match (ending, self.state) {
            (Ending::Terminated(reason), _) => format!("terminated;reason={reason}"),
            (Ending::Continues(left), State::Active) => format!("active;expires={left}"),
            (Ending::Continues(left), State::Pending) => format!("pending;expires={left}"),
        };
        let event = match &self.event_id {
            Some(id) => format!("{};id={id}", self.kind.event()),
            None => self.kind.event().to_owned(),
        };
        let mut s = format!(
            "NOTIFY {target} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n\
             From: <{local}>;tag={ltag}\r\nTo: <{remote}>;tag={rtag}\r\nCall-ID: {cid}\r\n\
             CSeq: {cseq} NOTIFY\r\nContact: <{contact}>\r\nEvent: {event}\r\n\
             Subscription-State: {state}\r\n",
            target = self.remote_target,
            local = self.local_uri,
            ltag = self.local_tag,
            remote = self.remote_uri,
            rtag = self.remote_tag,
            cid = self.call_id,
            cseq = self.cseq,
        );
        for r in &self.route_set {
            s.push_str(&format!("Route: {r}\r\n"));
        }
        if self.kind == Kind::List {
            s.push_str("Require: eventlist\r\n");
        }
        let mut out = match body {
            Some((ctype, bytes)) => {
                s.push_str(&format!(
                    "Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
                    bytes.len()
                ));
                let mut v = s.into_bytes();
                v.extend_from_slice(bytes);
                v
            }
            None => {
                s.push_str("Content-Length: 0\r\n\r\n");
                s.into_bytes()
            }
        };
        out.shrink_to_fit();
        out
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

    #[test]
    fn notifies_count_up_and_carry_the_dialog() {
        let mut s = sub();
        let a = String::from_utf8(s.next_notify(
            "SIP/2.0/UDP h;branch=z9hG4bK1",
            "sip:herald@h",
            Ending::Continues(600),
            Some(("application/pidf+xml", b"<x/>")),
        ))
        .unwrap();
        let b = String::from_utf8(s.next_notify(
            "SIP/2.0/UDP h;branch=z9hG4bK2",
            "sip:herald@h",
            Ending::Terminated("timeout"),
            None,
        ))
        .unwrap();
        assert!(a.starts_with("NOTIFY sip:bob@192.0.2.7:5062 SIP/2.0\r\n"));
        assert!(a.contains("CSeq: 1 NOTIFY\r\n") && b.contains("CSeq: 2 NOTIFY\r\n"));
        assert!(a.contains("From: <sip:alice@example.com>;tag=ours\r\n"));
        assert!(a.contains("To: <sip:bob@example.com>;tag=theirs\r\n"));
        assert!(a.contains("Event: presence;id=7\r\n"));
        assert!(a.contains("Route: <sip:p1.example.net;lr>\r\n"));
        assert!(a.contains("Subscription-State: active;expires=600\r\n"));
        assert!(a.ends_with("Content-Length: 4\r\n\r\n<x/>"));
        assert!(b.contains("Subscription-State: terminated;reason=timeout\r\n"));
        let parsed =
            herald_sip::parse_datagram(bytes::Bytes::from(a), &herald_sip::Limits::default());
        assert!(parsed.is_ok_and(|m| m.validate().is_ok()));
    }

    #[test]
    fn pending_subscriptions_say_so() {
        let mut s = sub();
        s.state = State::Pending;
        let n = String::from_utf8(s.next_notify(
            "SIP/2.0/UDP h;branch=z9hG4bK1",
            "sip:herald@h",
            Ending::Continues(30),
            None,
        ))
        .unwrap();
        assert!(n.contains("Subscription-State: pending;expires=30\r\n"));
    }
}
