//! # herald-homeserver
//!
//! The home server role: owns users. Registrar with digest auth, MESSAGE routing (fork,
//! offline store, archive), stateful proxying of calls, all driven by the sans-IO
//! transaction layer of `herald-sip`. It implements the generated `Home` service trait of
//! `herald-proto` and sends every SIP message through an `Edge`, so the same code runs
//! in-process (embedded edition) and over gRPC (pool).

pub mod auth;
pub mod bans;
pub mod config;
mod core;
pub mod flow;
pub mod lease;
pub mod presence;
pub mod registrar;
pub mod reply;
pub mod store;
pub mod via;
pub mod xcap;

pub use crate::{
    core::{EngineGone, HomeServer, Notice, NoticeResult, Ownership, Owns},
    lease::Lease,
};
