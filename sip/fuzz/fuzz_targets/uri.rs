//! URIs: whatever parses prints to text that parses to an equivalent URI, and equivalence
//! is reflexive.
#![no_main]

use herald_sip::Uri;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(uri) = Uri::parse(text) else { return };
    assert!(uri.equivalent(&uri), "not reflexive: {text:?}");
    let printed = uri.to_string();
    let again = Uri::parse(&printed).unwrap_or_else(|e| panic!("{printed:?} from {text:?} does not parse: {e}"));
    assert!(uri.equivalent(&again), "{text:?} printed as {printed:?} is not equivalent");
    if let Some(s) = uri.as_sip() {
        let aor = s.aor();
        assert!(aor.starts_with("sip:") || aor.starts_with("sips:"));
    }
});
