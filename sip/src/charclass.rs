//! Character classes of the SIP grammar (RFC 3261 §25.1) as one 256-entry table, so each
//! test in a hot loop is a load and a mask instead of a chain of comparisons.

pub(crate) const TOKEN: u8 = 1;
pub(crate) const UNRESERVED: u8 = 2;
pub(crate) const USER: u8 = 4;
pub(crate) const PASSWORD: u8 = 8;
pub(crate) const PARAM: u8 = 16;
pub(crate) const URI_HEADER: u8 = 32;
pub(crate) const URIC: u8 = 64;

const fn any(c: u8, set: &[u8]) -> bool {
    let mut i = 0;
    while i < set.len() {
        if set[i] == c {
            return true;
        }
        i += 1;
    }
    false
}

const fn classes(c: u8) -> u8 {
    let alnum = c.is_ascii_alphanumeric();
    let unreserved = alnum || any(c, b"-_.!~*'()");
    let mut m = 0;
    if alnum || any(c, b"-.!%*_+`'~") {
        m |= TOKEN;
    }
    if unreserved {
        m |= UNRESERVED;
    }
    if unreserved || any(c, b"%&=+$,;?/") {
        m |= USER;
    }
    if unreserved || any(c, b"%&=+$,") {
        m |= PASSWORD;
    }
    if unreserved || any(c, b"%[]/:&+$") {
        m |= PARAM;
    }
    if unreserved || any(c, b"%[]/?:+$=&") {
        m |= URI_HEADER;
    }
    if unreserved || any(c, b"%;/?:@&=+$,") {
        m |= URIC;
    }
    m
}

static TABLE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = classes(i as u8);
        i += 1;
    }
    t
};

#[inline]
pub(crate) fn is(c: u8, class: u8) -> bool {
    TABLE[c as usize] & class != 0
}

#[inline]
pub(crate) fn all(s: &[u8], class: u8) -> bool {
    s.iter().all(|&c| is(c, class))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_match_the_grammar() {
        assert!(is(b'a', TOKEN) && is(b'~', TOKEN) && !is(b'/', TOKEN) && !is(b'"', TOKEN));
        assert!(is(b';', USER) && is(b'?', USER) && !is(b'@', USER) && !is(b':', USER));
        assert!(is(b'$', PASSWORD) && !is(b';', PASSWORD));
        assert!(is(b':', PARAM) && is(b'[', PARAM) && !is(b';', PARAM) && !is(b'=', PARAM));
        assert!(is(b'=', URI_HEADER) && !is(b';', URI_HEADER));
        assert!(is(b'@', URIC) && !is(b' ', URIC) && !is(0x80, URIC));
        assert!(!is(0, TOKEN) && !is(0xff, UNRESERVED));
    }
}
