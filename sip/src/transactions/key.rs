//! Matching messages to transactions: RFC 3261 §17.1.3 (responses to client transactions)
//! and §17.2.3 (requests to server transactions). Only RFC 3261 branches (magic cookie) are
//! matched; RFC 2543 matching (§17.2.3, second half) is not implemented, so such requests
//! are handled statelessly by the caller.

use crate::{
    header::MAGIC_COOKIE,
    message::{Request, Response},
    method::Method,
};

/// Key of a client transaction: the branch it put in its Via and the CSeq method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub branch: String,
    pub method: String,
}

/// Key of a server transaction: branch, sent-by of the top Via, and method (ACK counts as
/// INVITE so it reaches the INVITE transaction; CANCEL has its own) — and, stricter than
/// §17.2.3, the Call-ID: a true retransmission always repeats it, so a different request
/// that reuses a branch (a buggy client, or the RFC 4475 messages, several of which share
/// `z9hG4bKkdjuw`) becomes its own transaction instead of being swallowed as a
/// retransmission of another client's request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerKey {
    pub branch: String,
    pub sent_by: String,
    pub method: String,
    pub call_id: String,
}

pub(crate) fn client_key_of_request(req: &Request) -> Option<ClientKey> {
    let via = req.headers.top_via().ok()?;
    let branch = via
        .branch()
        .filter(|b| b.starts_with(MAGIC_COOKIE) && b.len() > MAGIC_COOKIE.len())?;
    Some(ClientKey {
        branch: branch.to_owned(),
        method: req.method.as_str().to_owned(),
    })
}

pub(crate) fn client_key_of_response(resp: &Response) -> Option<ClientKey> {
    let via = resp.headers.top_via().ok()?;
    let cseq = resp.headers.cseq().ok()?;
    let branch = via.branch()?;
    // A response to our ACK does not exist; an ACK's CSeq method never names a transaction.
    Some(ClientKey {
        branch: branch.to_owned(),
        method: cseq.method.to_owned(),
    })
}

pub(crate) fn server_key(req: &Request) -> Option<ServerKey> {
    let via = req.headers.top_via().ok()?;
    let branch = via
        .branch()
        .filter(|b| b.starts_with(MAGIC_COOKIE) && b.len() > MAGIC_COOKIE.len())?;
    let sent_by = match via.port {
        Some(p) => format!("{}:{p}", via.host).to_ascii_lowercase(),
        None => via.host.to_string().to_ascii_lowercase(),
    };
    let method = match req.method {
        Method::Ack => "INVITE".to_owned(),
        ref m => m.as_str().to_owned(),
    };
    Some(ServerKey {
        branch: branch.to_owned(),
        sent_by,
        method,
        call_id: req.headers.call_id().ok()?.to_owned(),
    })
}
