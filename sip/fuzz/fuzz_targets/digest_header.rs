//! Digest header values: credentials and challenges parse or fail cleanly; a challenge
//! that parses prints to text that parses back to the same challenge.
#![no_main]

use herald_sip::auth::{Challenge, Credentials};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(c) = Credentials::parse(text) {
        let _ = herald_sip::auth::expected_response(&c, "REGISTER", "00");
    }
    if let Ok(ch) = Challenge::parse(text) {
        let printed = ch.to_string();
        let again = Challenge::parse(&printed).unwrap_or_else(|e| panic!("{printed:?} does not parse: {e}"));
        assert_eq!(ch, again);
    }
});
