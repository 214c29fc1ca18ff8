//! Limits that protect a server from oversized input. Every one is configurable, and the
//! error names the limit that was hit.

use std::fmt;

/// Size limits applied while framing and parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Whole message (start line + headers + body), in bytes.
    pub max_message_size: usize,
    /// Number of header lines (after unfolding).
    pub max_headers: usize,
    /// One header line (name, colon and value, folding included), in bytes.
    pub max_header_line: usize,
    /// A Request-URI, in bytes.
    pub max_uri_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 64 * 1024,
            max_headers: 128,
            max_header_line: 8 * 1024,
            max_uri_len: 2 * 1024,
        }
    }
}

/// Which limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    MessageSize,
    HeaderCount,
    HeaderLine,
    UriLength,
}

impl LimitKind {
    /// The status a request that exceeds this limit is answered with.
    pub fn status(self) -> u16 {
        match self {
            LimitKind::MessageSize => 513,
            LimitKind::HeaderCount | LimitKind::HeaderLine => 400,
            LimitKind::UriLength => 414,
        }
    }
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimitKind::MessageSize => "max_message_size",
            LimitKind::HeaderCount => "max_headers",
            LimitKind::HeaderLine => "max_header_line",
            LimitKind::UriLength => "max_uri_len",
        })
    }
}
