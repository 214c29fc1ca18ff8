//! Offline messages and restarts: a MESSAGE to a user with no device is stored and
//! answered 202; the process is killed (no graceful shutdown) and started again; the
//! registrations and the stored message are still there, and the message is delivered
//! when the recipient registers, then removed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_tests::{free_port, sipp::Sipp, test_dir, Server};

#[test]
fn stored_message_and_bindings_survive_a_crash_and_are_delivered() {
    let dir = test_dir("restart");
    let mut s = Server::start(dir.path(), &[]);
    for (u, p) in [
        ("alice", "alice-pw"),
        ("bob", "bob-pw"),
        ("carol", "carol-pw"),
    ] {
        s.add_user(u, p);
    }
    // Carol registers a device before the crash.
    let carol_phone = free_port();
    let contact = format!("127.0.0.1:{carol_phone}");
    s.register(dir.path(), "carol-reg", "carol", "carol-pw", &contact);
    // Bob has no device: the message is stored.
    s.message(dir.path(), "alice-to-bob", "alice", "bob", "202 Accepted");

    let env = s.env.clone();
    s.kill();
    let s = Server::start_with(dir.path(), env);

    // Carol's binding survived: a message to her reaches her device.
    let carol_device = Sipp {
        port: carol_phone,
        ..Sipp::new(dir.path(), "carol-device", "message_uas.xml")
    }
    .spawn()
    .settle();
    s.message(dir.path(), "alice-to-carol", "alice", "carol", "200 OK");
    carol_device.wait().assert_ok("carol's device receives");

    // Bob registers: the stored message is delivered to his device.
    let got = s.receives_stored(dir.path(), "bob", "alice");
    assert!(
        got.messages.contains("Date: "),
        "stored messages carry their date:\n{}",
        got.messages
    );

    // Delivered means removed: a new registration brings no second copy.
    let spare = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    spare
        .set_read_timeout(Some(std::time::Duration::from_millis(1500)))
        .unwrap();
    let spare_contact = spare.local_addr().unwrap().to_string();
    s.register(dir.path(), "bob-reg2", "bob", "bob-pw", &spare_contact);
    let mut buf = [0u8; 4096];
    if let Ok(n) = spare.recv(&mut buf) {
        panic!(
            "a delivered message came again:\n{}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
    let archive = s.cli(&["archive", "bob"]);
    let text = String::from_utf8(archive.stdout).unwrap();
    assert!(text.contains("\"outcome\":\"stored\""), "{text}");
}

#[test]
fn sigterm_shuts_down_cleanly_and_the_ports_are_free_again() {
    let dir = test_dir("sigterm");
    let mut s = Server::start(dir.path(), &[]);
    let env = s.env.clone();
    assert!(
        s.stop(),
        "herald did not exit 0 on SIGTERM:\n{}",
        s.log_text()
    );
    assert!(s.log_text().contains("shutting down"));
    // The same ports bind again at once.
    let mut again = Server::start_with(dir.path(), env);
    assert!(again.alive());
}
