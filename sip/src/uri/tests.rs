use super::*;

fn eq(a: &str, b: &str) -> bool {
    Uri::parse(a).expect(a).equivalent(&Uri::parse(b).expect(b))
}

#[test]
fn parses_sip_uri_parts() {
    let u = Uri::parse("sips:alice:secret@[2001:db8::10]:5061;transport=tcp;lr?subject=x")
        .expect("uri");
    let s = u.as_sip().expect("sip");
    assert_eq!(s.scheme, Scheme::Sips);
    assert_eq!(s.user, Some("alice"));
    assert_eq!(s.password, Some("secret"));
    assert_eq!(s.host, Host::V6("2001:db8::10".parse().expect("ip")));
    assert_eq!(s.port, Some(5061));
    assert_eq!(s.param("TRANSPORT"), Some(Some("tcp")));
    assert_eq!(s.param("lr"), Some(None));
    assert_eq!(s.headers, Some("subject=x"));
    assert_eq!(
        u.to_string(),
        "sips:alice:secret@[2001:db8::10]:5061;transport=tcp;lr?subject=x"
    );
}

#[test]
fn semicolon_in_user_part() {
    let u = Uri::parse("sip:user;par=u%40example.net@example.com").expect("uri");
    assert_eq!(
        u.as_sip().expect("sip").user,
        Some("user;par=u%40example.net")
    );
}

#[test]
fn rfc3261_equal_examples() {
    assert!(eq(
        "sip:%61lice@atlanta.com;transport=TCP",
        "sip:alice@AtLanTa.CoM;Transport=tcp"
    ));
    assert!(eq(
        "sip:carol@chicago.com",
        "sip:carol@chicago.com;newparam=5"
    ));
    assert!(eq(
        "sip:carol@chicago.com;security=on",
        "sip:carol@chicago.com;newparam=5"
    ));
    assert!(eq(
        "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
        "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
    ));
    assert!(eq(
        "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sip:alice@atlanta.com?priority=urgent&subject=project%20x"
    ));
}

#[test]
fn rfc3261_unequal_examples() {
    assert!(!eq(
        "SIP:ALICE@AtLanTa.CoM;Transport=udp",
        "sip:alice@AtLanTa.CoM;Transport=UDP"
    ));
    assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
    assert!(!eq(
        "sip:bob@biloxi.com",
        "sip:bob@biloxi.com;transport=udp"
    ));
    assert!(!eq(
        "sip:bob@biloxi.com",
        "sip:bob@biloxi.com:6000;transport=tcp"
    ));
    assert!(!eq(
        "sip:carol@chicago.com",
        "sip:carol@chicago.com?Subject=next%20meeting"
    ));
    assert!(!eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
    assert!(!eq(
        "sip:carol@chicago.com;security=on",
        "sip:carol@chicago.com;security=off"
    ));
    assert!(!eq("sip:a@b", "sips:a@b"));
}

#[test]
fn tel_uris() {
    let t = Uri::parse("tel:+1-201-555-0123;ext=1234").expect("tel");
    assert!(t.equivalent(&Uri::parse("tel:+12015550123;EXT=1234").expect("tel")));
    assert!(Uri::parse("tel:7042;phone-context=example.com").is_ok());
    assert_eq!(Uri::parse("tel:7042"), Err(UriError::Tel));
    assert_eq!(
        Uri::parse("tel:+1;ext"),
        Ok(Uri::Tel(TelUri {
            number: "+1",
            params: ";ext"
        }))
    );
}

#[test]
fn rejects_malformed() {
    // Found by the uri fuzz target: a repeated parameter made equality non-reflexive.
    assert_eq!(
        Uri::parse("sip:user;SSSS=tcp+er;ssss=tcp;method=REGISTER"),
        Err(UriError::Param)
    );
    for bad in [
        "sip:",
        "sip:user@",
        "sip:@host",
        "sip:host:99999",
        "sip:ho st",
        "sip:[::1",
        "nocolon",
        "1x:y",
        "sip:h;=v",
    ] {
        assert!(Uri::parse(bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn aor_is_canonical() {
    let u = Uri::parse("sip:%61lice@Example.COM:5070;transport=tcp").expect("uri");
    assert_eq!(u.as_sip().expect("sip").aor(), "sip:alice@example.com");
}

/// The one-pass domain check agrees with the rule read the slow way (split on dots, check
/// each label) on every string of up to five characters over the bytes that matter.
#[test]
fn domain_check_matches_the_label_rule() {
    fn by_labels(s: &str) -> bool {
        let labels = s.strip_suffix('.').unwrap_or(s);
        !labels.is_empty()
            && labels.split('.').all(|l| {
                !l.is_empty()
                    && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
    }
    let alphabet = ["a", "Z", "7", "-", ".", "_"];
    let mut strings = vec![String::new()];
    let mut checked = 0;
    for _ in 0..5 {
        let mut longer = Vec::new();
        for s in &strings {
            for c in alphabet {
                longer.push(format!("{s}{c}"));
            }
        }
        for s in &longer {
            // Digits and dots only may be an IPv4 address, which is not this rule.
            if s.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
                continue;
            }
            let host = format!("sip:{s}");
            let parsed = Uri::parse(&host).is_ok();
            assert_eq!(parsed, by_labels(s), "{s:?}");
            checked += 1;
        }
        strings = longer;
    }
    assert!(checked > 9_000, "{checked}");
}
