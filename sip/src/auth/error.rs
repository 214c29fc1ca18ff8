//! Errors of digest parsing and verification; each message says what is wrong.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    #[error("authorization scheme {0:?} is not Digest")]
    UnsupportedScheme(String),
    #[error("malformed authorization header near byte {0}")]
    Syntax(usize),
    #[error("parameter {0} appears twice")]
    DuplicateParam(String),
    #[error("required parameter {0} is missing")]
    MissingParam(&'static str),
    #[error("unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    #[error("unsupported qop {0:?}")]
    UnsupportedQop(String),
    #[error("nc must be 8 hex digits, got {0:?}")]
    BadNonceCount(String),
    #[error("qop=auth needs both cnonce and nc")]
    QopWithoutCnonce,
}
