//! The pool's processes: `herald homeserver` (the engine on the shared PostgreSQL + Redis
//! store, serving `Home` over gRPC) and `herald frontend` (the SIP listeners, serving
//! `Edge` over gRPC, sending each message to its home server on the ring). Both announce
//! themselves in Redis (`members.rs`).

mod batch;
mod edges;
mod homes;
mod members;
mod run;

pub use run::{run_frontend, run_homeserver, NodeReady};
