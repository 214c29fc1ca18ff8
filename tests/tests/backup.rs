//! Backup and restore with `heraldctl`: a backup of a server with users, a buddy list,
//! archive records and a message waiting for an offline user restores into a fresh
//! server, where the user signs in and gets the message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use herald_tests::{
    api::Ctl,
    services::{Postgres, Redis},
    test_dir,
    udp::UdpDevice,
    Server, DOMAIN,
};

const LIST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
 <list name="Friends"><entry uri="sip:bob@example.com"><display-name>Bob</display-name></entry></list>
</resource-lists>
"#;

#[test]
fn a_backup_restores_into_a_fresh_server_and_the_offline_message_arrives() {
    let dir = test_dir("backup");
    backup_then_restore(dir.path(), &[]);
}

/// The backup of the embedded edition restores into a server on the pool's store
/// (PostgreSQL and Redis): the file names no store.
#[test]
fn an_embedded_backup_restores_into_the_pool_store() {
    let dir = test_dir("backup-pool");
    let pg = Postgres::start(dir.path());
    let redis = Redis::start(dir.path());
    let pg_url = pg.create_database("herald");
    let redis_url = redis.url();
    backup_then_restore(
        dir.path(),
        &[
            ("HERALD_STORE", "pool"),
            ("HERALD_POSTGRES_URL", pg_url.as_str()),
            ("HERALD_REDIS_URL", redis_url.as_str()),
        ],
    );
}

/// Backs up an embedded server and restores into a new one with `target` settings.
fn backup_then_restore(dir: &std::path::Path, target: &[(&str, &str)]) {
    let old_dir = dir.join("old");
    let new_dir = dir.join("new");
    std::fs::create_dir_all(&old_dir).unwrap();
    std::fs::create_dir_all(&new_dir).unwrap();
    let old = Server::start(&old_dir, &[]);
    let ctl = Ctl::new(&old);
    let csv = Ctl::file(
        dir,
        "users.csv",
        "address,display_name,password,email\nalice,Alice,alice-pw,alice@mail.example\nbob,Bob,bob-pw,\n",
    );
    ctl.run(&["user", "import", &csv]).ok("users");
    let list = Ctl::file(dir, "list.xml", LIST);
    ctl.run(&["buddies", "set", "alice", &list])
        .ok("alice's buddy list");
    let mut alice = UdpDevice::udp([127, 0, 0, 1].into(), old.addr("udp"), "alice", "alice-pw");
    assert_eq!(alice.register(DOMAIN), 200);
    assert_eq!(
        alice.message(
            DOMAIN,
            "bob",
            "alice",
            "see you at 5 (kept while you were away)"
        ),
        202,
        "bob is offline: stored"
    );
    // The archive record is written behind: wait until the backup would hold it.
    let deadline = Instant::now() + Duration::from_secs(3);
    while ctl
        .run(&["--json", "archive", "search", "--user", "bob"])
        .ok("archive")
        .json()
        .as_array()
        .unwrap()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "archive record never written");
        std::thread::sleep(Duration::from_millis(50));
    }
    let file = dir.join("herald.backup");
    let file = file.to_str().unwrap();
    ctl.run(&["backup", file]).ok("backup");
    let text = std::fs::read_to_string(file).unwrap();
    assert!(
        text.starts_with("{\"kind\":\"header\",\"format\":\"herald-backup\",\"version\":1"),
        "{text}"
    );
    drop(old);

    let new = Server::start(&new_dir, target);
    let ctl = Ctl::new(&new);
    let restored = ctl.run(&["--json", "restore", file]).ok("restore").json();
    assert_eq!(restored["users"], 2, "{restored}");
    assert_eq!(restored["documents"], 1, "{restored}");
    assert_eq!(restored["offline_messages"], 1, "{restored}");
    assert_eq!(restored["archive_records"], 1, "{restored}");
    let again = ctl.run(&["restore", file]);
    assert_eq!(again.code, Some(65));
    assert!(
        again.stderr.contains("already has users"),
        "{}",
        again.stderr
    );

    let shown = ctl
        .run(&["--json", "user", "show", "alice"])
        .ok("alice")
        .json();
    assert_eq!(
        (shown["display_name"].as_str(), shown["email"].as_str()),
        (Some("Alice"), Some("alice@mail.example"))
    );
    let buddies = ctl.run(&["buddies", "get", "alice"]).ok("buddies").stdout;
    assert!(
        buddies.contains("sip:bob@example.com") && buddies.contains("Friends"),
        "{buddies}"
    );
    let hits = ctl
        .run(&["--json", "archive", "search", "--text", "see you at 5"])
        .ok("search")
        .json();
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");

    // Bob signs in on the new server with his old password and gets the message.
    let mut bob = UdpDevice::udp([127, 0, 0, 1].into(), new.addr("udp"), "bob", "bob-pw");
    assert_eq!(bob.register(DOMAIN), 200);
    let msg = bob
        .answer_next("MESSAGE", Duration::from_secs(10))
        .expect("the stored message is delivered");
    assert_eq!(
        String::from_utf8_lossy(&msg.body),
        "see you at 5 (kept while you were away)"
    );
    assert!(herald_tests::device::from_uri(&msg).contains("alice@example.com"));
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let backup2 = dir.join("after.backup");
        ctl.run(&["backup", backup2.to_str().unwrap()])
            .ok("second backup");
        let t = std::fs::read_to_string(&backup2).unwrap();
        if !t.contains("\"kind\":\"offline\"") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the delivered message is still stored"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
