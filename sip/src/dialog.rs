//! Dialog identification (RFC 3261 §12): Call-ID plus local and remote tags, for INVITE
//! dialogs and SUBSCRIBE usages (RFC 6665 §4.1.2: the Event id is part of the usage).

use crate::{
    error::{ErrorKind, MessageKind, ParseError, Result},
    header::HeaderName,
    message::{Request, Response},
};

/// Identifies a dialog from one side's point of view.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

/// Identifies one subscription usage within a dialog (RFC 6665 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubscriptionId {
    pub dialog: DialogId,
    pub event: String,
    pub event_id: Option<String>,
}

impl DialogId {
    /// The UAS side of a dialog created by `req`, once the UAS chose `local_tag` (its To tag).
    pub fn uas(req: &Request, local_tag: &str) -> Result<DialogId> {
        let from = req.headers.from()?;
        Ok(DialogId {
            call_id: req.headers.call_id()?.to_owned(),
            local_tag: local_tag.to_owned(),
            remote_tag: from.tag().ok_or_else(|| missing_tag("From"))?.to_owned(),
        })
    }

    /// The UAC side, from a response that establishes the dialog.
    pub fn uac(resp: &Response) -> Result<DialogId> {
        let h = &resp.headers;
        Ok(DialogId {
            call_id: h.call_id()?.to_owned(),
            local_tag: h
                .from()?
                .tag()
                .ok_or_else(|| missing_tag("From"))?
                .to_owned(),
            remote_tag: h.to()?.tag().ok_or_else(|| missing_tag("To"))?.to_owned(),
        })
    }

    /// For a request received inside a dialog: local is the To tag, remote the From tag.
    /// `None` if the request carries no To tag (it is not in a dialog).
    pub fn of_in_dialog_request(req: &Request) -> Result<Option<DialogId>> {
        let to = req.headers.to()?;
        let Some(local) = to.tag() else {
            return Ok(None);
        };
        let from = req.headers.from()?;
        Ok(Some(DialogId {
            call_id: req.headers.call_id()?.to_owned(),
            local_tag: local.to_owned(),
            remote_tag: from.tag().ok_or_else(|| missing_tag("From"))?.to_owned(),
        }))
    }
}

impl SubscriptionId {
    /// The subscription a SUBSCRIBE or NOTIFY belongs to, given its dialog.
    pub fn new(dialog: DialogId, req: &Request) -> Result<SubscriptionId> {
        let event = req.headers.event()?.ok_or_else(|| {
            ParseError::new(ErrorKind::MissingHeader("Event"), MessageKind::Request)
        })?;
        Ok(SubscriptionId {
            dialog,
            event: event.package.to_ascii_lowercase(),
            event_id: event.id().map(str::to_owned),
        })
    }
}

fn missing_tag(which: &'static str) -> ParseError {
    ParseError::new(ErrorKind::Header(which), MessageKind::Unknown)
}

/// Whether a request has a To tag, i.e. claims to be inside a dialog.
pub fn is_in_dialog(req: &Request) -> bool {
    req.headers
        .get(&HeaderName::To)
        .and_then(crate::name_addr::NameAddr::parse)
        .is_some_and(|to| to.tag().is_some())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::{parse_datagram, Limits, Message, StatusCode};

    fn subscribe() -> Request {
        let raw = "SUBSCRIBE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
                   From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c1\r\n\
                   CSeq: 1 SUBSCRIBE\r\nEvent: Presence;id=9\r\nContent-Length: 0\r\n\r\n";
        match parse_datagram(Bytes::from_static(raw.as_bytes()), &Limits::default()) {
            Ok(Message::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn both_sides_agree() {
        let req = subscribe();
        assert!(!is_in_dialog(&req));
        let uas = DialogId::uas(&req, "b2").expect("uas");
        let mut resp = Response::to_request(&req, StatusCode::OK);
        resp.headers
            .set(HeaderName::To, "<sip:bob@example.com>;tag=b2");
        let uac = DialogId::uac(&resp).expect("uac");
        assert_eq!(
            (uas.local_tag.as_str(), uas.remote_tag.as_str()),
            (uac.remote_tag.as_str(), uac.local_tag.as_str())
        );
        let sub = SubscriptionId::new(uas, &req).expect("sub");
        assert_eq!(
            (sub.event.as_str(), sub.event_id.as_deref()),
            ("presence", Some("9"))
        );
    }

    #[test]
    fn response_without_to_tag_is_not_a_dialog() {
        let resp = Response::to_request(&subscribe(), StatusCode::OK);
        assert!(DialogId::uac(&resp).is_err());
    }
}
