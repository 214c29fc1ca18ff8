use super::*;
use crate::auth::{ha1, Algorithm, MemoryReplayGuard};

fn rfc7616(alg: &str, response: &str) -> String {
    format!(
        "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", algorithm={alg}, \
         nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, \
         cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, response=\"{response}\", \
         opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
    )
}

#[test]
fn rfc7616_section_3_9_1_vectors() {
    for (alg, algorithm, expected) in [
        ("MD5", Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
        (
            "SHA-256",
            Algorithm::Sha256,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
    ] {
        let text = rfc7616(alg, expected);
        let creds = Credentials::parse(&text).expect("creds");
        let h = ha1(
            algorithm,
            "Mufasa",
            "http-auth@example.org",
            "Circle of Life",
        );
        assert_eq!(expected_response(&creds, "GET", &h), expected, "{alg}");
    }
}

const NOW: u64 = 1_700_000_000;

/// What a SIP client does with a challenge: the credentials header value.
fn answer(ch: &Challenge, user: &str, password: &str, method: &str, uri: &str, nc: u32) -> String {
    ch.answer(user, password, method, uri, nc, "c0ffee")
}

fn verifier() -> Verifier {
    Verifier::new(NonceKey::new([42; 32]), "example.com", 300)
}

fn check(
    v: &Verifier,
    header: &str,
    password_for_ha1: &str,
    now: u64,
    g: &mut MemoryReplayGuard,
) -> AuthOutcome {
    let creds = Credentials::parse(header).expect("creds");
    let stored = ha1(creds.algorithm, "alice", "example.com", password_for_ha1);
    v.check(&creds, "REGISTER", "sip:example.com", &stored, now, g)
}

#[test]
fn register_round_trip_both_algorithms() {
    let v = verifier();
    for ch in v.challenges(NOW, 1, false) {
        let mut g = MemoryReplayGuard::new(300, 100);
        let header = answer(&ch, "alice", "secret", "REGISTER", "sip:example.com", 1);
        assert_eq!(
            check(&v, &header, "secret", NOW + 5, &mut g),
            AuthOutcome::Ok,
            "{:?}",
            ch.algorithm
        );
        assert_eq!(
            check(&v, &header, "other", NOW + 5, &mut g),
            AuthOutcome::Failed(FailReason::WrongResponse)
        );
    }
}

#[test]
fn replayed_nc_is_refused_and_higher_nc_accepted() {
    let v = verifier();
    let [ch, _] = v.challenges(NOW, 1, false);
    let mut g = MemoryReplayGuard::new(300, 100);
    let first = answer(&ch, "alice", "secret", "REGISTER", "sip:example.com", 1);
    assert_eq!(check(&v, &first, "secret", NOW, &mut g), AuthOutcome::Ok);
    assert_eq!(
        check(&v, &first, "secret", NOW, &mut g),
        AuthOutcome::Failed(FailReason::Replay)
    );
    let second = answer(&ch, "alice", "secret", "REGISTER", "sip:example.com", 2);
    assert_eq!(check(&v, &second, "secret", NOW, &mut g), AuthOutcome::Ok);
}

#[test]
fn stale_only_with_the_right_password() {
    let v = verifier();
    let [ch, _] = v.challenges(NOW, 1, false);
    let mut g = MemoryReplayGuard::new(300, 100);
    let header = answer(&ch, "alice", "secret", "REGISTER", "sip:example.com", 1);
    assert_eq!(
        check(&v, &header, "secret", NOW + 301, &mut g),
        AuthOutcome::Stale
    );
    assert_eq!(
        check(&v, &header, "wrong", NOW + 301, &mut g),
        AuthOutcome::Failed(FailReason::WrongResponse)
    );
    assert!(v.challenges(NOW, 1, true)[0]
        .to_string()
        .ends_with("stale=true"));
}

#[test]
fn foreign_nonce_realm_and_uri_are_refused() {
    let v = verifier();
    let other = Verifier::new(NonceKey::new([1; 32]), "example.com", 300);
    let mut g = MemoryReplayGuard::new(300, 100);
    let [foreign, _] = other.challenges(NOW, 1, false);
    let header = answer(
        &foreign,
        "alice",
        "secret",
        "REGISTER",
        "sip:example.com",
        1,
    );
    assert_eq!(
        check(&v, &header, "secret", NOW, &mut g),
        AuthOutcome::Failed(FailReason::BadNonce)
    );
    let [ch, _] = v.challenges(NOW, 1, false);
    let wrong_realm = answer(&ch, "alice", "secret", "REGISTER", "sip:example.com", 1)
        .replace("realm=\"example.com\"", "realm=\"evil.com\"");
    assert_eq!(
        check(&v, &wrong_realm, "secret", NOW, &mut g),
        AuthOutcome::Failed(FailReason::RealmMismatch)
    );
    let wrong_uri = answer(&ch, "alice", "secret", "REGISTER", "sip:elsewhere.com", 1);
    assert_eq!(
        check(&v, &wrong_uri, "secret", NOW, &mut g),
        AuthOutcome::Failed(FailReason::UriMismatch)
    );
    // Without the URI check the same credentials pass (the hash covers their own uri).
    let lenient = verifier().with_uri_check(false);
    assert_eq!(
        check(&lenient, &wrong_uri, "secret", NOW, &mut g),
        AuthOutcome::Ok
    );
}

#[test]
fn rfc2069_form_without_qop() {
    let v = verifier();
    let [_, md5] = v.challenges(NOW, 1, false);
    let h = ha1(Algorithm::Md5, "alice", "example.com", "secret");
    let resp = Algorithm::Md5.hex(&[
        &h,
        &md5.nonce,
        &Algorithm::Md5.hex(&["REGISTER", "sip:example.com"]),
    ]);
    let header = format!(
        "Digest username=\"alice\", realm=\"example.com\", nonce=\"{}\", uri=\"sip:example.com\", response=\"{resp}\"",
        md5.nonce
    );
    let mut g = MemoryReplayGuard::new(300, 100);
    assert_eq!(check(&v, &header, "secret", NOW, &mut g), AuthOutcome::Ok);
}

#[test]
fn a_response_in_upper_case_hex_is_accepted_and_an_overlong_one_refused() {
    let v = verifier();
    for ch in v.challenges(NOW, 1, false) {
        let header = answer(&ch, "alice", "secret", "REGISTER", "sip:example.com", 1);
        let response = Credentials::parse(&header)
            .expect("creds")
            .response
            .to_string();
        let upper = header.replace(&response, &response.to_ascii_uppercase());
        assert_ne!(upper, header);
        let mut g = MemoryReplayGuard::new(300, 100);
        assert_eq!(
            check(&v, &upper, "secret", NOW + 5, &mut g),
            AuthOutcome::Ok
        );
        let overlong = header.replace(&response, &format!("{response}{}", "0".repeat(64)));
        let mut g = MemoryReplayGuard::new(300, 100);
        assert_eq!(
            check(&v, &overlong, "secret", NOW + 5, &mut g),
            AuthOutcome::Failed(FailReason::WrongResponse)
        );
    }
}
