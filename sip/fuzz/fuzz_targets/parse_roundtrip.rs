//! parse → validate → serialize → parse: the re-parsed message equals the first and still
//! validates; every typed accessor runs on whatever parsed (errors are fine, panics not).
#![no_main]

use bytes::Bytes;
use herald_sip::{parse_datagram, HeaderName, Limits, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(msg) = parse_datagram(Bytes::copy_from_slice(data), &limits) else { return };
    touch_everything(&msg);
    if msg.validate().is_err() {
        return;
    }
    let bytes = msg.to_bytes();
    // Serializing may add a Content-Length line (a datagram may omit it), so the re-parse
    // allows one more header and its bytes; the property is the round trip, not the limits.
    let relaxed = Limits { max_headers: limits.max_headers + 1, max_message_size: limits.max_message_size + 32, ..limits };
    let again = parse_datagram(bytes.clone(), &relaxed)
        .unwrap_or_else(|e| panic!("re-parse failed: {e:?}\n{}", String::from_utf8_lossy(&bytes)));
    assert_eq!(msg, again, "round trip changed the message");
    again.validate().expect("re-parsed message no longer validates");
});

fn touch_everything(msg: &Message) {
    let h = msg.headers();
    let _ = h.vias();
    let _ = h.top_via().map(|v| (v.branch(), v.rport(), v.received()));
    let _ = h.from().map(|f| (f.tag(), f.display_name()));
    let _ = h.to().map(|t| t.uri.to_string());
    let _ = h.call_id();
    let _ = h.cseq();
    let _ = h.contact();
    let _ = h.max_forwards();
    let _ = h.expires();
    let _ = h.min_expires();
    let _ = h.content_type();
    let _ = h.accept();
    let _ = h.event();
    let _ = h.subscription_state().map(|s| s.map(|s| (s.expires(), s.reason())));
    let _ = h.sip_etag();
    let _ = h.sip_if_match();
    let _ = h.retry_after();
    let _ = h.date();
    let _ = h.addr_list(&HeaderName::Route, "Route");
    let _ = h.tokens(&HeaderName::Supported, "Supported");
    if let Message::Request(r) = msg {
        let _ = r.parse_uri().map(|u| u.to_string());
        let _ = herald_sip::dialog::DialogId::of_in_dialog_request(r);
    }
}
