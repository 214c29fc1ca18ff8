//! Every input a fuzz target ever crashed on (sip/fuzz/regressions/<target>-<name>) is
//! replayed here through the same property, so a fixed crash stays fixed without cargo-fuzz.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{fs, path::PathBuf};

use bytes::Bytes;
use herald_sip::{auth::Challenge, parse_datagram, Frame, Limits, StreamFramer, Uri};

#[test]
fn replay_fuzz_regressions() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut replayed = 0;
    for entry in fs::read_dir(&dir).expect("regressions dir") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = fs::read(&path).unwrap();
        if name.starts_with("parse_roundtrip-") {
            if let Ok(m) = parse_datagram(Bytes::from(data), &Limits::default()) {
                if m.validate().is_ok() {
                    // Serializing may add Content-Length: one more header, a few more bytes.
                    let d = Limits::default();
                    let relaxed = Limits {
                        max_headers: d.max_headers + 1,
                        max_message_size: d.max_message_size + 32,
                        ..d
                    };
                    let again = parse_datagram(m.to_bytes(), &relaxed).expect(&name);
                    assert_eq!(m, again, "{name}");
                }
            }
        } else if name.starts_with("framer-") {
            let mut f = StreamFramer::new(Limits::default());
            f.push(&data);
            while let Ok(Some(frame)) = f.next_frame() {
                let _ = matches!(frame, Frame::Message(_));
            }
        } else if name.starts_with("uri-") {
            if let Ok(u) = Uri::parse(&String::from_utf8_lossy(&data)) {
                assert!(u.equivalent(&u), "{name}");
                let printed = u.to_string();
                assert!(u.equivalent(&Uri::parse(&printed).expect(&name)), "{name}");
            }
        } else if name.starts_with("digest_header-") {
            if let Ok(ch) = Challenge::parse(&String::from_utf8_lossy(&data)) {
                assert_eq!(
                    Challenge::parse(&ch.to_string()).as_ref(),
                    Ok(&ch),
                    "{name}"
                );
            }
        } else {
            continue;
        }
        replayed += 1;
    }
    assert!(
        replayed >= 1,
        "no regression inputs found in {}",
        dir.display()
    );
}
