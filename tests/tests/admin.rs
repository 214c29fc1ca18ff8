//! The admin API through the real `heraldctl` binary: users in bulk from CSV (the bad
//! line reported, the others created and able to sign in), a buddy-list edit reaching
//! the owner's list subscription in its next NOTIFY, the archive searched for a message
//! a sipp client sent, and a 401 from every route of the OpenAPI document without a
//! valid token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use herald_tests::{api::Ctl, auth_field, sipp::Sipp, test_dir, udp::UdpDevice, Server, DOMAIN};
use serde_json::Value;

fn buddy_list(buddies: &[&str]) -> String {
    let entries: String = buddies
        .iter()
        .map(|b| {
            format!("  <entry uri=\"sip:{b}@{DOMAIN}\"><display-name>{b}</display-name></entry>\n")
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\">\n <list name=\"Team\">\n{entries} </list>\n</resource-lists>\n"
    )
}

#[test]
fn bulk_import_reports_the_bad_line_and_creates_the_others() {
    let dir = test_dir("admin-import");
    let s = Server::start(dir.path(), &[]);
    let ctl = Ctl::new(&s);
    let csv = Ctl::file(
        dir.path(),
        "users.csv",
        "address,display_name,password,email\n\
         alice,Alice Liddell,alice-pw,alice@mail.example\n\
         bob@elsewhere.org,Bob,bob-pw,\n\
         carol,Carol,carol-pw,\n\
         dave,Dave,dave-pw,dave@mail.example\n",
    );
    let dry = ctl.run(&["user", "import", "--dry-run", &csv]);
    assert_eq!(dry.code, Some(65), "{}", dry.stderr);
    assert!(
        dry.stdout.contains("3 user(s) would be created"),
        "{}",
        dry.stdout
    );
    let none = ctl
        .run(&["--json", "user", "list"])
        .ok("list after dry run");
    assert_eq!(
        none.json().as_array().unwrap().len(),
        0,
        "a dry run creates no one"
    );

    let run = ctl.run(&["user", "import", &csv]);
    assert_eq!(
        run.code,
        Some(65),
        "a bad line is a data error: {}",
        run.stderr
    );
    assert!(
        run.stdout.contains("3 user(s) created, 1 bad line(s)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("line 3:") && run.stderr.contains("elsewhere.org"),
        "the bad line is named with its reason: {}",
        run.stderr
    );
    let list = ctl.run(&["--json", "user", "list"]).ok("list").json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["alice@example.com", "carol@example.com", "dave@example.com"]
    );
    assert_eq!(list[0]["display_name"], "Alice Liddell");
    assert_eq!(list[0]["email"], "alice@mail.example");

    // Imported credentials work: carol signs in with hers, not with another.
    let mut carol = UdpDevice::udp([127, 0, 0, 1].into(), s.addr("udp"), "carol", "carol-pw");
    assert_eq!(carol.register(DOMAIN), 200);
    let mut wrong = UdpDevice::udp([127, 0, 0, 1].into(), s.addr("udp"), "dave", "carol-pw");
    assert_eq!(wrong.register(DOMAIN), 403);

    // Importing the same file again: every good line is now a duplicate.
    let again = ctl.run(&["user", "import", &csv]);
    assert!(
        again.stdout.contains("0 user(s) created, 4 bad line(s)"),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stderr
            .contains("user alice@example.com already exists"),
        "{}",
        again.stderr
    );

    // Errors name what is wrong, with their exit codes.
    let missing = ctl.run(&["user", "show", "zed"]);
    assert_eq!(missing.code, Some(65));
    assert!(
        missing.stderr.contains("no user zed@example.com"),
        "{}",
        missing.stderr
    );
    let gone = Ctl {
        url: "http://127.0.0.1:9".into(),
        token: ctl.token.clone(),
    }
    .run(&["flows"]);
    assert_eq!(gone.code, Some(69));
    assert!(
        gone.stderr
            .contains("server unreachable at http://127.0.0.1:9"),
        "{}",
        gone.stderr
    );
}

#[test]
fn a_buddy_list_edit_reaches_the_next_list_notify() {
    let dir = test_dir("admin-buddies");
    let s = Server::start(dir.path(), &[("HERALD_NOTIFY_MIN_INTERVAL_MS", "100")]);
    for u in ["alice", "bob", "carol"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let ctl = Ctl::new(&s);
    let first = Ctl::file(dir.path(), "first.xml", &buddy_list(&["bob"]));
    ctl.run(&["buddies", "set", "alice", &first])
        .ok("set the first list");
    let auth = auth_field("alice", "alice-pw");
    let watcher = Sipp::new(dir.path(), "alice-list", "subscribe_watch.xml")
        .to(s.addr("udp"))
        .fields(&["alice", DOMAIN, &auth, "alice-list", "presence"])
        .spawn();
    std::thread::sleep(Duration::from_millis(1500));
    let second = Ctl::file(dir.path(), "second.xml", &buddy_list(&["bob", "carol"]));
    ctl.run(&["buddies", "set", "alice", &second])
        .ok("edit the list");
    let out = watcher.wait();
    out.assert_ok("alice's list subscription");
    let notifies: Vec<&str> = out.messages.split("NOTIFY sip:").skip(1).collect();
    assert!(notifies.len() >= 2, "{}", out.messages);
    let carol = format!("<resource uri=\"sip:carol@{DOMAIN}\"");
    assert!(
        !notifies[0].contains(&carol),
        "carol is not on the first list"
    );
    assert!(
        notifies[1].contains(&carol),
        "the edit shows in the next NOTIFY:\n{}",
        notifies[1]
    );
    let stored = ctl.run(&["buddies", "get", "alice"]).ok("read back").stdout;
    assert!(stored.contains(&format!("sip:carol@{DOMAIN}")), "{stored}");
    let bad = Ctl::file(dir.path(), "bad.xml", "<resource-lists><list>");
    let refused = ctl.run(&["buddies", "set", "alice", &bad]);
    assert_eq!(refused.code, Some(65));
    assert!(
        refused
            .stderr
            .contains("not a valid resource-lists document"),
        "{}",
        refused.stderr
    );
}

#[test]
fn the_archive_finds_a_message_a_sipp_client_sent() {
    let dir = test_dir("admin-archive");
    let s = Server::start(dir.path(), &[]);
    for u in ["alice", "bob", "carol"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let auth = auth_field("alice", "alice-pw");
    Sipp::new(dir.path(), "alice", "message_uac.xml")
        .to(s.addr("udp"))
        .fields(&["alice", DOMAIN, &auth, "bob"])
        .run()
        .assert_ok("alice sends to bob (offline: stored)");
    let ctl = Ctl::new(&s);
    let search = |args: &[&str]| -> Vec<Value> {
        let mut all = vec!["--json", "archive", "search"];
        all.extend_from_slice(args);
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let found = ctl.run(&all).ok("archive search").json();
            let found = found.as_array().unwrap().clone();
            if !found.is_empty() || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let hits = search(&["--user", "alice", "--text", "hello from HERALD"]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["sender"], "alice@example.com");
    assert_eq!(hits[0]["recipients"][0], "bob@example.com");
    assert_eq!(hits[0]["outcome"], "stored");
    assert!(hits[0]["text"]
        .as_str()
        .unwrap()
        .starts_with("Hello from Herald test"));
    assert_eq!(
        search(&["--user", "alice", "--peer", "bob", "--since", "1h"]).len(),
        1
    );
    assert!(search(&["--user", "alice", "--peer", "carol"]).is_empty());
    assert!(search(&["--user", "alice", "--text", "goodbye"]).is_empty());
    let csv = ctl
        .run(&["archive", "export", "--format", "csv", "--user", "bob"])
        .ok("export")
        .stdout;
    assert!(csv.starts_with("id,at_ms,sender"), "{csv}");
    assert!(
        csv.contains("alice@example.com") && csv.contains("Hello from Herald test"),
        "{csv}"
    );
    let purged = ctl
        .run(&["--json", "archive", "purge", "--older-than-days", "1"])
        .ok("purge")
        .json();
    assert_eq!(purged["deleted"], 0, "nothing is a day old");
}

#[test]
fn every_route_needs_a_valid_token() {
    let dir = test_dir("admin-tokens");
    let s = Server::start(dir.path(), &[]);
    s.add_user("alice", "alice-pw");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let base = s.api_url();
    let mut doc = agent
        .get(format!("{base}/api/v1/openapi.json"))
        .call()
        .unwrap();
    assert_eq!(doc.status().as_u16(), 200, "the OpenAPI document is public");
    let doc: Value = serde_json::from_str(&doc.body_mut().read_to_string().unwrap()).unwrap();
    let out = s.cli(&["token", "create", "probe"]);
    let good = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let url = format!("{base}{}", path.replace("{address}", "alice"));
        for method in ops.as_object().unwrap().keys() {
            for auth in [
                None,
                Some("Bearer hrld_not-a-token"),
                Some("Basic YWRtaW46YWRtaW4="),
            ] {
                let req = ureq::http::Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(&url);
                let req = match auth {
                    Some(a) => req.header("Authorization", a),
                    None => req,
                };
                let resp = agent.run(req.body(()).unwrap()).unwrap();
                assert_eq!(resp.status().as_u16(), 401, "{method} {path} with {auth:?}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} operations in the document");
    // A valid token works; revoked, it stops working at once.
    let users = |token: &str| {
        agent
            .get(format!("{base}/api/v1/users"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(users(&good), 200);
    assert!(s.cli(&["token", "revoke", "probe"]).status.success());
    assert_eq!(users(&good), 401, "revoked");
}

#[test]
fn the_api_is_served_over_tls_when_a_certificate_is_set() {
    let dir = test_dir("admin-tls");
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = Ctl::file(dir.path(), "api-cert.pem", &ck.cert.pem());
    let key = Ctl::file(dir.path(), "api-key.pem", &ck.signing_key.serialize_pem());
    let api = format!("127.0.0.1:{}", herald_tests::free_port());
    let s = Server::start(
        dir.path(),
        &[
            ("HERALD_API", api.as_str()),
            ("HERALD_API_TLS_CERT", cert.as_str()),
            ("HERALD_API_TLS_KEY", key.as_str()),
        ],
    );
    s.add_user("alice", "alice-pw");
    let token = s.token();
    let https = Ctl {
        url: format!("https://{}", s.addr("api")),
        token,
    };
    let list = https
        .run(&["--ca", &cert, "--json", "user", "list"])
        .ok("over TLS");
    assert_eq!(list.json()[0]["address"], "alice@example.com");
    let untrusted = https.run(&["user", "list"]);
    assert_eq!(
        untrusted.code,
        Some(69),
        "an unknown issuer is refused: {}",
        untrusted.stderr
    );
    let plain = Ctl {
        url: format!("http://{}", s.addr("api")),
        token: https.token.clone(),
    }
    .run(&["user", "list"]);
    assert_ne!(plain.code, Some(0), "no plain HTTP on the TLS listener");
    // Metrics and health stay on their own plain listener, without the API.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let http = s.addr("http");
    let health = agent.get(format!("http://{http}/healthz")).call().unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let api_there = agent
        .get(format!("http://{http}/api/v1/users"))
        .call()
        .unwrap();
    assert_eq!(
        api_there.status().as_u16(),
        404,
        "the API has its own listener"
    );
}

#[test]
fn the_api_is_not_served_in_clear_beyond_loopback() {
    let dir = test_dir("admin-exposed");
    let port = herald_tests::free_port();
    let http = format!("0.0.0.0:{port}");
    let s = Server::start(dir.path(), &[("HERALD_HTTP", http.as_str())]);
    assert!(!s.addrs.contains_key("api"), "no API address printed");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let get = |path: &str| {
        agent
            .get(format!("http://127.0.0.1:{port}{path}"))
            .call()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(get("/healthz"), 200, "health checks still answered");
    assert_eq!(get("/api/v1/openapi.json"), 404);
    assert_eq!(get("/api/v1/users"), 404);
    assert!(
        s.log_text().contains("admin API not served"),
        "and the log says why"
    );
}
