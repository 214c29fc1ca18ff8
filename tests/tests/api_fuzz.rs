//! The admin API fuzzed from its own OpenAPI document with schemathesis (bounded number
//! of examples per operation, fixed seed): no answer is a 5xx, the server does not
//! crash, and it logs no panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, process::Command};

use herald_tests::{test_dir, Server};

/// schemathesis's `st`: on PATH, or where ./scripts/test.sh installs it.
fn schemathesis() -> PathBuf {
    let local =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tools/schemathesis/bin/st");
    if local.exists() {
        return local;
    }
    let on_path = Command::new("st").arg("--version").output();
    if on_path.is_ok_and(|o| o.status.success()) {
        return PathBuf::from("st");
    }
    panic!("schemathesis is not installed: run ./scripts/test.sh (it installs it into target/tools/schemathesis)");
}

#[test]
fn fuzzing_the_openapi_document_finds_no_server_error() {
    let st = schemathesis();
    let dir = test_dir("api-fuzz");
    let mut s = Server::start(dir.path(), &[]);
    for u in ["alice", "bob"] {
        s.add_user(u, &format!("{u}-pw"));
    }
    let token = s.token();
    let schema = format!("{}/api/v1/openapi.json", s.api_url());
    let out = Command::new(st)
        .args(["run", &schema, "--checks", "not_a_server_error"])
        .args(["--max-examples", "25", "--seed", "1", "--no-color"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .current_dir(dir.path())
        .output()
        .expect("run schemathesis");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let tail: String = text
        .lines()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_suffix(" passed")
                .and_then(|l| l.split(" generated").next()?.trim().parse::<u32>().ok())
        })
        .unwrap_or(0);
    assert!(generated >= 300, "too few cases ran ({generated}):\n{tail}");
    assert!(s.alive(), "the server survived");
    assert!(
        !s.log_text().contains("panicked"),
        "a handler panicked:\n{}",
        s.log_text()
    );
    println!("schemathesis: {generated} cases, no server error");
}
