//! %-escaping (RFC 3261 §19.1.2, §19.1.4): an escaped octet equals the octet itself, but
//! decoding is not recursive (`value%41` is `valueA`, `%2541` is `%41`).

use std::borrow::Cow;

/// Decodes `%HH` escapes once. Invalid escapes are kept literally. Decoded octets that are
/// not UTF-8 are replaced (the comparison function below works on bytes instead).
pub fn pct_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    match String::from_utf8(decode_bytes(s)) {
        Ok(v) => Cow::Owned(v),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Compares two escaped strings octet by octet after decoding.
pub fn pct_eq(a: &str, b: &str) -> bool {
    if !a.contains('%') && !b.contains('%') {
        return a == b;
    }
    decode_bytes(a) == decode_bytes(b)
}

/// Like [`pct_eq`] but ASCII case-insensitive (for parameters whose values compare so).
pub(crate) fn pct_eq_ignore_case(a: &str, b: &str) -> bool {
    decode_bytes(a).eq_ignore_ascii_case(&decode_bytes(b))
}

fn decode_bytes(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_equivalent_but_not_recursive() {
        assert!(pct_eq("sips%3Auser%40example.com", "sips:user@example.com"));
        assert!(pct_eq("value%41", "valueA"));
        assert!(!pct_eq("value%2541", "valueA"));
        assert_eq!(pct_decode("%00null"), "\0null");
        assert_eq!(pct_decode("bad%4"), "bad%4");
    }
}
