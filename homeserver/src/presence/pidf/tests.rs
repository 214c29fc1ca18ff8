use super::*;

const LINPHONE_LIKE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
          xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.com">
  <tuple id="t1">
    <status><basic>open</basic></status>
    <contact priority="0.8">sip:alice@192.0.2.4</contact>
    <timestamp>2026-11-27T10:00:00Z</timestamp>
  </tuple>
  <dm:person id="p1">
    <rpid:activities><rpid:on-the-phone/></rpid:activities>
    <dm:note>Call me later &amp; thanks</dm:note>
  </dm:person>
</presence>"#;

#[test]
fn parses_status_contact_activities_and_notes() {
    let d = parse(LINPHONE_LIKE.as_bytes(), &PidfLimits::default()).unwrap();
    assert_eq!(d.entity, "sip:alice@example.com");
    assert_eq!(d.tuples.len(), 1);
    assert_eq!(d.tuples[0].basic, Some(Basic::Open));
    assert_eq!(d.tuples[0].contact.as_deref(), Some("sip:alice@192.0.2.4"));
    assert_eq!(d.tuples[0].priority, Some(0.8));
    assert_eq!(d.activities, vec!["on-the-phone".to_owned()]);
    assert_eq!(d.notes, vec!["Call me later & thanks".to_owned()]);
    assert!(d.is_open());
}

#[test]
fn round_trips_through_its_own_writer() {
    let d = parse(LINPHONE_LIKE.as_bytes(), &PidfLimits::default()).unwrap();
    let again = parse(to_xml(&d).as_bytes(), &PidfLimits::default()).unwrap();
    assert_eq!(again, d);
    let mut custom = d.clone();
    custom.activities = vec!["away".into(), "knitting".into()];
    custom.notes = vec!["<b>&\"quotes\"".into()];
    let back = parse(to_xml(&custom).as_bytes(), &PidfLimits::default()).unwrap();
    assert_eq!(back.activities, custom.activities);
    assert_eq!(back.notes, custom.notes);
}

#[test]
fn entity_tricks_are_refused() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><note>&lol2;</note></presence>"#;
    assert_eq!(
        parse(bomb.as_bytes(), &PidfLimits::default()),
        Err(PidfError::Doctype)
    );
    let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><note>&x;</note></presence>"#;
    assert_eq!(
        parse(xxe.as_bytes(), &PidfLimits::default()),
        Err(PidfError::Doctype)
    );
    // An undeclared entity is an error, not an expansion.
    let undeclared = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@b"><note>&x;</note></presence>"#;
    assert!(matches!(
        parse(undeclared.as_bytes(), &PidfLimits::default()),
        Err(PidfError::Xml(_))
    ));
}

#[test]
fn size_depth_and_shape_limits() {
    let limits = PidfLimits {
        max_bytes: 64,
        ..PidfLimits::default()
    };
    assert_eq!(
        parse(LINPHONE_LIKE.as_bytes(), &limits),
        Err(PidfError::TooLarge(64))
    );
    let deep = format!(
        "<presence entity=\"sip:a@b\">{}{}</presence>",
        "<x>".repeat(40),
        "</x>".repeat(40)
    );
    assert_eq!(
        parse(deep.as_bytes(), &PidfLimits::default()),
        Err(PidfError::TooDeep(16))
    );
    let tuples = format!(
        "<presence entity=\"sip:a@b\">{}</presence>",
        "<tuple id=\"t\"><status><basic>open</basic></status></tuple>".repeat(40)
    );
    assert_eq!(
        parse(tuples.as_bytes(), &PidfLimits::default()),
        Err(PidfError::TooManyTuples(32))
    );
    assert!(matches!(
        parse(b"<html/>", &PidfLimits::default()),
        Err(PidfError::NotPidf(_))
    ));
}

/// 10,000 levels with the size cap lifted: refused at the depth cap, after reading only
/// the first 17 levels (the reader holds one stack entry per open element).
#[test]
fn ten_thousand_levels_stop_at_the_depth_cap() {
    let limits = PidfLimits {
        max_bytes: 1 << 20,
        ..PidfLimits::default()
    };
    let deep = format!(
        "<presence entity=\"sip:a@b\">{}{}</presence>",
        "<x>".repeat(10_000),
        "</x>".repeat(10_000)
    );
    assert_eq!(parse(deep.as_bytes(), &limits), Err(PidfError::TooDeep(16)));
}
