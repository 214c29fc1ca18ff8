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

#[cfg(test)]
mod tests;
