//! Two real SIP clients (baresip) register with the running server and exchange a
//! MESSAGE. baresip 1.0 (Debian 12) speaks MD5 digest only and refuses a challenge set
//! that includes SHA-256: this is why MD5 alone is the default offer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use herald_tests::{free_port, require, test_dir, Server, DOMAIN};

/// A baresip configuration directory for `user`, messaging `peer` by default, with
/// `extra` modules (`presence.so`).
fn client(
    dir: &Path,
    user: &str,
    password: &str,
    peer: &str,
    server: std::net::SocketAddr,
    extra: &[&str],
) -> std::path::PathBuf {
    let d = dir.join(format!("baresip-{user}"));
    std::fs::create_dir_all(&d).unwrap();
    // baresip listens on the port for UDP and TCP and on the next one for TLS: both are
    // taken from `free_port`, so a second client is never handed this one's TLS port.
    let port = loop {
        let p = free_port();
        if free_port() == p + 1 {
            break p;
        }
    };
    std::fs::write(
        d.join("config"),
        format!(
            "sip_listen 127.0.0.1:{port}\nmodule_path /usr/lib/baresip/modules\n\
             module_app account.so\nmodule_app contact.so\nmodule_app menu.so\n{}",
            extra
                .iter()
                .map(|m| format!("module_app {m}\n"))
                .collect::<String>()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("accounts"),
        format!("<sip:{user}@{DOMAIN}>;auth_pass={password};outbound=\"sip:{server};transport=udp\";regint=600\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("contacts"),
        // `presence=p2p` makes baresip's presence module subscribe to the contact.
        format!("\"Peer\" <sip:{peer}@{DOMAIN}>;presence=p2p\n"),
    )
    .unwrap();
    std::fs::write(d.join("current_contact"), format!("sip:{peer}@{DOMAIN}")).unwrap();
    d
}

/// Starts baresip on configuration `dir` with `args`, its output in `out`.
fn spawn(baresip: &Path, dir: &Path, args: &[&str], out: &Path) -> std::process::Child {
    Command::new(baresip)
        .arg("-f")
        .arg(dir)
        .args(args)
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn two_baresip_clients_register_and_exchange_a_message() {
    let baresip = require("baresip", "baresip");
    let dir = test_dir("baresip");
    let s = Server::start(dir.path(), &[]);
    s.add_user("alice", "alice-pw");
    s.add_user("bob", "bob-pw");
    let server = s.addr("udp");
    let bob_dir = client(dir.path(), "bob", "bob-pw", "alice", server, &[]);
    let alice_dir = client(dir.path(), "alice", "alice-pw", "bob", server, &[]);
    let bob_out = dir.path().join("bob.out");
    // -s traces SIP on stdout, so bob's output shows the MESSAGE he received.
    let mut bob = spawn(&baresip, &bob_dir, &["-s", "-t", "20"], &bob_out);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    wait_for("bob's registration", || {
        read(&bob_out).contains("bob@example.com: {0/UDP/v4} 200 OK")
    });
    let alice_out = dir.path().join("alice.out");
    let mut alice = spawn(
        &baresip,
        &alice_dir,
        &["-t", "20", "-e", "/message hello bob from baresip\n"],
        &alice_out,
    );
    wait_for("the MESSAGE at bob's client", || {
        read(&bob_out).contains("hello bob from baresip")
    });
    wait_for("alice's registration", || {
        read(&alice_out).contains("alice@example.com: {0/UDP/v4} 200 OK")
    });
    let _ = (alice.kill(), bob.kill(), alice.wait(), bob.wait());
    let bob_trace = read(&bob_out);
    assert!(
        bob_trace.contains("\nMESSAGE sip:bob") && bob_trace.contains("<sip:alice@example.com>"),
        "{bob_trace}"
    );
    // alice's outbound-proxy Route names the server: removed before forwarding (§16.4).
    let message = bob_trace.split("\nMESSAGE sip:bob").nth(1).unwrap_or("");
    let headers: Vec<&str> = message
        .lines()
        .take_while(|l| !l.trim_end_matches('\r').is_empty())
        .collect();
    assert!(
        !headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("route:")),
        "our own Route was forwarded: {headers:?}"
    );
    let archive = s.archive("alice", 1).join("\n");
    assert!(
        archive.contains("\"outcome\":\"delivered:200\"")
            && archive.contains("hello bob from baresip"),
        "{archive}"
    );
}

/// baresip's presence module subscribes to the contacts in its address book through the
/// server; when the buddy publishes "busy" (sipp here), baresip shows the buddy busy.
#[test]
fn baresip_sees_its_buddy_turn_busy() {
    let baresip = require("baresip", "baresip");
    let dir = test_dir("baresip-presence");
    let s = Server::start(dir.path(), &[("HERALD_NOTIFY_MIN_INTERVAL_MS", "100")]);
    s.add_user("alice", "alice-pw");
    s.add_user("bob", "bob-pw");
    let server = s.addr("udp");
    let alice_dir = client(
        dir.path(),
        "alice",
        "alice-pw",
        "bob",
        server,
        &["presence.so"],
    );
    let alice_out = dir.path().join("alice.out");
    let mut alice = spawn(&baresip, &alice_dir, &["-s", "-t", "30"], &alice_out);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    wait_for("alice's first NOTIFY about bob", || {
        read(&alice_out).contains("NOTIFY sip:alice")
    });
    herald_tests::sipp::Sipp::new(dir.path(), "bob-publish", "publish.xml")
        .to(server)
        .fields(&[
            "bob",
            DOMAIN,
            &herald_tests::auth_field("bob", "bob-pw"),
            "open",
            "busy",
        ])
        .run()
        .assert_ok("bob publishes busy");
    wait_for("baresip showing bob busy", || {
        read(&alice_out)
            .lines()
            .any(|l| l.contains("sip:bob@example.com") && l.to_ascii_lowercase().contains("busy"))
    });
    let _ = (alice.kill(), alice.wait());
    let trace = read(&alice_out);
    let line = trace
        .lines()
        .find(|l| l.contains("sip:bob@example.com") && l.to_ascii_lowercase().contains("busy"))
        .unwrap_or("");
    eprintln!("baresip: {line}");
}
