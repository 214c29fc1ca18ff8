//! Matching messages to transactions: RFC 3261 §17.1.3 (responses to client transactions)
//! and §17.2.3 (requests to server transactions). Only RFC 3261 branches (magic cookie) are
//! matched; RFC 2543 matching (§17.2.3, second half) is not implemented, so such requests
//! are handled statelessly by the caller.

use std::sync::Arc;

use crate::{
    header::MAGIC_COOKIE,
    message::{Request, Response},
    method::Method,
};

/// Key of a client transaction: the branch it put in its Via and the CSeq method, packed
/// into one shared string (built once per transaction, cloned by reference count).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey(Arc<str>);

/// Key of a server transaction: branch, sent-by of the top Via, and method (ACK counts as
/// INVITE so it reaches the INVITE transaction; CANCEL has its own) — and, stricter than
/// §17.2.3, the Call-ID: a true retransmission always repeats it, so a different request
/// that reuses a branch (a buggy client, or the RFC 4475 messages, several of which share
/// `z9hG4bKkdjuw`) becomes its own transaction instead of being swallowed as a
/// retransmission of another client's request. The parts are packed into one shared
/// string, separated by a byte no token or host may hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerKey(Arc<str>);

/// Separates the parts of a packed key (a NUL cannot appear in a parsed header).
const SEP: char = '\0';

impl ServerKey {
    /// The key of the INVITE transaction a CANCEL with this key refers to (§9.2).
    pub(crate) fn as_invite(&self) -> ServerKey {
        let rest = self.0.split_once(SEP).map_or("", |(_, r)| r);
        ServerKey(pack(&["INVITE", rest]))
    }
}

fn pack(parts: &[&str]) -> Arc<str> {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push(SEP);
        }
        s.push_str(p);
    }
    Arc::from(s)
}

pub(crate) fn client_key_of_request(req: &Request) -> Option<ClientKey> {
    let via = req.headers.top_via().ok()?;
    let branch = via
        .branch()
        .filter(|b| b.starts_with(MAGIC_COOKIE) && b.len() > MAGIC_COOKIE.len())?;
    Some(ClientKey(pack(&[req.method.as_str(), branch])))
}

pub(crate) fn client_key_of_response(resp: &Response) -> Option<ClientKey> {
    let via = resp.headers.top_via().ok()?;
    let cseq = resp.headers.cseq().ok()?;
    let branch = via.branch()?;
    // A response to our ACK does not exist; an ACK's CSeq method never names a transaction.
    Some(ClientKey(pack(&[cseq.method, branch])))
}

pub(crate) fn server_key(req: &Request) -> Option<ServerKey> {
    let mut s = String::new();
    write_server_key(req, &mut s).then(|| ServerKey(Arc::from(s)))
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
