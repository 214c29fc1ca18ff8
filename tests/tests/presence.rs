//! Presence end to end with sipp as publisher and watchers (RFC 3856, 3903, 6665):
//! PUBLISH reaches every watcher in a NOTIFY, subscriptions refresh and expire, and the
//! presentity's rules decide what each watcher sees.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_tests::{
    auth_field,
    sipp::Sipp,
    test_dir,
    xcap::{path, XcapClient},
    Server, DOMAIN,
};

/// The NOTIFY requests of a sipp message trace, in order (whole messages).
fn notifies(trace: &str) -> Vec<String> {
    trace
        .split("NOTIFY sip:")
        .skip(1)
        .map(|m| m.split("-----------------").next().unwrap_or("").to_owned())
        .collect()
}

/// A sipp watcher running `scenario` as `who` on `target` (fields 0–4, plus `extra`).
fn watch(
    s: &Server,
    dir: &std::path::Path,
    scenario: &str,
    who: &str,
    target: &str,
    event: &str,
    extra: &[&str],
) -> herald_tests::sipp::Running {
    let auth = auth_field(who, &format!("{who}-pw"));
    let mut fields = vec![who, DOMAIN, auth.as_str(), target, event];
    fields.extend_from_slice(extra);
    let name = format!("{who}-{}", scenario.trim_end_matches(".xml"));
    Sipp::new(dir, &name, scenario)
        .to(s.addr("udp"))
        .fields(&fields)
        .spawn()
}

fn watcher(
    s: &Server,
    dir: &std::path::Path,
    who: &str,
    target: &str,
) -> herald_tests::sipp::Running {
    watch(s, dir, "subscribe_watch.xml", who, target, "presence", &[])
}

fn publish(s: &Server, dir: &std::path::Path, who: &str, basic: &str, activity: &str) {
    Sipp::new(dir, &format!("{who}-publish-{activity}"), "publish.xml")
        .to(s.addr("udp"))
        .fields(&[
            who,
            DOMAIN,
            &auth_field(who, &format!("{who}-pw")),
            basic,
            activity,
        ])
        .run()
        .assert_ok(&format!("{who} publishes {activity}"));
}

#[test]
fn a_publish_reaches_two_watchers() {
    let dir = test_dir("presence-two");
    let s = Server::start(dir.path(), &[("HERALD_NOTIFY_MIN_INTERVAL_MS", "200")]);
    for u in ["alice", "bob", "carol"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let bob = watcher(&s, dir.path(), "bob", "alice");
    let carol = watcher(&s, dir.path(), "carol", "alice");
    std::thread::sleep(Duration::from_millis(1500));
    publish(&s, dir.path(), "alice", "open", "busy");
    for (name, w) in [("bob", bob), ("carol", carol)] {
        let out = w.wait();
        out.assert_ok(&format!("{name} watches alice"));
        let n = notifies(&out.messages);
        assert!(
            n.len() >= 3,
            "{name}: {} NOTIFYs:\n{}",
            n.len(),
            out.messages
        );
        assert!(
            n[0].contains("<basic>closed</basic>"),
            "{name}: alice is not registered at first:\n{}",
            n[0]
        );
        assert!(n[0].contains("Subscription-State: active"), "{}", n[0]);
        assert!(
            n[1].contains("<rpid:busy/>") && n[1].contains("<basic>open</basic>"),
            "{name}:\n{}",
            n[1]
        );
        assert!(n[2].contains("Subscription-State: terminated"), "{}", n[2]);
    }
}

#[test]
fn subscriptions_refresh_and_expire() {
    let dir = test_dir("presence-expire");
    let s = Server::start(dir.path(), &[("HERALD_PRESENCE_MIN_EXPIRES", "2")]);
    for u in ["alice", "bob"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let out = watch(
        &s,
        dir.path(),
        "subscribe_expire.xml",
        "bob",
        "alice",
        "presence",
        &["3"],
    )
    .wait();
    out.assert_ok("bob subscribes for 3 s, refreshes once, then lets it expire");
    let n = notifies(&out.messages);
    assert_eq!(n.len(), 3, "{}", out.messages);
    assert!(
        n[1].contains("Subscription-State: active;expires="),
        "refresh: {}",
        n[1]
    );
    assert!(
        n[2].contains("Subscription-State: terminated;reason=timeout"),
        "{}",
        n[2]
    );
    // A refresh for a dialog the server does not know is 481.
    let mut dev = herald_tests::udp::UdpDevice::udp(
        "127.0.0.1".parse().unwrap(),
        s.addr("udp"),
        "bob",
        "bob-pw",
    );
    let mut req = dev.build(
        "SUBSCRIBE",
        &format!("sip:alice@{DOMAIN}"),
        "bob",
        DOMAIN,
        None,
        "",
    );
    req = req.replacen(
        &format!("To: <sip:alice@{DOMAIN}>"),
        &format!("To: <sip:alice@{DOMAIN}>;tag=nosuchdialog"),
        1,
    );
    dev.wire.send_raw(req.as_bytes());
    assert_eq!(dev.response().status.as_u16(), 481);
}

#[test]
fn a_politely_blocked_watcher_sees_closed() {
    let dir = test_dir("presence-rules");
    let s = Server::start(dir.path(), &[]);
    for u in ["alice", "bob", "mallory"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let rules = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
 <cr:rule id="hide"><cr:conditions><cr:identity><cr:one id="sip:mallory@{DOMAIN}"/></cr:identity></cr:conditions>
  <cr:actions><sub-handling>polite-block</sub-handling></cr:actions></cr:rule>
</cr:ruleset>"#
    );
    let mut xcap = XcapClient::new(s.addr("xcap"), "alice", "alice-pw");
    let r = xcap.send(
        "PUT",
        &path("pres-rules", "alice", DOMAIN),
        &[("Content-Type", "application/auth-policy+xml")],
        &rules,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    publish(&s, dir.path(), "alice", "open", "busy");
    for who in ["bob", "mallory"] {
        let out = watch(
            &s,
            dir.path(),
            "subscribe_once.xml",
            who,
            "alice",
            "presence",
            &[],
        )
        .wait();
        out.assert_ok(&format!("{who} looks at alice"));
        let n = notifies(&out.messages);
        let shown = &n[0];
        if who == "bob" {
            assert!(
                shown.contains("<basic>open</basic>") && shown.contains("<rpid:busy/>"),
                "{shown}"
            );
        } else {
            assert!(
                shown.contains("<basic>closed</basic>") && !shown.contains("busy"),
                "{shown}"
            );
            assert!(
                shown.contains("Subscription-State: active"),
                "politely: {shown}"
            );
        }
    }
}

#[test]
fn watcher_info_shows_a_pending_watcher() {
    let dir = test_dir("presence-winfo");
    let s = Server::start(
        dir.path(),
        &[
            ("HERALD_PRESENCE_POLICY", "buddies"),
            ("HERALD_NOTIFY_MIN_INTERVAL_MS", "100"),
        ],
    );
    for u in ["alice", "bob"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    // Alice watches who watches her; bob (not her buddy) asks to see her and waits.
    let alice = watch(
        &s,
        dir.path(),
        "subscribe_watch.xml",
        "alice",
        "alice",
        "presence.winfo",
        &[],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let out = watch(
        &s,
        dir.path(),
        "subscribe_once.xml",
        "bob",
        "alice",
        "presence",
        &[],
    )
    .wait();
    out.assert_ok("bob subscribes to alice");
    let bob_sees = notifies(&out.messages);
    assert!(
        bob_sees[0].contains("Subscription-State: pending"),
        "{}",
        bob_sees[0]
    );
    assert!(
        !bob_sees[0].contains("<presence"),
        "a pending watcher gets no state: {}",
        bob_sees[0]
    );
    let out = alice.wait();
    out.assert_ok("alice watches her watchers");
    let n = notifies(&out.messages);
    assert!(
        n[0].contains("application/watcherinfo+xml") && !n[0].contains("<watcher "),
        "{}",
        n[0]
    );
    assert!(
        n[1].contains(&format!(r#"status="pending">sip:bob@{DOMAIN}</watcher>"#)),
        "{}",
        n[1]
    );
}

#[test]
fn a_buddy_list_subscription_gets_the_whole_list_then_changes() {
    let dir = test_dir("presence-rls");
    let s = Server::start(dir.path(), &[("HERALD_NOTIFY_MIN_INTERVAL_MS", "100")]);
    for u in ["alice", "bob", "carol"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let list = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
 <list name="Team">
  <entry uri="sip:bob@{DOMAIN}"><display-name>Bob</display-name></entry>
  <entry uri="sip:carol@{DOMAIN}"><display-name>Carol</display-name></entry>
 </list>
</resource-lists>"#
    );
    let mut xcap = XcapClient::new(s.addr("xcap"), "alice", "alice-pw");
    let r = xcap.send(
        "PUT",
        &path("resource-lists", "alice", DOMAIN),
        &[("Content-Type", "application/resource-lists+xml")],
        &list,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let alice = watch(
        &s,
        dir.path(),
        "subscribe_watch.xml",
        "alice",
        "alice-list",
        "presence",
        &[],
    );
    std::thread::sleep(Duration::from_millis(1500));
    publish(&s, dir.path(), "bob", "open", "away");
    let out = alice.wait();
    out.assert_ok("alice subscribes to her buddy list");
    let n = notifies(&out.messages);
    let (full, partial) = (&n[0], &n[1]);
    assert!(
        full.contains("Require: eventlist") && full.contains("multipart/related"),
        "{full}"
    );
    assert!(full.contains(r#"fullState="true""#), "{full}");
    for who in ["bob", "carol"] {
        assert!(
            full.contains(&format!(r#"<resource uri="sip:{who}@{DOMAIN}">"#)),
            "{full}"
        );
    }
    assert_eq!(
        full.matches("Content-Type: application/pidf+xml").count(),
        2,
        "{full}"
    );
    assert!(partial.contains(r#"fullState="false""#), "{partial}");
    assert!(
        partial.contains(&format!("sip:bob@{DOMAIN}")) && partial.contains("<rpid:away/>"),
        "{partial}"
    );
    assert!(
        !partial.contains(&format!("sip:carol@{DOMAIN}")),
        "only what changed: {partial}"
    );
}

#[test]
fn xcap_put_then_get_with_the_same_etag() {
    let dir = test_dir("xcap");
    let s = Server::start(dir.path(), &[]);
    for u in ["alice", "bob"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="Friends"><entry uri="sip:bob@{DOMAIN}"/></list></resource-lists>"#
    );
    let p = path("resource-lists", "alice", DOMAIN);
    let mut alice = XcapClient::new(s.addr("xcap"), "alice", "alice-pw");
    let ct = [("Content-Type", "application/resource-lists+xml")];
    assert_eq!(
        alice.raw("GET", &p, &[], "", None).status,
        401,
        "no credentials"
    );
    let put = alice.send("PUT", &p, &[ct[0], ("If-None-Match", "*")], &doc);
    assert_eq!(put.status, 201, "{}", put.body);
    let etag = put.header("etag").unwrap().to_owned();
    let get = alice.send("GET", &p, &[], "");
    assert_eq!((get.status, get.header("etag")), (200, Some(etag.as_str())));
    assert_eq!(get.body, doc);
    assert_eq!(
        get.header("content-type"),
        Some("application/resource-lists+xml")
    );
    assert_eq!(
        alice
            .send("GET", &p, &[("If-None-Match", &etag)], "")
            .status,
        304
    );
    // Writes are conditional on the ETag.
    let stale = alice.send("PUT", &p, &[ct[0], ("If-Match", "\"not-the-etag\"")], &doc);
    assert_eq!(stale.status, 412);
    let ok = alice.send("PUT", &p, &[ct[0], ("If-Match", &etag)], &doc);
    assert_eq!(ok.status, 200);
    assert_ne!(ok.header("etag"), Some(etag.as_str()));
    // Not well-formed: 409 with an xcap-error; someone else's document: 403.
    let bad = alice.send("PUT", &p, &ct, "<resource-lists><list>");
    assert_eq!(bad.status, 409);
    assert!(bad.body.contains("<not-well-formed/>"), "{}", bad.body);
    let mut bob = XcapClient::new(s.addr("xcap"), "bob", "bob-pw");
    assert_eq!(bob.send("GET", &p, &[], "").status, 403);
    let mut wrong = XcapClient::new(s.addr("xcap"), "alice", "guess");
    assert_eq!(wrong.send("GET", &p, &[], "").status, 403);
}

#[test]
fn hostile_presence_documents_are_refused_with_400() {
    let dir = test_dir("presence-xml");
    let s = Server::start(dir.path(), &[]);
    s.add_user("alice", "alice-pw");
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="t"><status><basic>open</basic></status><note>&lol3;</note></tuple></presence>"#;
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE p [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com"><tuple id="t"><status><basic>open</basic></status><note>&xxe;</note></tuple></presence>"#;
    let deep = format!(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">{}"#,
        "<a>".repeat(10_000)
    );
    for (what, body) in [
        ("billion laughs", laughs.to_owned()),
        ("XXE", xxe.to_owned()),
        ("10,000 levels", deep),
    ] {
        let mut dev = herald_tests::udp::UdpDevice::udp(
            "127.0.0.1".parse().unwrap(),
            s.addr("udp"),
            "alice",
            "alice-pw",
        );
        dev.content_type = "application/pidf+xml".into();
        let x = dev.exchange(
            "PUBLISH",
            &format!("sip:alice@{DOMAIN}"),
            "alice",
            DOMAIN,
            &body,
        );
        let r = x.second.expect("challenged first");
        assert_eq!(
            r.status.as_u16(),
            400,
            "{what}: {} {}",
            r.status.as_u16(),
            &*r.reason
        );
        eprintln!("{what}: 400 {}", &*r.reason);
    }
    let mut s = s;
    assert!(s.alive(), "the server is still up");
}

/// Subscriptions are stored: after the process is killed and started again, the server
/// continues the same dialog (same Call-ID and tags, CSeq moved ahead) with the current
/// state, and the watcher's unsubscribe finds it.
#[test]
fn subscriptions_survive_a_restart() {
    let dir = test_dir("presence-restart");
    let mut s = Server::start(dir.path(), &[("HERALD_NOTIFY_MIN_INTERVAL_MS", "100")]);
    for u in ["alice", "bob"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let env = s.env.clone();
    let bob = watcher(&s, dir.path(), "bob", "alice");
    // The record is written behind within milliseconds; give it a moment, then kill.
    std::thread::sleep(Duration::from_millis(1500));
    s.kill();
    let s = Server::start_with(dir.path(), env);
    let out = bob.wait();
    out.assert_ok("bob's subscription continues across the restart");
    let n = notifies(&out.messages);
    let cseq = |m: &str| -> u32 {
        m.lines()
            .find_map(|l| l.strip_prefix("CSeq: "))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    };
    assert!(cseq(&n[1]) > 100_000, "the CSeq moved ahead: {}", n[1]);
    assert!(n[1].contains("<basic>closed</basic>"), "{}", n[1]);
    assert!(n[2].contains("Subscription-State: terminated"), "{}", n[2]);
    drop(s);
}

/// Editing the buddy list over XCAP while its subscription is live: the subscriber gets
/// the new list in full at once, in the same dialog.
#[test]
fn a_buddy_list_edit_reaches_the_list_subscription() {
    let dir = test_dir("presence-rls-edit");
    let s = Server::start(dir.path(), &[("HERALD_NOTIFY_MIN_INTERVAL_MS", "100")]);
    for u in ["alice", "bob", "carol"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let list = |who: &[&str]| {
        let entries: String = who
            .iter()
            .map(|w| format!(r#"<entry uri="sip:{w}@{DOMAIN}"/>"#))
            .collect();
        format!(
            r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"><list name="Team">{entries}</list></resource-lists>"#
        )
    };
    let p = path("resource-lists", "alice", DOMAIN);
    let mut xcap = XcapClient::new(s.addr("xcap"), "alice", "alice-pw");
    assert_eq!(xcap.send("PUT", &p, &[], &list(&["bob"])).status, 201);
    let alice = watch(
        &s,
        dir.path(),
        "subscribe_watch.xml",
        "alice",
        "alice-list",
        "presence",
        &[],
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        xcap.send("PUT", &p, &[], &list(&["bob", "carol"])).status,
        200
    );
    let out = alice.wait();
    out.assert_ok("alice's list subscription");
    let n = notifies(&out.messages);
    assert!(!n[0].contains("sip:carol@"), "{}", n[0]);
    assert!(
        n[1].contains(r#"fullState="true""#)
            && n[1].contains(&format!(r#"<resource uri="sip:carol@{DOMAIN}">"#)),
        "{}",
        n[1]
    );
}

/// One user cannot hold more subscriptions than the cap.
#[test]
fn subscriptions_per_user_are_capped() {
    let dir = test_dir("presence-cap");
    let s = Server::start(dir.path(), &[("HERALD_MAX_SUBSCRIPTIONS_PER_USER", "2")]);
    for u in ["alice", "bob", "carol", "dave"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let mut dev = herald_tests::udp::UdpDevice::udp(
        "127.0.0.1".parse().unwrap(),
        s.addr("udp"),
        "bob",
        "bob-pw",
    );
    let mut status = Vec::new();
    for target in ["alice", "carol", "dave"] {
        let uri = format!("sip:{target}@{DOMAIN}");
        let x = dev.exchange("SUBSCRIBE", &uri, "bob", DOMAIN, "");
        status.push((x.status(), x.second.map(|r| r.reason.to_string())));
    }
    assert_eq!(status[0].0, 200);
    assert_eq!(status[1].0, 200);
    assert_eq!(status[2], (403, Some("Too many subscriptions".into())));
}

/// Automatic presence from calls (what LCS offered through PBX coupling): while a call
/// through the server is up, both parties show on-the-phone without publishing anything;
/// after the BYE they do not.
#[test]
fn a_call_through_the_server_shows_on_the_phone() {
    let dir = test_dir("presence-call");
    let s = Server::start(dir.path(), &[("HERALD_NOTIFY_MIN_INTERVAL_MS", "50")]);
    for u in ["alice", "bob", "carol"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let (callee, phone) = Sipp::new(dir.path(), "bob-phone", "invite_uas.xml").listen();
    s.register(dir.path(), "bob-reg", "bob", "bob-pw", &phone);
    // Carol watches bob with a scriptable device that answers every NOTIFY.
    let mut carol = herald_tests::udp::UdpDevice::udp(
        "127.0.0.1".parse().unwrap(),
        s.addr("udp"),
        "carol",
        "carol-pw",
    );
    let x = carol.exchange(
        "SUBSCRIBE",
        &format!("sip:bob@{DOMAIN}"),
        "carol",
        DOMAIN,
        "",
    );
    assert_eq!(x.status(), 200);
    let mut bodies = Vec::new();
    let first = carol
        .next_request("NOTIFY", Duration::from_secs(5))
        .expect("initial NOTIFY");
    carol.answer(&first, 200);
    bodies.push(String::from_utf8_lossy(&first.body).into_owned());
    let caller = Sipp::new(dir.path(), "alice", "invite_uac.xml")
        .to(s.addr("udp"))
        .fields(&["alice", DOMAIN, &auth_field("alice", "alice-pw"), "bob"])
        .spawn();
    while let Some(n) = carol.next_request("NOTIFY", Duration::from_secs(3)) {
        carol.answer(&n, 200);
        bodies.push(String::from_utf8_lossy(&n.body).into_owned());
    }
    caller.wait().assert_ok("alice calls bob");
    callee.wait().assert_ok("bob answers");
    assert!(!bodies[0].contains("on-the-phone"), "{}", bodies[0]);
    assert!(
        bodies[0].contains("<basic>open</basic>"),
        "bob is registered: {}",
        bodies[0]
    );
    assert!(
        bodies.iter().any(|b| b.contains("<rpid:on-the-phone/>")),
        "no NOTIFY showed the call: {bodies:?}"
    );
    let last = bodies.last().unwrap();
    assert!(!last.contains("on-the-phone"), "the call ended: {last}");
}
