//! Notifications end to end (`heraldctl notify`, the REST API behind it) against a real
//! SMTP server (aiosmtpd) on loopback: a signed-in recipient gets the SIP MESSAGE and no
//! mail; a signed-out one gets the mail with the subject and text; a busy one gets mail
//! under the default policy, and SIP when the notification is urgent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use herald_tests::{
    api::{Ctl, CtlRun},
    smtp::Smtp,
    test_dir,
    udp::UdpDevice,
    Server, DOMAIN,
};
use serde_json::Value;

const BUSY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:carol@example.com">
 <tuple id="t1"><status><basic>open</basic></status></tuple>
 <dm:person id="p1"><rpid:activities><rpid:busy/></rpid:activities></dm:person>
</presence>"#;

/// Runs `heraldctl --json notify ARGS` in a thread (it waits for a device to answer).
fn notify(ctl: &Ctl, args: &[&str]) -> std::thread::JoinHandle<CtlRun> {
    let ctl = Ctl {
        url: ctl.url.clone(),
        token: ctl.token.clone(),
    };
    let mut all: Vec<String> = vec!["--json".into(), "notify".into()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    std::thread::spawn(move || {
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        ctl.run(&refs)
    })
}

fn result(run: CtlRun) -> Value {
    let v = run.json();
    v.as_array().unwrap()[0].clone()
}

fn wait_for_mails(smtp: &Smtp, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let m = smtp.mails();
        if m.len() >= n || Instant::now() > deadline {
            return m;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn notifications_go_by_sip_to_the_signed_in_and_by_mail_to_the_others() {
    let dir = test_dir("notify");
    let smtp = Smtp::start(dir.path());
    let relay = format!("127.0.0.1:{}", smtp.port);
    let s = Server::start(dir.path(), &[("HERALD_SMTP", relay.as_str())]);
    let ctl = Ctl::new(&s);
    let csv = Ctl::file(
        dir.path(),
        "users.csv",
        "address,password,email\nalice,alice-pw,alice@mail.example\nbob,bob-pw,bob@mail.example\n\
         carol,carol-pw,carol@mail.example\ndave,dave-pw,\n",
    );
    ctl.run(&["user", "import", &csv]).ok("users");
    let udp = s.addr("udp");
    let mut alice = UdpDevice::udp([127, 0, 0, 1].into(), udp, "alice", "alice-pw");
    assert_eq!(alice.register(DOMAIN), 200);
    let mut carol = UdpDevice::udp([127, 0, 0, 1].into(), udp, "carol", "carol-pw");
    assert_eq!(carol.register(DOMAIN), 200);

    // Signed in: SIP, reported delivered only once the device answered; no mail.
    let run = notify(
        &ctl,
        &["--to", "alice", "--subject", "Disk", "disk full on db1"],
    );
    let msg = alice
        .next_request("MESSAGE", Duration::from_secs(10))
        .expect("alice gets the MESSAGE");
    let text = String::from_utf8_lossy(&msg.body).into_owned();
    assert!(
        text.contains("Disk") && text.contains("disk full on db1"),
        "{text}"
    );
    assert!(
        herald_tests::device::from_uri(&msg).contains("herald@example.com"),
        "from the service identity"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !run.is_finished(),
        "not reported before the device answered"
    );
    alice.answer(&msg, 200);
    let r = result(run.join().unwrap().ok("notify alice"));
    assert_eq!(
        (r["channel"].as_str(), r["outcome"].as_str()),
        (Some("sip"), Some("delivered")),
        "{r}"
    );

    // Signed out: mail with the subject and the text.
    let r = result(
        notify(
            &ctl,
            &["--to", "bob", "--subject", "Disk", "disk full on db2"],
        )
        .join()
        .unwrap()
        .ok("notify bob"),
    );
    assert_eq!(
        (r["channel"].as_str(), r["outcome"].as_str()),
        (Some("email"), Some("sent")),
        "{r}"
    );
    let mails = wait_for_mails(&smtp, 1);
    assert_eq!(mails.len(), 1, "one mail, and none for alice: {mails:?}");
    let m = &mails[0];
    assert!(
        m.contains("Subject: Disk") && m.contains("disk full on db2"),
        "{m}"
    );
    assert!(m.contains("To: bob@mail.example"), "{m}");

    // Busy: mail under the default policy, and no MESSAGE to her device.
    carol.content_type = "application/pidf+xml".into();
    let x = carol.exchange(
        "PUBLISH",
        &format!("sip:carol@{DOMAIN}"),
        "carol",
        DOMAIN,
        BUSY,
    );
    assert_eq!(x.status(), 200, "carol publishes busy");
    let r = result(
        notify(
            &ctl,
            &["--to", "carol", "--subject", "Backup", "backup late"],
        )
        .join()
        .unwrap()
        .ok("notify carol"),
    );
    assert_eq!(
        (r["channel"].as_str(), r["outcome"].as_str()),
        (Some("email"), Some("sent")),
        "{r}"
    );
    assert!(r["detail"].as_str().unwrap().contains("busy"), "{r}");
    assert!(
        carol
            .next_request("MESSAGE", Duration::from_millis(700))
            .is_none(),
        "a busy user is not interrupted"
    );
    let mails = wait_for_mails(&smtp, 2);
    assert!(
        mails
            .iter()
            .any(|m| m.contains("To: carol@mail.example") && m.contains("backup late")),
        "{mails:?}"
    );

    // Busy but urgent: SIP, with Priority: urgent.
    let run = notify(&ctl, &["--to", "carol", "--urgency", "high", "db1 down"]);
    let msg = carol
        .answer_next("MESSAGE", Duration::from_secs(10))
        .expect("urgent goes by SIP");
    assert_eq!(
        msg.headers
            .get(&herald_sip::HeaderName::Other("Priority".into())),
        Some("urgent")
    );
    let r = result(run.join().unwrap().ok("urgent"));
    assert_eq!(r["channel"], "sip", "{r}");

    // No device and no address: reported, with a non-zero exit.
    let run = notify(&ctl, &["--to", "dave", "hello"]).join().unwrap();
    assert_eq!(run.code, Some(65));
    let r = result(run);
    assert_eq!(
        (r["channel"].as_str(), r["outcome"].as_str()),
        (Some("none"), Some("undelivered")),
        "{r}"
    );
    assert_eq!(smtp.mails().len(), 2, "no other mail was sent");

    // Every notification is archived with what became of it.
    let deadline = Instant::now() + Duration::from_secs(3);
    let outcomes = loop {
        let found = ctl
            .run(&[
                "--json",
                "archive",
                "search",
                "--user",
                "herald@example.com",
            ])
            .ok("archive")
            .json();
        let outcomes: Vec<String> = found
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{}:{}",
                    r["recipients"][0].as_str().unwrap(),
                    r["outcome"].as_str().unwrap()
                )
            })
            .collect();
        if outcomes.len() >= 5 || Instant::now() > deadline {
            break outcomes;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        outcomes,
        [
            "alice@example.com:delivered:200",
            "bob@example.com:mailed",
            "carol@example.com:mailed",
            "carol@example.com:delivered:200",
            "dave@example.com:undelivered",
        ]
    );
}
