//! A node of the pool: its name and where its gRPC service listens.

use std::net::SocketAddr;

use super::{err, ConfigError, File, Settings};

#[derive(Debug, Clone)]
pub struct Node {
    /// Unique in the pool: names the home server in branches and the front end in flows.
    pub id: String,
    /// Where the node's gRPC service (Home or Edge) listens.
    pub grpc: SocketAddr,
    /// The address other nodes reach it at (default: `grpc`).
    pub grpc_advertise: Option<String>,
}

pub(super) fn load(s: &Settings<'_>, f: &File) -> Result<Node, ConfigError> {
    let id = s
        .string("node_id", f.node_id.clone())
        .unwrap_or_else(|| "node-1".into());
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(err(
            &Settings::label("node_id"),
            format!("{id:?}: letters, digits, '-' and '_' only"),
        ));
    }
    let grpc = s
        .addr("grpc", f.grpc.clone(), "0.0.0.0:7070")?
        .ok_or_else(|| {
            err(
                &Settings::label("grpc"),
                "a pool node needs its gRPC listener",
            )
        })?;
    Ok(Node {
        id,
        grpc,
        grpc_advertise: s.string("grpc_advertise", f.grpc_advertise.clone()),
    })
}
