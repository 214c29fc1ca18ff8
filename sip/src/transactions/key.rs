//! Matching messages to transactions: RFC 3261 §17.1.3 (responses to client transactions)
//! and §17.2.3 (requests to server transactions). Only RFC 3261 branches (magic cookie) are
//! matched; RFC 2543 matching (§17.2.3, second half) is not implemented, so such requests
//! are handled statelessly by the caller.

use std::hash::{BuildHasher, Hasher};

use siphasher::sip128::{Hasher128, SipHasher13};

use crate::{
    header::MAGIC_COOKIE,
    message::{Request, Response},
    method::Method,
};

/// Key of a client transaction: the branch it put in its Via and the CSeq method, as a
/// fingerprint ([`Keys`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(u128);

/// Key of a server transaction: branch, sent-by of the top Via, and method (ACK counts as
/// INVITE so it reaches the INVITE transaction; CANCEL has its own) — and, stricter than
/// §17.2.3, the Call-ID: a true retransmission always repeats it, so a different request
/// that reuses a branch (a buggy client, or the RFC 4475 messages, several of which share
/// `z9hG4bKkdjuw`) becomes its own transaction instead of being swallowed as a
/// retransmission of another client's request. A fingerprint of the text
/// [`write_server_key`] writes ([`Keys`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerKey(u128);

/// Separates the parts of a key's text (a NUL cannot appear in a parsed header).
const SEP: char = '\0';

/// Turns what a transaction is matched by into its key: a 128-bit SipHash-1-3 of the
/// parts under a secret drawn per layer. Under load most transactions held are completed
/// ones waiting out Timer J (32 s over UDP: ~400,000 at 12,000 MESSAGE/s); a fixed-size
/// key sits in the table's row instead of a text of its own on the heap, so matching,
/// growing the table and expiring touch no second cache line and free nothing. Nobody
/// without the secret can make two requests' keys collide, and by chance two of a
/// million keys collide with odds of about 2^-88.
#[derive(Debug)]
pub(crate) struct Keys {
    secret: (u64, u64),
    /// A server key's text, in a buffer kept between requests.
    text: String,
}

impl Keys {
    pub fn new() -> Keys {
        // std's RandomState is seeded from the operating system; its hashes of constants
        // are as unpredictable as its seed.
        let seed = std::hash::RandomState::new();
        Keys {
            secret: (seed.hash_one(1u8), seed.hash_one(2u8)),
            text: String::new(),
        }
    }

    fn hash(&self, parts: &[&[u8]]) -> u128 {
        let mut h = SipHasher13::new_with_keys(self.secret.0, self.secret.1);
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                h.write(&[SEP as u8]);
            }
            h.write(p);
        }
        h.finish128().as_u128()
    }

    pub fn client_of_request(&self, req: &Request) -> Option<ClientKey> {
        let via = req.headers.top_via().ok()?;
        let branch = via
            .branch()
            .filter(|b| b.starts_with(MAGIC_COOKIE) && b.len() > MAGIC_COOKIE.len())?;
        Some(ClientKey(
            self.hash(&[req.method.as_str().as_bytes(), branch.as_bytes()]),
        ))
    }

    pub fn client_of_response(&self, resp: &Response) -> Option<ClientKey> {
        let via = resp.headers.top_via().ok()?;
        let cseq = resp.headers.cseq().ok()?;
        let branch = via.branch()?;
        // A response to our ACK does not exist; an ACK's CSeq method never names a
        // transaction.
        Some(ClientKey(
            self.hash(&[cseq.method.as_bytes(), branch.as_bytes()]),
        ))
    }

    pub fn server(&mut self, req: &Request) -> Option<ServerKey> {
        let mut text = std::mem::take(&mut self.text);
        let key =
            write_server_key(req, &mut text).then(|| ServerKey(self.hash(&[text.as_bytes()])));
        self.text = text;
        key
    }

    /// The key of the INVITE transaction a CANCEL refers to (§9.2): the CANCEL's own, with
    /// INVITE for its method.
    pub fn invite_of_cancel(&self, cancel: &Request) -> Option<ServerKey> {
        let mut text = String::new();
        if !write_server_key(cancel, &mut text) {
            return None;
        }
        let rest = text.split_once(SEP).map_or("", |(_, r)| r);
        Some(ServerKey(self.hash(&[b"INVITE", rest.as_bytes()])))
    }
}

/// Writes into `out` (cleared first) what a request's server transaction is matched by
/// (its [`ServerKey`]'s text: method, branch, lower-case sent-by, Call-ID); false, with
/// `out` unspecified, without an RFC 3261 branch or a Call-ID. For callers that match
/// requests without a transaction (a stateless registrar's retransmissions) by the same
/// rule, into a buffer they reuse.
pub fn write_server_key(req: &Request, out: &mut String) -> bool {
    out.clear();
    let Ok(via) = req.headers.top_via() else {
        return false;
    };
    let Some(branch) = via
        .branch()
        .filter(|b| b.starts_with(MAGIC_COOKIE) && b.len() > MAGIC_COOKIE.len())
    else {
        return false;
    };
    let method = match req.method {
        Method::Ack => "INVITE",
        ref m => m.as_str(),
    };
    let Ok(call_id) = req.headers.call_id() else {
        return false;
    };
    out.reserve(method.len() + branch.len() + call_id.len() + 40);
    out.push_str(method);
    out.push(SEP);
    out.push_str(branch);
    out.push(SEP);
    let sent_by = out.len();
    via.host.push_to(out);
    if let Some(p) = via.port {
        out.push(':');
        crate::text::push_decimal(out, u32::from(p));
    }
    out[sent_by..].make_ascii_lowercase();
    out.push(SEP);
    out.push_str(call_id);
    true
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::{parse_datagram, Limits, Message, StatusCode};

    fn req(method: &str, sent_by: &str, branch: &str, call_id: &str) -> Request {
        let raw = format!(
            "{method} sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP {sent_by};branch={branch}\r\n\
             From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        match parse_datagram(Bytes::from(raw), &Limits::default()) {
            Ok(Message::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn server_keys_match_what_section_17_2_3_matches_and_nothing_else() {
        let mut keys = Keys::new();
        let mut key = |r: Request| keys.server(&r).expect("key");
        let base = key(req("MESSAGE", "h.example.com:5060", "z9hG4bK1", "c1"));
        // A retransmission, sent-by spelled in other case: the same transaction.
        assert_eq!(
            base,
            key(req("MESSAGE", "H.Example.COM:5060", "z9hG4bK1", "c1"))
        );
        // Any one part different: another transaction.
        for other in [
            req("OPTIONS", "h.example.com:5060", "z9hG4bK1", "c1"),
            req("MESSAGE", "h.example.com:5061", "z9hG4bK1", "c1"),
            req("MESSAGE", "h.example.com:5060", "z9hG4bK2", "c1"),
            req("MESSAGE", "h.example.com:5060", "z9hG4bK1", "c2"),
        ] {
            assert_ne!(base, key(other));
        }
        // ACK reaches its INVITE; a CANCEL has its own key and names the INVITE's.
        let invite = key(req("INVITE", "h", "z9hG4bK7", "c7"));
        assert_eq!(invite, key(req("ACK", "h", "z9hG4bK7", "c7")));
        let cancel = req("CANCEL", "h", "z9hG4bK7", "c7");
        assert_ne!(invite, key(cancel.clone()));
        assert_eq!(keys.invite_of_cancel(&cancel), Some(invite));
        // No RFC 3261 branch: not matchable.
        assert_eq!(keys.server(&req("MESSAGE", "h", "1234", "c1")), None);
    }

    #[test]
    fn a_response_finds_its_client_key_and_layers_keep_their_own_secret() {
        let keys = Keys::new();
        let r = req("MESSAGE", "h", "z9hG4bKx", "c1");
        let resp = Response::to_request(&r, StatusCode::OK);
        assert_eq!(keys.client_of_request(&r), keys.client_of_response(&resp));
        let options = req("OPTIONS", "h", "z9hG4bKx", "c1");
        assert_ne!(keys.client_of_request(&r), keys.client_of_request(&options));
        // Another layer's fingerprints of the same request differ: they are secret.
        assert_ne!(
            Keys::new().client_of_request(&r),
            keys.client_of_request(&r)
        );
    }
}
