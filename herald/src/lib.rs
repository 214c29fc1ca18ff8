//! # herald
//!
//! The all-in-one binary's library: configuration, the embedded server wiring and the
//! user administration commands. `main.rs` only parses arguments and calls in here.

pub mod admin;
pub mod config;
pub mod http;
pub mod pool;
pub mod server;
pub mod store;
pub mod users;
