//! The server on the pool's store (HERALD_STORE=pool: PostgreSQL and Redis, private
//! instances): IM and offline storage work as on the embedded store; bindings and
//! stored messages survive a `kill -9` of the server; a Redis restart and a PostgreSQL
//! outage are ridden out — nothing answered 2xx/202 is lost, messages that cannot be
//! stored get 503 instead of a 202, and archive records of messages delivered while
//! PostgreSQL was down arrive once it is back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use herald_tests::{
    api::Ctl,
    services::{Postgres, Redis},
    test_dir,
    udp::UdpDevice,
    Server, DOMAIN,
};

fn device(s: &Server, user: &str) -> UdpDevice {
    UdpDevice::udp(
        [127, 0, 0, 1].into(),
        s.addr("udp"),
        user,
        &format!("{user}-pw"),
    )
}

/// alice sends `text` to `to`; the final status (bob's device answers in `answer`).
fn send(s: &Server, to: &str, text: &str) -> u16 {
    device(s, "alice").message(DOMAIN, to, "alice", text)
}

#[test]
fn the_server_runs_on_postgres_and_redis_and_rides_out_their_restarts() {
    let dir = test_dir("pool-store");
    let mut pg = Postgres::start(dir.path());
    let mut redis = Redis::start(dir.path());
    let pg_url = pg.create_database("herald");
    let redis_url = redis.url();
    let mut s = Server::start(
        dir.path(),
        &[
            ("HERALD_STORE", "pool"),
            ("HERALD_POSTGRES_URL", pg_url.as_str()),
            ("HERALD_REDIS_URL", redis_url.as_str()),
        ],
    );
    for u in ["alice", "bob", "carol"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let mut bob = device(&s, "bob");
    assert_eq!(bob.register(DOMAIN), 200);

    // Delivered to a registered device; stored for an offline one.
    let deliver = |s: &Server, bob: &mut UdpDevice, text: &str| {
        let t = text.to_owned();
        let addr = s.addr("udp");
        let sender = std::thread::spawn(move || {
            UdpDevice::udp([127, 0, 0, 1].into(), addr, "alice", "alice-pw")
                .message(DOMAIN, "bob", "alice", &t)
        });
        let got = bob.answer_next("MESSAGE", Duration::from_secs(10));
        (
            sender.join().unwrap(),
            got.map(|r| String::from_utf8_lossy(&r.body).into_owned()),
        )
    };
    assert_eq!(deliver(&s, &mut bob, "one"), (200, Some("one".into())));
    assert_eq!(send(&s, "carol", "for carol 1"), 202);

    // kill -9: the binding (Redis) and the stored message (PostgreSQL) outlive it.
    s.kill();
    let env = s.env.clone();
    s = Server::start_with(dir.path(), env);
    assert_eq!(
        deliver(&s, &mut bob, "two"),
        (200, Some("two".into())),
        "bob's binding survived"
    );

    // Redis restarts empty: the server keeps serving and bob registers again.
    redis.kill();
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while bob.register(DOMAIN) != 200 {
        assert!(
            Instant::now() < deadline,
            "registering after the Redis restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(deliver(&s, &mut bob, "three"), (200, Some("three".into())));

    // PostgreSQL away: a message that cannot be stored is refused, never answered 202.
    pg.kill();
    let refused = send(&s, "carol", "for carol 2");
    assert_eq!(
        refused, 503,
        "not stored, not acknowledged: try again later"
    );
    let delivered_meanwhile = deliver(&s, &mut bob, "four");
    println!(
        "PostgreSQL down: store refused with {refused}, delivery gave {delivered_meanwhile:?}"
    );
    pg.restart();
    // Back: stored again, and the archive records queued meanwhile arrive.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let st = send(&s, "carol", "for carol 3");
        if st == 202 {
            break;
        }
        assert!(Instant::now() < deadline, "PostgreSQL back, still {st}");
        std::thread::sleep(Duration::from_millis(300));
    }
    let ctl = Ctl::new(&s);
    // Delivery does not need PostgreSQL (Redis has the binding); its archive record waits
    // in the write-behind queue, retried until PostgreSQL takes it.
    assert_eq!(delivered_meanwhile, (200, Some("four".into())));
    {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let hits = ctl
                .run(&["--json", "archive", "search", "--text", "four"])
                .ok("search")
                .json();
            if hits.as_array().unwrap().len() == 1 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the archive record of a message delivered during the outage never arrived"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // carol signs in: both acknowledged messages, in order, and not the refused one.
    let mut carol = device(&s, "carol");
    assert_eq!(carol.register(DOMAIN), 200);
    let mut got = Vec::new();
    while let Some(m) = carol.answer_next("MESSAGE", Duration::from_secs(3)) {
        got.push(String::from_utf8_lossy(&m.body).into_owned());
    }
    assert_eq!(got, ["for carol 1", "for carol 3"]);
}

/// Compliance archiving: with PostgreSQL away, a MESSAGE to a registered device is
/// refused with 503 and never reaches the device; once it is back, messages are archived
/// (`accepted`) before they are delivered.
#[test]
fn compliance_mode_refuses_what_it_cannot_archive() {
    let dir = test_dir("pool-compliance");
    let mut pg = Postgres::start(dir.path());
    let redis = Redis::start(dir.path());
    let pg_url = pg.create_database("herald");
    let redis_url = redis.url();
    let s = Server::start(
        dir.path(),
        &[
            ("HERALD_STORE", "pool"),
            ("HERALD_POSTGRES_URL", pg_url.as_str()),
            ("HERALD_REDIS_URL", redis_url.as_str()),
            ("HERALD_ARCHIVE_MODE", "compliance"),
        ],
    );
    for u in ["alice", "bob"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let mut bob = device(&s, "bob");
    assert_eq!(bob.register(DOMAIN), 200);
    let ctl = Ctl::new(&s);
    pg.kill();
    assert_eq!(send(&s, "bob", "unarchivable"), 503);
    assert!(
        bob.next_request("MESSAGE", Duration::from_millis(500))
            .is_none(),
        "not delivered unarchived"
    );
    pg.restart();
    let addr = s.addr("udp");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let sender = std::thread::spawn(move || {
            UdpDevice::udp([127, 0, 0, 1].into(), addr, "alice", "alice-pw").message(
                DOMAIN,
                "bob",
                "alice",
                "archived first",
            )
        });
        let got = bob.answer_next("MESSAGE", Duration::from_secs(3));
        let st = sender.join().unwrap();
        if st == 200 {
            assert_eq!(
                String::from_utf8_lossy(&got.unwrap().body),
                "archived first"
            );
            break st;
        }
        assert!(Instant::now() < deadline, "PostgreSQL back, still {st}");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    let outcomes = loop {
        let hits = ctl
            .run(&["--json", "archive", "search", "--text", "archived first"])
            .ok("search")
            .json();
        let outcomes: Vec<String> = hits
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["outcome"].as_str().unwrap().to_owned())
            .collect();
        if outcomes.len() >= 2 || Instant::now() > deadline {
            break outcomes;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(outcomes, ["accepted", "delivered:200"]);
    let none = ctl
        .run(&["--json", "archive", "search", "--text", "unarchivable"])
        .ok("search")
        .json();
    assert!(none.as_array().unwrap().is_empty());
}
