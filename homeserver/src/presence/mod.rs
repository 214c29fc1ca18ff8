//! Presence (the presence issue builds on this): presence documents and the composition
//! policy so far; PUBLISH and SUBSCRIBE/NOTIFY come next.

pub mod compose;
pub mod pidf;
