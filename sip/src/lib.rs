//! # herald-sip
//!
//! Herald's SIP core, free of I/O: the message model, a zero-copy parser and serializer,
//! a stream framer, URIs, digest authentication and the transaction state machines.
//! Nothing here opens sockets, spawns tasks or reads a clock: time comes in as arguments
//! and work to do comes out of `poll_*` methods, so the front end, the home server and the
//! tests all drive the same code.

pub mod auth;
mod bytestr;
mod charclass;
pub mod dialog;
pub mod error;
pub mod framer;
pub mod header;
pub mod limits;
pub mod message;
pub mod method;
pub mod name_addr;
pub mod params;
pub mod parse;
pub mod reject;
mod scan;
mod serialize;
pub mod status;
pub mod text;
pub mod transactions;
pub mod uri;
mod validate;

pub use bytestr::ByteStr;
pub use error::{Disposition, ErrorKind, MessageKind, ParseError};
pub use framer::{Frame, StreamFramer};
pub use header::{Header, HeaderName, Headers};
pub use limits::{LimitKind, Limits};
pub use message::{Message, Request, Response};
pub use method::Method;
pub use name_addr::NameAddr;
pub use parse::{parse, parse_datagram, Transport};
pub use reject::error_response;
pub use scan::unquote;
pub use status::StatusCode;
pub use uri::{Host, SipUri, Uri};
