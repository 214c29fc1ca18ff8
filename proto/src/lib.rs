//! # herald-proto
//!
//! The gRPC contract between front ends and home servers (`proto/herald.proto`), generated
//! at build time. The single-process edition calls the generated `home_server::Home` and
//! `edge_server::Edge` traits in-process; the pool serves and calls them over tonic.

/// Version 1 of the contract (generated code: lints are the generator's business).
#[allow(
    clippy::all,
    clippy::unwrap_used,
    clippy::expect_used,
    rust_2018_idioms
)]
pub mod v1 {
    tonic::include_proto!("herald.v1");
}

impl v1::Transport {
    /// The transport's name as operators write it: udp, tcp, tls, ws, wss.
    pub fn short_name(self) -> &'static str {
        match self {
            v1::Transport::Udp => "udp",
            v1::Transport::Tcp => "tcp",
            v1::Transport::Tls => "tls",
            v1::Transport::Ws => "ws",
            v1::Transport::Wss => "wss",
            v1::Transport::Unspecified => "?",
        }
    }

    /// [`short_name`](Self::short_name) of a transport as carried in a message.
    pub fn name_of(value: i32) -> &'static str {
        v1::Transport::try_from(value).map_or("?", v1::Transport::short_name)
    }
}

/// `Edge::send_batch` done as `Edge::send` on each message, in order: for an edge with no
/// cheaper way to take a batch (the front end's flow table, tests).
pub async fn send_each<E: v1::edge_server::Edge + ?Sized>(
    edge: &E,
    batch: v1::OutboundBatch,
) -> v1::SentBatch {
    let mut failures = Vec::new();
    for (index, out) in batch.messages.into_iter().enumerate() {
        if let Err(s) = edge.send(tonic::Request::new(out)).await {
            failures.push(failure(index, &s));
        }
    }
    v1::SentBatch { failures }
}

/// `Home::handle_batch` done as `handle_request` / `handle_response` on each message, in
/// order.
pub async fn handle_each<H: v1::home_server::Home + ?Sized>(
    home: &H,
    batch: v1::InboundBatch,
) -> v1::AcceptedBatch {
    let mut refused = Vec::new();
    for (index, m) in batch.messages.into_iter().enumerate() {
        let inbound = tonic::Request::new(m.inbound.unwrap_or_default());
        let r = if m.response {
            home.handle_response(inbound).await
        } else {
            home.handle_request(inbound).await
        };
        if let Err(s) = r {
            refused.push(failure(index, &s));
        }
    }
    v1::AcceptedBatch { refused }
}

/// The failure of a batch's message `index`.
pub fn failure(index: usize, status: &tonic::Status) -> v1::BatchFailure {
    v1::BatchFailure {
        index: u32::try_from(index).unwrap_or(u32::MAX),
        code: status.code() as i32,
        message: status.message().to_owned(),
    }
}

#[cfg(test)]
mod tests;
