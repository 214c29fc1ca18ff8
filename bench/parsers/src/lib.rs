//! The same work done by each SIP crate: parse a message and obtain typed Via (top), From,
//! To, Call-ID, CSeq and Contact; serialize it back. Each function returns what it read so
//! the tests can check that no crate is measured on an error path.

use bytes::Bytes;

/// The benchmark messages: (name, bytes).
pub fn messages() -> Vec<(&'static str, Bytes)> {
    vec![
        ("register", Bytes::from_static(include_bytes!("../messages/register.sip"))),
        ("invite_sdp", Bytes::from_static(include_bytes!("../messages/invite.sip"))),
        ("notify_pidf", Bytes::from_static(include_bytes!("../messages/notify.sip"))),
    ]
}

/// What a full parse yields, for checking: (Call-ID, CSeq number, From tag, Contact present).
pub type Seen = (String, u32, Option<String>, bool);

pub mod herald {
    use bytes::Bytes;
    use herald_sip::{header::Contact, parse_datagram, Limits, Message};

    pub fn parse_only(b: &Bytes) -> Message {
        parse_datagram(b.clone(), &Limits::default()).expect("herald parse")
    }

    /// Parse + typed access; returns the message (for serializing) and a checksum of work.
    pub fn parse_typed(b: &Bytes) -> (Message, usize) {
        let m = parse_only(b);
        let h = m.headers();
        let via = h.top_via().expect("via");
        let from = h.from().expect("from");
        let to = h.to().expect("to");
        let call_id = h.call_id().expect("call-id");
        let cseq = h.cseq().expect("cseq");
        let contact = match h.contact().expect("contact") {
            Some(Contact::Addrs(a)) => a.len(),
            _ => 0,
        };
        let work = via.branch().map_or(0, str::len)
            + from.tag().map_or(0, str::len)
            + to.uri_raw.len()
            + call_id.len()
            + cseq.seq as usize
            + contact;
        (m, work)
    }

    pub fn seen(b: &Bytes) -> super::Seen {
        let (m, _) = parse_typed(b);
        let h = m.headers();
        (
            h.call_id().expect("call-id").to_owned(),
            h.cseq().expect("cseq").seq,
            h.from().expect("from").tag().map(str::to_owned),
            matches!(h.contact(), Ok(Some(Contact::Addrs(_)))),
        )
    }

    pub fn serialize(m: &Message) -> Bytes {
        m.to_bytes()
    }
}

pub mod sipx {
    use bytes::Bytes;
    use sipx_sip::{
        headers::{CSeq, CallId, ContactValue, From, To, Via},
        parse_datagram, Limits, Message,
    };

    pub fn parse_only(b: &Bytes) -> Message {
        parse_datagram(b.clone(), &Limits::default()).expect("sipx parse")
    }

    pub fn parse_typed(b: &Bytes) -> (Message, usize) {
        let m = parse_only(b);
        let h = m.headers();
        let via = h.typed::<Via>().expect("via present").expect("via");
        let from = h.typed::<From>().expect("from present").expect("from");
        let to = h.typed::<To>().expect("to present").expect("to");
        let call_id = h.typed::<CallId>().expect("call-id present").expect("call-id");
        let cseq = h.typed::<CSeq>().expect("cseq present").expect("cseq");
        let contact = h.typed::<ContactValue>().map_or(0, |c| usize::from(c.is_ok()));
        let work = std::hint::black_box((&via, &from, &to, &call_id, &cseq)).4.sequence as usize + contact;
        (m, work)
    }

    pub fn seen(b: &Bytes) -> super::Seen {
        let m = parse_only(b);
        let h = m.headers();
        let call_id = h.typed::<CallId>().expect("call-id present").expect("call-id");
        let cseq = h.typed::<CSeq>().expect("cseq present").expect("cseq");
        let from = h.typed::<From>().expect("from present").expect("from");
        let tag = from.tag().map(|t| String::from_utf8_lossy(t.as_ref()).into_owned());
        (
            String::from_utf8_lossy(call_id.0.as_ref()).into_owned(),
            cseq.sequence,
            tag,
            matches!(h.typed::<ContactValue>(), Some(Ok(ContactValue::Address(_)))),
        )
    }

    pub fn serialize(m: &Message) -> Bytes {
        m.to_bytes()
    }
}

pub mod rsip_crate {
    use bytes::Bytes;
    use rsip::{prelude::*, SipMessage};

    pub fn parse_only(b: &Bytes) -> SipMessage {
        SipMessage::try_from(b.clone()).expect("rsip parse")
    }

    pub fn parse_typed(b: &Bytes) -> (SipMessage, usize) {
        let m = parse_only(b);
        let via = m.via_header().expect("via").typed().expect("via typed");
        let from = m.from_header().expect("from").typed().expect("from typed");
        let to = m.to_header().expect("to").typed().expect("to typed");
        let call_id = m.call_id_header().expect("call-id").value().len();
        let cseq = m.cseq_header().expect("cseq").typed().expect("cseq typed");
        let contact = m.contact_header().map(|c| c.typed().is_ok()).unwrap_or(false);
        let work = std::hint::black_box((&via, &from, &to)).0.branch().is_some() as usize
            + call_id
            + cseq.seq as usize
            + contact as usize;
        (m, work)
    }

    pub fn seen(b: &Bytes) -> super::Seen {
        let m = parse_only(b);
        let from = m.from_header().expect("from").typed().expect("from typed");
        (
            m.call_id_header().expect("call-id").value().to_owned(),
            m.cseq_header().expect("cseq").typed().expect("cseq").seq,
            from.tag().map(|t| t.value().to_owned()),
            m.contact_header().map(|c| c.typed().is_ok()).unwrap_or(false),
        )
    }

    pub fn serialize(m: &SipMessage) -> Bytes {
        Bytes::from(m.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every crate reads the same Call-ID, CSeq, From tag and Contact from every message,
    /// so no crate is timed on an error path.
    #[test]
    fn all_crates_read_the_same_values() {
        for (name, b) in messages() {
            let h = herald::seen(&b);
            assert_eq!(sipx::seen(&b), h, "sipx-sip on {name}");
            // rsip reads the same Call-ID, CSeq and From tag, but cannot type a Contact whose
            // +sip.instance value is a quoted "<urn:uuid:...>" (as Linphone and baresip send
            // it): on register and invite its Contact step is an error path.
            let r = rsip_crate::seen(&b);
            assert_eq!((&r.0, r.1, &r.2), (&h.0, h.1, &h.2), "rsip on {name}");
            assert_eq!(r.3, name == "notify_pidf", "rsip Contact typing on {name}");
            assert!(h.3, "{name} has a Contact");
            // Serialized forms re-parse.
            let (m, _) = herald::parse_typed(&b);
            assert_eq!(herald::seen(&herald::serialize(&m)), h);
            let (m, _) = sipx::parse_typed(&b);
            assert_eq!(herald::seen(&sipx::serialize(&m)), h, "sipx-sip output of {name}");
            let (m, _) = rsip_crate::parse_typed(&b);
            assert_eq!(herald::seen(&rsip_crate::serialize(&m)), h, "rsip output of {name}");
        }
    }
}
