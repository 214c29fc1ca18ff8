#![allow(clippy::unwrap_used, clippy::expect_used)]
//! RFC 4475 torture corpus: every valid message parses, validates, re-serializes and
//! re-parses to an equal message; every invalid one fails with a specific typed error that
//! selects the manifest's answer. The corpus is a copy of shared/conformance/rfc4475,
//! checked against the manifest's sha256 of each file.

use std::{collections::HashMap, fs, path::PathBuf};

use bytes::Bytes;
use herald_sip::{
    header::Contact, parse_datagram, Disposition, HeaderName, Limits, Message, ParseError, Uri,
};
use sha2::{Digest, Sha256};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/rfc4475")
}

struct Entry {
    file: String,
    valid: bool,
    sha256: String,
}

fn manifest() -> Vec<Entry> {
    let text = fs::read_to_string(corpus().join("manifest.tsv")).expect("manifest.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Entry {
                file: cols[0].to_owned(),
                valid: cols[2] == "valid",
                sha256: cols[5].trim().to_owned(),
            }
        })
        .collect()
}

/// The answer each invalid message must get, and the error that must select it.
fn expected_invalid() -> HashMap<&'static str, (Disposition, &'static str)> {
    use Disposition::{Drop, Respond};
    HashMap::from([
        ("badinv01", (Respond(400), "Header(\"Via\")")),
        ("clerr", (Respond(400), "BodyTruncated")),
        ("ncl", (Respond(400), "Header(\"Content-Length\")")),
        ("scalar02", (Respond(400), "Header(\"CSeq\")")),
        ("scalarlg", (Drop, "Header(\"CSeq\")")),
        ("quotbal", (Respond(400), "Header(\"To\")")),
        ("ltgtruri", (Respond(400), "RequestUri")),
        ("lwsruri", (Respond(400), "StartLine")),
        ("lwsstart", (Respond(400), "StartLine")),
        ("trws", (Respond(400), "StartLine")),
        ("escruri", (Respond(400), "RequestUriHeaders")),
        ("baddate", (Respond(400), "Header(\"Date\")")),
        ("regbadct", (Respond(400), "Header(\"Contact\")")),
        ("badaspec", (Respond(400), "Header(\"To\")")),
        ("baddn", (Respond(400), "Header(\"From\")")),
        ("badvers", (Respond(505), "Version(")),
        ("mismatch01", (Respond(400), "CSeqMismatch")),
        ("mismatch02", (Respond(501), "CSeqMismatch")),
        ("bigcode", (Drop, "StatusCode")),
        ("badbranch", (Respond(400), "BadBranch")),
        ("insuf", (Respond(400), "MissingHeader(")),
        ("multi01", (Respond(400), "DuplicateHeader(")),
        (
            "mcl01",
            (Respond(400), "DuplicateHeader(\"Content-Length\")"),
        ),
    ])
}

fn load(file: &str) -> Bytes {
    Bytes::from(fs::read(corpus().join(file)).expect("corpus file"))
}

fn parse_and_validate(raw: Bytes) -> Result<Message, ParseError> {
    let m = parse_datagram(raw, &Limits::default())?;
    m.validate()?;
    Ok(m)
}

#[test]
fn corpus_is_intact() {
    let entries = manifest();
    assert_eq!(entries.len(), 49);
    for e in &entries {
        let digest = hex(&Sha256::digest(load(&e.file)));
        assert_eq!(digest, e.sha256, "{} differs from the manifest", e.file);
    }
}

#[test]
fn all_49_messages_get_the_manifest_answer() {
    let expected = expected_invalid();
    let mut passed = 0;
    for e in manifest() {
        let name = e.file.trim_end_matches(".dat");
        let result = parse_and_validate(load(&e.file));
        if e.valid {
            let m = result.unwrap_or_else(|err| panic!("{name}: valid message rejected: {err:?}"));
            let bytes = m.to_bytes();
            let again = parse_and_validate(bytes.clone()).unwrap_or_else(|err| {
                panic!(
                    "{name}: re-serialized form rejected: {err:?}\n{}",
                    String::from_utf8_lossy(&bytes)
                )
            });
            assert_eq!(m, again, "{name}: round trip changed the message");
        } else {
            let (disposition, kind) = expected
                .get(name)
                .unwrap_or_else(|| panic!("{name}: no expectation"));
            let err = result
                .err()
                .unwrap_or_else(|| panic!("{name}: invalid message accepted"));
            assert_eq!(err.disposition(), *disposition, "{name}: {err:?}");
            assert!(
                format!("{:?}", err.kind).starts_with(kind),
                "{name}: expected {kind}, got {:?}",
                err.kind
            );
        }
        passed += 1;
    }
    assert_eq!(passed, 49);
}

fn request(name: &str) -> herald_sip::Request {
    match parse_and_validate(load(&format!("{name}.dat"))).expect(name) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("{name} is not a request"),
    }
}

#[test]
fn details_the_manifest_names() {
    // escnull: %00 in the user part is kept; the two contacts are distinct.
    let r = request("escnull");
    let Ok(Some(Contact::Addrs(c))) = r.headers.contact() else {
        panic!("contacts")
    };
    assert_eq!(c.len(), 2);
    assert!(!c[0].uri.equivalent(&c[1].uri));
    assert_eq!(
        c[0].uri.as_sip().map(|u| u.aor()),
        Some("sip:\0@host5.example.com".to_owned())
    );

    // semiuri: the user part of the Request-URI includes the semicolon.
    let r = request("semiuri");
    assert_eq!(
        r.parse_uri().expect("uri").as_sip().and_then(|u| u.user),
        Some("user;par=u%40example.net")
    );

    // dblreq: the REGISTER's empty body; the trailing INVITE is ignored.
    let r = request("dblreq");
    assert!(r.body.is_empty());
    assert!(!r.to_bytes().windows(6).any(|w| w == b"INVITE"));

    // inv2543: no Content-Length, so the body is the rest of the datagram.
    let r = request("inv2543");
    assert!(r.body.starts_with(b"v=0"));
    assert!(!r.headers.contains(&HeaderName::ContentLength));

    // mpart01: binary body framed by Content-Length.
    let r = request("mpart01");
    let cl: usize = r
        .headers
        .get(&HeaderName::ContentLength)
        .expect("l")
        .trim()
        .parse()
        .expect("n");
    assert_eq!(r.body.len(), cl);

    // cparam01: unknownparam is a contact parameter, not a URI parameter.
    let r = request("cparam01");
    let Ok(Some(Contact::Addrs(c))) = r.headers.contact() else {
        panic!("contact")
    };
    assert!(c[0].params.contains("unknownparam"));
    assert_eq!(
        c[0].uri.as_sip().and_then(|u| u.param("unknownparam")),
        None
    );

    // cparam02: inside <>, unknownparam is a URI parameter.
    let r = request("cparam02");
    let Ok(Some(Contact::Addrs(c))) = r.headers.contact() else {
        panic!("contact")
    };
    assert_eq!(
        c[0].uri.as_sip().and_then(|u| u.param("unknownparam")),
        Some(None)
    );

    // regescrt: the escaped Route header stays in the Contact URI.
    let r = request("regescrt");
    let Ok(Some(Contact::Addrs(c))) = r.headers.contact() else {
        panic!("contact")
    };
    assert_eq!(
        c[0].uri.as_sip().and_then(|u| u.headers),
        Some("Route=%3Csip:sip.example.com%3E")
    );

    // unkscm / novelsc / unksm2: other schemes parse, as opaque URIs.
    assert!(matches!(
        request("unkscm").parse_uri(),
        Ok(Uri::Other { .. })
    ));
    assert!(matches!(
        request("novelsc").parse_uri(),
        Ok(Uri::Other { .. })
    ));
    assert!(matches!(
        request("unksm2").headers.to().map(|t| t.uri),
        Ok(Uri::Other { .. })
    ));

    // esc02: RE%47IST%45R is an extension method, not REGISTER.
    assert!(!request("esc02").method.is_known());

    // wsinv: unknown headers survive byte-exact.
    let r = request("wsinv");
    assert_eq!(
        r.headers.get(&HeaderName::from_name("NewFangledHeader")),
        Some("newfangled value\r\n continued newfangled value")
    );
    assert_eq!(
        r.headers
            .get(&HeaderName::from_name("UnknownHeaderWithUnusualValue")),
        Some(";;,,;;,;")
    );
    assert_eq!(r.headers.vias().map(|v| v.len()), Ok(3));

    // unreason / noreason: UTF-8 and empty reason phrases.
    let m = parse_and_validate(load("unreason.dat")).expect("unreason");
    assert!(m.as_response().is_some_and(|r| !r.reason.is_ascii()));
    let m = parse_and_validate(load("noreason.dat")).expect("noreason");
    assert_eq!(m.as_response().map(|r| r.reason.as_str()), Some(""));
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
