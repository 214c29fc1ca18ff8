//! Presence (the presence issue builds on this): presence documents, the composition
//! policy and the PUBLISH rules so far, not wired; SUBSCRIBE/NOTIFY come next.

pub mod compose;
pub mod pidf;
pub mod publish;
pub mod subscription;
