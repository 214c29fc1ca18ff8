//! Presence end to end with sipp as publisher and watchers (RFC 3856, 3903, 6665):
//! PUBLISH reaches every watcher in a NOTIFY, subscriptions refresh and expire, and the
//! presentity's rules decide what each watcher sees.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_tests::{auth_field, sipp::Sipp, test_dir, Server, DOMAIN};

/// The NOTIFY requests of a sipp message trace, in order (whole messages).
fn notifies(trace: &str) -> Vec<String> {
    trace
        .split("NOTIFY sip:")
        .skip(1)
        .map(|m| m.split("-----------------").next().unwrap_or("").to_owned())
        .collect()
}

fn watcher(
    s: &Server,
    dir: &std::path::Path,
    who: &str,
    target: &str,
) -> herald_tests::sipp::Running {
    Sipp::new(dir, &format!("{who}-watch"), "subscribe_watch.xml")
        .to(s.addr("udp"))
        .fields(&[who, DOMAIN, &auth_field(who, &format!("{who}-pw")), target])
        .spawn()
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
