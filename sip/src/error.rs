//! Parse and validation errors. Each error is a cheap value that says what was wrong and
//! carries enough to choose the SIP response (see [`ParseError::disposition`]).

use crate::limits::LimitKind;

/// What kind of message the error was found in, as far as the parser got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// The start line was a request line (or looked like one).
    Request,
    /// The start line was a status line.
    Response,
    /// The start line could not be classified.
    Unknown,
}

/// What a server should do with a message that failed to parse or validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Answer with this status code (if enough of the request is readable to answer at all).
    Respond(u16),
    /// Drop silently: a broken response, or something that is not SIP.
    Drop,
}

/// The specific problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("empty message")]
    Empty,
    #[error("message is not valid UTF-8 in its start line or headers")]
    NotUtf8,
    #[error("malformed start line")]
    StartLine,
    #[error("unsupported SIP version {0:?}")]
    Version(String),
    #[error("invalid method token")]
    Method,
    #[error("status code out of range 100..=699")]
    StatusCode,
    #[error("malformed Request-URI")]
    RequestUri,
    #[error("Request-URI must not carry headers (?...)")]
    RequestUriHeaders,
    #[error("no blank line ends the header section")]
    UnterminatedHead,
    #[error("malformed header line {0}")]
    HeaderLine(usize),
    #[error("malformed {0} header")]
    Header(&'static str),
    #[error("missing mandatory header {0}")]
    MissingHeader(&'static str),
    #[error("header {0} appears more than once")]
    DuplicateHeader(&'static str),
    #[error("CSeq method {cseq:?} does not match request method {method:?}")]
    CSeqMismatch {
        method: String,
        cseq: String,
        method_known: bool,
    },
    #[error("Content-Length is larger than the message body")]
    BodyTruncated,
    #[error("Content-Length missing on a stream transport")]
    NoContentLength,
    #[error("Via branch is the bare magic cookie")]
    BadBranch,
    #[error("{kind} limit of {max} exceeded")]
    Limit { kind: LimitKind, max: usize },
}

/// A parse or validation failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct ParseError {
    pub kind: ErrorKind,
    pub message: MessageKind,
}

impl ParseError {
    pub(crate) fn new(kind: ErrorKind, message: MessageKind) -> Self {
        Self { kind, message }
    }

    /// Bad header of the given (canonical) name.
    pub(crate) fn header(name: &'static str) -> Self {
        Self::new(ErrorKind::Header(name), MessageKind::Unknown)
    }

    pub(crate) fn in_message(mut self, message: MessageKind) -> Self {
        if self.message == MessageKind::Unknown {
            self.message = message;
        }
        self
    }

    /// What a server does with the message: the RFC's status for a request, drop for a
    /// response (RFC 3261 §18.1.2: malformed responses are discarded).
    pub fn disposition(&self) -> Disposition {
        if self.message == MessageKind::Response {
            return Disposition::Drop;
        }
        Disposition::Respond(self.status())
    }

    /// The status code a request with this error is answered with.
    pub fn status(&self) -> u16 {
        match &self.kind {
            ErrorKind::Version(_) => 505,
            ErrorKind::CSeqMismatch {
                method_known: false,
                ..
            } => 501,
            ErrorKind::Limit { kind, .. } => kind.status(),
            _ => 400,
        }
    }

    /// A short reason phrase naming the problem, for the response's status line.
    pub fn reason(&self) -> String {
        match &self.kind {
            ErrorKind::Version(_) => "Version Not Supported".to_owned(),
            ErrorKind::CSeqMismatch {
                method_known: false,
                ..
            } => "Not Implemented".to_owned(),
            kind => {
                let mut s = kind.to_string();
                if let Some(first) = s.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                s
            }
        }
    }
}

pub(crate) type Result<T, E = ParseError> = std::result::Result<T, E>;
