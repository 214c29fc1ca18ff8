//! `ByteStr`: a cheaply clonable, immutable UTF-8 string that shares the message buffer.
//! Slicing a parsed message into headers costs a reference-count bump, not a copy.
#![allow(unsafe_code)]

use std::{fmt, hash, ops::Deref};

use bytes::Bytes;

/// UTF-8 text backed by [`Bytes`]. The invariant (valid UTF-8) is established by every
/// constructor, which is what makes `as_str` sound.
#[derive(Clone, Default)]
pub struct ByteStr(Bytes);

impl ByteStr {
    pub const fn from_static(s: &'static str) -> Self {
        ByteStr(Bytes::from_static(s.as_bytes()))
    }

    /// Shares `sub`, which must point into `parent`'s memory, without copying.
    pub fn slice_ref(parent: &Bytes, sub: &str) -> Self {
        ByteStr(parent.slice_ref(sub.as_bytes()))
    }

    /// Shares `parent[start..end]` without copying or re-validating. The range must be
    /// UTF-8 before the value is read or leaves the caller: the parser cuts values only at
    /// ASCII delimiters, checks the whole head once, and drops everything if that fails.
    pub(crate) fn from_validated(parent: &Bytes, start: usize, end: usize) -> Self {
        ByteStr(parent.slice(start..end))
    }

    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor takes either a `&str`/`String` or a sub-slice of one.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }
}

impl From<String> for ByteStr {
    fn from(s: String) -> Self {
        ByteStr(Bytes::from(s))
    }
}

impl From<&'static str> for ByteStr {
    fn from(s: &'static str) -> Self {
        ByteStr::from_static(s)
    }
}

impl Deref for ByteStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for ByteStr {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for ByteStr {}

impl PartialEq<str> for ByteStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl hash::Hash for ByteStr {
    fn hash<H: hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
