//! The pool on loopback: two front ends and two home servers (separate processes, gRPC
//! between them, membership in Redis, store in PostgreSQL + Redis). Users owned by
//! different home servers register on different front ends and exchange messages both
//! ways; a message to an offline user is stored and delivered when they register on the
//! other front end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::HashMap, path::Path, time::Duration};

use herald_ring::{Member, Ring};
use herald_tests::{
    free_port,
    services::{Postgres, Redis},
    test_dir,
    udp::UdpDevice,
    Server, DOMAIN,
};

/// Pool tests start up to seven processes each: one at a time, so that timing claims
/// (failover within seconds, live users unaffected) are not measured on a machine the
/// other pool tests have saturated.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

struct Pool {
    _pg: Postgres,
    _redis: Redis,
    homes: Vec<Server>,
    fronts: Vec<Server>,
}

fn node_env(base: &HashMap<String, String>, dir: &Path, id: &str) -> HashMap<String, String> {
    let mut env = base.clone();
    std::fs::create_dir_all(dir).unwrap();
    env.insert("HERALD_DATA_DIR".into(), dir.display().to_string());
    env.insert("HERALD_NODE_ID".into(), id.into());
    env.insert("HERALD_GRPC".into(), format!("127.0.0.1:{}", free_port()));
    env.insert("HERALD_HTTP".into(), format!("127.0.0.1:{}", free_port()));
    env
}

fn start_pool(dir: &Path, homes: usize, fronts: usize) -> Pool {
    let pg = Postgres::start(dir);
    let redis = Redis::start(dir);
    let pg_url = pg.create_database("herald");
    let mut base = Server::settings(dir);
    base.insert("HERALD_STORE".into(), "pool".into());
    base.insert("HERALD_POSTGRES_URL".into(), pg_url);
    base.insert("HERALD_REDIS_URL".into(), redis.url());
    // Every test device sends from 127.0.0.1: the per-source flood budget (tested on
    // its own elsewhere) would drop a load test's messages.
    base.insert("HERALD_RATE_PER_SOURCE".into(), "0".into());
    for k in ["HERALD_TLS", "HERALD_WS", "HERALD_WSS", "HERALD_XCAP"] {
        base.insert(k.into(), "off".into());
    }
    // Home servers advertise the first front end's SIP address (a load balancer's, in a
    // real pool).
    let homes: Vec<Server> = (1..=homes)
        .map(|i| {
            let id = format!("hs{i}");
            let env = node_env(&base, &dir.join(&id), &id);
            Server::start_command(dir, &["homeserver"], env)
        })
        .collect();
    let fronts: Vec<Server> = (1..=fronts)
        .map(|i| {
            let id = format!("fe{i}");
            let mut env = node_env(&base, &dir.join(&id), &id);
            if i > 1 {
                let sip = free_port();
                env.insert("HERALD_UDP".into(), format!("127.0.0.1:{sip}"));
                env.insert("HERALD_TCP".into(), format!("127.0.0.1:{sip}"));
            }
            Server::start_command(dir, &["frontend"], env)
        })
        .collect();
    Pool {
        _pg: pg,
        _redis: redis,
        homes,
        fronts,
    }
}

/// `text` without terminal colour codes.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Two users (of `candidates`) owned by different home servers of `ids`.
fn split_users(ids: &[&str], candidates: &[&'static str]) -> (&'static str, &'static str) {
    let ring = Ring::new(ids.iter().map(|i| Member::new(*i, 1))).unwrap();
    let owner = |u: &str| ring.owner(&format!("{u}@{DOMAIN}")).unwrap().0.clone();
    let first = candidates[0];
    let other = candidates
        .iter()
        .find(|u| owner(u) != owner(first))
        .expect("a user on another home server");
    (first, other)
}

#[test]
fn users_of_different_home_servers_on_different_front_ends_exchange_messages() {
    let _serial = serial();
    let dir = test_dir("pool");
    let pool = start_pool(dir.path(), 2, 2);
    let (a, b) = split_users(
        &["hs1", "hs2"],
        &["alice", "bob", "carol", "dave", "erin", "fay"],
    );
    let offline = ["gus", "hal", "ivy"]
        .into_iter()
        .find(|u| *u != a && *u != b)
        .unwrap();
    for u in [a, b, offline] {
        pool.homes[0].add_user(u, &format!("{u}-pw"));
    }
    let fe1 = pool.fronts[0].addr("udp");
    let fe2 = pool.fronts[1].addr("udp");
    let mut dev_a = UdpDevice::udp([127, 0, 0, 1].into(), fe1, a, &format!("{a}-pw"));
    let mut dev_b = UdpDevice::udp([127, 0, 0, 1].into(), fe2, b, &format!("{b}-pw"));
    assert_eq!(dev_a.register(DOMAIN), 200, "{a} registers on fe1");
    assert_eq!(dev_b.register(DOMAIN), 200, "{b} registers on fe2");

    // a → b: in through fe1, to b's home server, out through fe2; b's 200 back the same way.
    let send =
        |from: &'static str, fe: std::net::SocketAddr, to: &'static str, text: &'static str| {
            std::thread::spawn(move || {
                UdpDevice::udp([127, 0, 0, 1].into(), fe, from, &format!("{from}-pw"))
                    .message(DOMAIN, to, from, text)
            })
        };
    let sent = send(a, fe1, b, "across the pool");
    let got = dev_b
        .answer_next("MESSAGE", Duration::from_secs(10))
        .expect("b's device gets it");
    assert_eq!(String::from_utf8_lossy(&got.body), "across the pool");
    assert_eq!(
        sent.join().unwrap(),
        200,
        "the device's 200 reaches the sender"
    );
    let sent = send(b, fe2, a, "and back");
    let got = dev_a
        .answer_next("MESSAGE", Duration::from_secs(10))
        .expect("a's device gets it");
    assert_eq!(String::from_utf8_lossy(&got.body), "and back");
    assert_eq!(sent.join().unwrap(), 200);

    // Offline: stored (202), delivered when the user registers on the other front end.
    assert_eq!(
        send(a, fe1, offline, "while you were out").join().unwrap(),
        202
    );
    let mut dev_o = UdpDevice::udp(
        [127, 0, 0, 1].into(),
        fe2,
        offline,
        &format!("{offline}-pw"),
    );
    assert_eq!(dev_o.register(DOMAIN), 200);
    let got = dev_o
        .answer_next("MESSAGE", Duration::from_secs(10))
        .expect("stored message delivered");
    assert_eq!(String::from_utf8_lossy(&got.body), "while you were out");

    // Each home server handled its own users' registrations.
    let logs: Vec<String> = pool.homes.iter().map(|h| plain(&h.log_text())).collect();
    let handled = |u: &str| {
        logs.iter()
            .position(|l| l.contains(&format!("registered aor={u}@")))
    };
    assert!(handled(a).is_some() && handled(b).is_some());
    assert_ne!(
        handled(a),
        handled(b),
        "a and b live on different home servers"
    );
    drop(pool.fronts);
}

/// `kill -9` of a home server under a continuous MESSAGE load: every message answered
/// 200 reached its recipient's device, every other one got an error or no answer (never a
/// false 200), and within seconds the dead server's users are served by the next one on
/// the ring — their registrations still valid, without registering again.
#[test]
fn a_home_server_killed_under_load_loses_no_acknowledged_message() {
    let _serial = serial();
    use std::{
        collections::HashSet,
        sync::{
            atomic::{AtomicBool, Ordering},
            Arc,
        },
        time::Instant,
    };

    const SENDERS: usize = 8;
    const LOAD: Duration = Duration::from_secs(15);
    let dir = test_dir("pool-failover");
    let mut pool = start_pool(dir.path(), 3, 2);
    let ids = ["hs1", "hs2", "hs3"];
    let ring = Ring::new(ids.iter().map(|i| Member::new(*i, 1))).unwrap();
    let owner = |u: &str| ring.owner(&format!("{u}@{DOMAIN}")).unwrap().0.clone();
    let victim_home = owner("bob");
    let other = ["carol", "dave", "erin", "fay", "gus"]
        .into_iter()
        .find(|u| owner(u) != victim_home)
        .unwrap();
    let recipients = ["bob", other];
    let senders: Vec<String> = (1..=SENDERS).map(|i| format!("sender{i}")).collect();
    for u in senders.iter().map(String::as_str).chain(recipients) {
        pool.homes[0].add_user(u, &format!("{u}-pw"));
    }
    let fe1 = pool.fronts[0].addr("udp");
    let fe2 = pool.fronts[1].addr("udp");
    let stop = Arc::new(AtomicBool::new(false));
    let devices: Vec<_> = recipients
        .iter()
        .map(|u| {
            let mut dev = UdpDevice::udp([127, 0, 0, 1].into(), fe2, u, &format!("{u}-pw"));
            assert_eq!(dev.register(DOMAIN), 200, "{u} registers");
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut got = HashSet::new();
                while !stop.load(Ordering::Relaxed) {
                    if let Some(m) = dev.answer_next("MESSAGE", Duration::from_millis(300)) {
                        got.insert(String::from_utf8_lossy(&m.body).into_owned());
                    }
                }
                got
            })
        })
        .collect();

    // Several senders at once, each sending its next message when the last is answered.
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sending: Vec<_> = senders
        .iter()
        .map(|u| {
            let mut dev = UdpDevice::udp([127, 0, 0, 1].into(), fe1, u, &format!("{u}-pw"));
            let next = next.clone();
            std::thread::spawn(move || {
                let mut out: Vec<(usize, &str, Option<u16>, Duration)> = Vec::new();
                while start.elapsed() < LOAD {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let to = recipients[i % 2];
                    let st = dev.try_message(DOMAIN, to, &format!("m{i}"), Duration::from_secs(5));
                    out.push((i, to, st, start.elapsed()));
                }
                out
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    let idx = ids.iter().position(|h| *h == victim_home).unwrap();
    pool.homes[idx].kill();
    let killed_at = start.elapsed();
    let results: Vec<(usize, &str, Option<u16>, Duration)> = sending
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let received: Vec<HashSet<String>> = devices.into_iter().map(|d| d.join().unwrap()).collect();

    let count = |f: &dyn Fn(&Option<u16>) -> bool| results.iter().filter(|r| f(&r.2)).count();
    let ok = count(&|s| *s == Some(200));
    let stored = count(&|s| *s == Some(202));
    let errors = count(&|s| matches!(s, Some(c) if *c >= 300));
    let silent = count(&|s| s.is_none());
    println!(
        "failover: {} sent by {SENDERS} senders in {LOAD:?} ({:.0}/s), {ok} answered 200, {stored} answered 202, {errors} refused with an error, {silent} unanswered; {victim_home} killed at {killed_at:?}",
        results.len(),
        results.len() as f64 / LOAD.as_secs_f64()
    );
    assert_eq!(stored, 0, "both recipients were registered throughout");
    // Every message got an answer: one the dead server took but never answered is
    // answered when the sender's retransmission reaches the next one.
    assert_eq!(silent, 0, "messages never answered");
    let lost: Vec<_> = results
        .iter()
        .filter(|(i, to, s, _)| {
            *s == Some(200)
                && !received[recipients.iter().position(|r| r == to).unwrap()]
                    .contains(&format!("m{i}"))
        })
        .collect();
    assert!(lost.is_empty(), "acknowledged but not delivered: {lost:?}");
    // Failover: bob (on the dead server) is served again within 3 s, without registering
    // again (a front end passes over a home server that refuses connections at once;
    // one that vanished without a word drops out with its 2 s membership).
    let back = results
        .iter()
        .filter(|(_, to, s, at)| *to == "bob" && *s == Some(200) && *at > killed_at)
        .map(|r| r.3 - killed_at)
        .min();
    println!("failover: bob served again {back:?} after the kill");
    assert!(
        back.is_some_and(|d| d < Duration::from_secs(3)),
        "bob not served again: {back:?}"
    );
    // The other user did not notice: every message to them answered 200.
    let other_failed: Vec<_> = results
        .iter()
        .filter(|(_, to, s, _)| *to == other && *s != Some(200))
        .collect();
    assert!(
        other_failed.is_empty(),
        "{other} (on a live home server) was affected: {other_failed:?}"
    );
}

/// A front end dies: its clients register again through the other one and continue;
/// what was stored for them is still delivered.
#[test]
fn a_front_end_killed_its_clients_continue_through_the_other() {
    let _serial = serial();
    let dir = test_dir("pool-fe-down");
    let mut pool = start_pool(dir.path(), 2, 2);
    for u in ["alice", "bob"] {
        pool.homes[0].add_user(u, &format!("{u}-pw"));
    }
    let fe1 = pool.fronts[0].addr("udp");
    let fe2 = pool.fronts[1].addr("udp");
    let mut bob = UdpDevice::udp([127, 0, 0, 1].into(), fe1, "bob", "bob-pw");
    assert_eq!(bob.register(DOMAIN), 200);
    let mut alice = UdpDevice::udp([127, 0, 0, 1].into(), fe2, "alice", "alice-pw");
    let sent = std::thread::spawn(move || {
        let s = alice.try_message(DOMAIN, "bob", "before", Duration::from_secs(5));
        (alice, s)
    });
    bob.answer_next("MESSAGE", Duration::from_secs(10))
        .expect("delivered through fe1");
    let (mut alice, s) = sent.join().unwrap();
    assert_eq!(s, Some(200));

    pool.fronts[0].kill();
    // bob's binding points at a dead front end: a message now finds no device and is
    // stored, not lost.
    assert_eq!(
        alice.try_message(DOMAIN, "bob", "while fe1 was down", Duration::from_secs(10)),
        Some(202)
    );
    // bob's phone notices and registers through fe2: the stored message arrives, and new
    // ones are delivered at once.
    let mut bob = UdpDevice::udp([127, 0, 0, 1].into(), fe2, "bob", "bob-pw");
    assert_eq!(bob.register(DOMAIN), 200);
    let got = bob
        .answer_next("MESSAGE", Duration::from_secs(10))
        .expect("stored message delivered");
    assert_eq!(String::from_utf8_lossy(&got.body), "while fe1 was down");
    let sent = std::thread::spawn(move || {
        alice.try_message(DOMAIN, "bob", "after", Duration::from_secs(5))
    });
    let got = bob
        .answer_next("MESSAGE", Duration::from_secs(10))
        .expect("delivered through fe2");
    assert_eq!(String::from_utf8_lossy(&got.body), "after");
    assert_eq!(sent.join().unwrap(), Some(200));
}

/// A home server writes bindings through to Redis without holding its other requests,
/// but never two REGISTERs of one user at once: a burst of REGISTERs, each adding a
/// contact of its own, loses none (two read-apply-writes of one AOR side by side would
/// each write back what it read plus its own contact, dropping the other's).
#[test]
fn a_burst_of_registers_for_one_user_loses_no_binding() {
    let _serial = serial();
    let dir = test_dir("pool-register-burst");
    let pool = start_pool(dir.path(), 1, 1);
    pool.homes[0].add_user("bob", "bob-pw");
    let fe = pool.fronts[0].addr("udp");
    let mut bob = UdpDevice::udp([127, 0, 0, 1].into(), fe, "bob", "bob-pw");
    let n = 12;
    let (statuses, query) = bob.register_burst(DOMAIN, n);
    assert_eq!(statuses, vec![200; n]);
    assert_eq!(query.status.as_u16(), 200);
    let mut lines: Vec<usize> = query
        .headers
        .get_all(&herald_sip::HeaderName::Contact)
        .filter_map(|c| c.split(";line=").nth(1)?.split('>').next()?.parse().ok())
        .collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        (1..=n).collect::<Vec<_>>(),
        "bindings after the burst"
    );
}

const BUSY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:bob@example.com">
 <tuple id="t1"><status><basic>open</basic></status></tuple>
 <dm:person id="p1"><rpid:activities><rpid:busy/></rpid:activities></dm:person>
</presence>"#;

/// Three home servers and two front ends; bob (who publishes PIDF) registered on the
/// first front end, alice on the second; bob's home server.
fn presence_pool(dir: &Path) -> (Pool, String, UdpDevice, UdpDevice) {
    let pool = start_pool(dir, 3, 2);
    let ring = Ring::new(["hs1", "hs2", "hs3"].iter().map(|i| Member::new(*i, 1))).unwrap();
    let victim = ring.owner(&format!("bob@{DOMAIN}")).unwrap().0.clone();
    for u in ["alice", "bob"] {
        pool.homes[0].add_user(u, &format!("{u}-pw"));
    }
    let fe1 = pool.fronts[0].addr("udp");
    let fe2 = pool.fronts[1].addr("udp");
    let mut bob = UdpDevice::udp([127, 0, 0, 1].into(), fe1, "bob", "bob-pw");
    bob.content_type = "application/pidf+xml".into();
    assert_eq!(bob.register(DOMAIN), 200);
    let alice = UdpDevice::udp([127, 0, 0, 1].into(), fe2, "alice", "alice-pw");
    (pool, victim, bob, alice)
}

/// The home server of a presentity dies: its watcher keeps getting NOTIFYs in the same
/// dialog (same Call-ID, CSeq going up) from the next home server on the ring, without
/// subscribing again.
#[test]
fn watchers_keep_their_subscription_when_the_presentitys_home_server_dies() {
    let _serial = serial();
    let dir = test_dir("pool-presence");
    let (mut pool, victim, mut bob, mut alice) = presence_pool(dir.path());
    let ids = ["hs1", "hs2", "hs3"];
    let x = alice.exchange(
        "SUBSCRIBE",
        &format!("sip:bob@{DOMAIN}"),
        "alice",
        DOMAIN,
        "",
    );
    assert_eq!(x.status(), 200, "alice subscribes to bob");
    let first = alice
        .next_request("NOTIFY", Duration::from_secs(5))
        .expect("initial NOTIFY");
    alice.answer(&first, 200);
    let call_id = first.headers.call_id().unwrap().to_owned();
    let cseq = |r: &herald_sip::Request| {
        r.headers
            .get(&herald_sip::HeaderName::CSeq)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let first_cseq = cseq(&first);
    std::thread::sleep(Duration::from_secs(1));

    let idx = ids.iter().position(|h| *h == victim).unwrap();
    pool.homes[idx].kill();
    // bob publishes busy: refused (503) while the dead server is still on the ring, then
    // taken by the next one.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let st = bob.try_publish(DOMAIN, BUSY, Duration::from_secs(3));
        if st == Some(200) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "PUBLISH never taken: {st:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let busy = loop {
        let n = alice.next_request("NOTIFY", Duration::from_secs(1));
        if let Some(n) = n {
            alice.answer(&n, 200);
            assert_eq!(n.headers.call_id().unwrap(), call_id, "the same dialog");
            assert!(cseq(&n) > first_cseq, "CSeq goes up");
            if String::from_utf8_lossy(&n.body).contains("busy") {
                break n;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no NOTIFY with bob busy after the failover"
        );
    };
    let state = busy
        .headers
        .get(&herald_sip::HeaderName::SubscriptionState)
        .unwrap_or("");
    assert!(state.starts_with("active"), "still active: {state}");
}

/// A PIDF document for bob whose note is `marker`.
fn pidf(marker: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@{DOMAIN}">
 <tuple id="t-{marker}"><status><basic>open</basic></status><note>{marker}</note></tuple>
</presence>"#
    )
}

/// A NOTIFY as the watcher saw it: CSeq, the home server named in its branch, body.
struct Seen {
    cseq: u64,
    home: String,
    branch: String,
    body: String,
}

fn seen(n: &herald_sip::Request) -> Seen {
    let cseq = n
        .headers
        .get(&herald_sip::HeaderName::CSeq)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let branch = n
        .headers
        .top_via()
        .ok()
        .and_then(|v| v.branch().map(str::to_owned))
        .unwrap_or_default();
    let home = branch
        .strip_prefix("z9hG4bK-")
        .and_then(|b| b.split('-').next())
        .unwrap_or_default()
        .to_owned();
    Seen {
        cseq,
        home,
        branch,
        body: String::from_utf8_lossy(&n.body).into_owned(),
    }
}

/// Fencing: a home server frozen (SIGSTOP) past its membership lease loses its
/// presentities to the next server; when it resumes it must not act on what it held —
/// here an authenticated PUBLISH that reached its socket while it was frozen, which an
/// unfenced server would take and NOTIFY from its old state with its old CSeq. The
/// watcher sees one dialog whose CSeq only goes up, never the refused state, NOTIFYs from
/// the next server while the first is frozen, and the latest state at the end.
#[test]
fn a_frozen_home_server_never_notifies_from_stale_state_when_it_returns() {
    let _serial = serial();
    let dir = test_dir("pool-fencing");
    let (pool, victim, mut bob, mut alice) = presence_pool(dir.path());
    let ids = ["hs1", "hs2", "hs3"];
    let uri = format!("sip:bob@{DOMAIN}");
    assert_eq!(
        alice
            .exchange("SUBSCRIBE", &uri, "alice", DOMAIN, "")
            .status(),
        200
    );
    let mut log: Vec<Seen> = Vec::new();
    let watch = |alice: &mut UdpDevice, log: &mut Vec<Seen>, until: &str, secs: u64| {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while std::time::Instant::now() < deadline {
            if let Some(n) = alice.next_request("NOTIFY", Duration::from_millis(200)) {
                alice.answer(&n, 200);
                let s = seen(&n);
                // A retransmission (its 200 was late or went astray while the ring
                // changed) is answered again, as a UA's transaction layer would, but is
                // not a new NOTIFY.
                if log.iter().any(|l| l.branch == s.branch) {
                    continue;
                }
                log.push(s);
                if !until.is_empty() && log.last().unwrap().body.contains(until) {
                    return true;
                }
            }
        }
        until.is_empty()
    };
    let before = bob.exchange("PUBLISH", &uri, "bob", DOMAIN, &pidf("before"));
    assert_eq!(before.status(), 200, "bob publishes");
    assert!(
        watch(&mut alice, &mut log, "before", 5),
        "NOTIFY with the first state"
    );
    assert_eq!(log.last().unwrap().home, victim, "{victim} owns bob");

    let idx = ids.iter().position(|h| *h == victim).unwrap();
    pool.homes[idx].freeze(true);
    // An authenticated PUBLISH (a fresh nonce count on the same nonce) that only the
    // frozen server gets: it waits in its socket; the front end gives up on it (503).
    let challenge = herald_sip::auth::Challenge::parse(
        before
            .first
            .headers
            .get(&herald_sip::HeaderName::ProxyAuthenticate)
            .expect("PUBLISH challenged"),
    )
    .unwrap();
    let creds = challenge.answer("bob", "bob-pw", "PUBLISH", &uri, 2, "devclient");
    let stale = bob.build("PUBLISH", &uri, "bob", DOMAIN, Some(&creds), &pidf("stale"));
    bob.wire.send_raw(stale.as_bytes());
    std::thread::sleep(Duration::from_millis(300));
    // bob goes on publishing: refused while the frozen server is on the ring, then taken
    // by the next one.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut n = 0;
    let taken = loop {
        n += 1;
        let marker = format!("after{n}");
        if bob.try_publish(DOMAIN, &pidf(&marker), Duration::from_secs(3)) == Some(200) {
            break marker;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no PUBLISH taken while {victim} is frozen"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        watch(&mut alice, &mut log, &taken, 10),
        "no NOTIFY with {taken} while {victim} is frozen"
    );
    let heir = log.last().unwrap().home.clone();
    assert_ne!(heir, victim, "the NOTIFY came from the next home server");

    pool.homes[idx].freeze(false);
    // It rejoins; bob's presence moves back to it once the others have let go.
    watch(&mut alice, &mut log, "", 6);
    assert_eq!(
        bob.try_publish(DOMAIN, &pidf("final"), Duration::from_secs(3)),
        Some(200),
        "bob publishes after the return"
    );
    assert!(
        watch(&mut alice, &mut log, "final", 10),
        "NOTIFY with the final state"
    );

    let trail: Vec<(u64, &str)> = log.iter().map(|s| (s.cseq, s.home.as_str())).collect();
    println!("fencing: NOTIFYs (CSeq, home): {trail:?}");
    assert!(
        log.windows(2).all(|w| w[1].cseq > w[0].cseq),
        "CSeq went back (a stale NOTIFY): {trail:?}"
    );
    assert!(
        log.iter().all(|s| !s.body.contains("stale")),
        "the PUBLISH the frozen server held was acted upon: {trail:?}"
    );
    let text = plain(&pool.homes[idx].log_text());
    assert!(
        text.contains("membership lease lapsed"),
        "{victim} did not notice its lease lapsed"
    );
}

/// A home server joins a running pool: only its share of the users moves to it (the
/// ring's promise, ≈1/N), and a watcher of a presentity that moved keeps its dialog.
#[test]
fn a_joining_home_server_takes_only_its_share_and_subscriptions_continue() {
    let _serial = serial();
    let dir = test_dir("pool-join");
    let mut pool = start_pool(dir.path(), 2, 1);
    let two = Ring::new(["hs1", "hs2"].iter().map(|i| Member::new(*i, 1))).unwrap();
    let three = Ring::new(["hs1", "hs2", "hs3"].iter().map(|i| Member::new(*i, 1))).unwrap();
    let names: Vec<String> = (0..300).map(|i| format!("user{i}@{DOMAIN}")).collect();
    let moved: Vec<&String> = names
        .iter()
        .filter(|n| two.owner(n).unwrap() != three.owner(n).unwrap())
        .collect();
    assert!(
        moved.iter().all(|n| three.owner(n).unwrap().0 == "hs3"),
        "users move only to the new server"
    );
    println!(
        "join: {} of {} users move to hs3 (1/3 would be 100)",
        moved.len(),
        names.len()
    );
    assert!(
        (70..=130).contains(&moved.len()),
        "about a third moves: {}",
        moved.len()
    );

    // A presentity that moves, watched across the join.
    let p = moved[0].split('@').next().unwrap().to_owned();
    for u in ["alice", p.as_str()] {
        pool.homes[0].add_user(u, &format!("{u}-pw"));
    }
    let fe = pool.fronts[0].addr("udp");
    let mut presentity = UdpDevice::udp([127, 0, 0, 1].into(), fe, &p, &format!("{p}-pw"));
    let mut alice = UdpDevice::udp([127, 0, 0, 1].into(), fe, "alice", "alice-pw");
    let x = alice.exchange(
        "SUBSCRIBE",
        &format!("sip:{p}@{DOMAIN}"),
        "alice",
        DOMAIN,
        "",
    );
    assert_eq!(x.status(), 200);
    let first = alice
        .next_request("NOTIFY", Duration::from_secs(5))
        .expect("initial NOTIFY");
    alice.answer(&first, 200);
    let call_id = first.headers.call_id().unwrap().to_owned();
    std::thread::sleep(Duration::from_secs(1));

    // hs3 joins.
    let env = node_env(&pool.homes[0].env, &dir.path().join("hs3"), "hs3");
    pool.homes
        .push(Server::start_command(dir.path(), &["homeserver"], env));
    std::thread::sleep(Duration::from_secs(2));
    // The presentity registers (on hs3 now): the watcher hears it in the same dialog.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while presentity.register(DOMAIN) != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "registering after the join"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(n) = alice.next_request("NOTIFY", Duration::from_secs(1)) {
            alice.answer(&n, 200);
            assert_eq!(n.headers.call_id().unwrap(), call_id, "the same dialog");
            if String::from_utf8_lossy(&n.body).contains("<basic>open</basic>") {
                break;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no NOTIFY showing {p} online after the join"
        );
    }
    let hs3_log = plain(&pool.homes[2].log_text());
    assert!(
        hs3_log.contains(&format!("registered aor={p}@")),
        "hs3 took the registration of the user it now owns"
    );
}

/// One message from alice to bob while bob's device answers: its status, recorded with
/// its body; every body bob's device got goes into `received`.
fn round(
    i: usize,
    bob: &mut UdpDevice,
    alice: &mut UdpDevice,
    statuses: &mut Vec<(String, Option<u16>)>,
    received: &mut std::collections::HashSet<String>,
) -> Option<u16> {
    let body = format!("r{i}");
    let st = std::thread::scope(|s| {
        let h = s.spawn(|| alice.try_message(DOMAIN, "bob", &body, Duration::from_secs(4)));
        while let Some(m) = bob.answer_next("MESSAGE", Duration::from_millis(800)) {
            received.insert(String::from_utf8_lossy(&m.body).into_owned());
        }
        h.join().unwrap()
    });
    statuses.push((body, st));
    st
}

/// Redis restarts (empty), then PostgreSQL restarts, under a light load: the pool comes
/// back by itself — nodes announce themselves again, connections are re-made — and no
/// message answered 200 or 202 is lost.
#[test]
fn the_pool_recovers_from_redis_then_postgres_restarts() {
    let _serial = serial();
    let dir = test_dir("pool-stores-restart");
    let mut pool = start_pool(dir.path(), 2, 1);
    for u in ["alice", "bob"] {
        pool.homes[0].add_user(u, &format!("{u}-pw"));
    }
    let fe = pool.fronts[0].addr("udp");
    let mut bob = UdpDevice::udp([127, 0, 0, 1].into(), fe, "bob", "bob-pw");
    assert_eq!(bob.register(DOMAIN), 200);
    let mut alice = UdpDevice::udp([127, 0, 0, 1].into(), fe, "alice", "alice-pw");
    let mut statuses = Vec::new();
    let mut received = std::collections::HashSet::new();
    assert_eq!(
        round(0, &mut bob, &mut alice, &mut statuses, &mut received),
        Some(200)
    );

    pool._redis.kill();
    pool._redis.restart();
    // Bindings were in the lost Redis: bob's phone registers again (its next refresh).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut i = 0;
    loop {
        i += 1;
        let _ = bob.try_register(DOMAIN, Duration::from_secs(3));
        if round(i, &mut bob, &mut alice, &mut statuses, &mut received) == Some(200) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no delivery after the Redis restart: {statuses:?}"
        );
    }
    pool._pg.kill();
    pool._pg.restart();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        i += 1;
        if round(i, &mut bob, &mut alice, &mut statuses, &mut received) == Some(200) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no delivery after the PostgreSQL restart: {statuses:?}"
        );
    }
    // Messages answered 202 (stored) are delivered on the next registration.
    let _ = bob.try_register(DOMAIN, Duration::from_secs(3));
    while let Some(m) = bob.answer_next("MESSAGE", Duration::from_secs(2)) {
        received.insert(String::from_utf8_lossy(&m.body).into_owned());
    }
    println!("store restarts: {statuses:?}");
    for (body, st) in &statuses {
        if matches!(st, Some(200) | Some(202)) {
            assert!(
                received.contains(body),
                "{body} acknowledged ({st:?}) but never delivered"
            );
        }
    }
}

/// A home server whose gRPC port is taken stops and says why, instead of joining the
/// ring with an address where something else answers.
#[test]
fn a_home_server_that_cannot_listen_for_grpc_stops_and_names_the_address() {
    let _serial = serial();
    let dir = test_dir("pool-grpc-taken");
    let pg = Postgres::start(dir.path());
    let redis = Redis::start(dir.path());
    let mut env = Server::settings(dir.path());
    env.insert("HERALD_STORE".into(), "pool".into());
    env.insert("HERALD_POSTGRES_URL".into(), pg.create_database("herald"));
    env.insert("HERALD_REDIS_URL".into(), redis.url());
    let mut env = node_env(&env, &dir.path().join("hs1"), "hs1");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    env.insert("HERALD_GRPC".into(), addr.to_string());
    let mut child = std::process::Command::new(herald_tests::herald_bin())
        .arg("homeserver")
        .envs(&env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the home server kept running without its gRPC port");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success());
    assert!(
        err.contains(&format!("cannot listen for gRPC on {addr}")),
        "stderr names the address: {err}"
    );
}
