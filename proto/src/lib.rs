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

#[cfg(test)]
mod tests;
