//! The `herald` binary's command line: configuration errors exit 64 naming the setting,
//! user administration, and bulk import errors that name the line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

fn herald(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_herald"))
        .env("HERALD_DATA_DIR", dir)
        .env("HERALD_DOMAIN", "example.com")
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn bad_configuration_exits_64_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value, needle) in [
        ("HERALD_UDP", "not-an-address", "HERALD_UDP (udp)"),
        (
            "HERALD_MIN_EXPIRES",
            "soon",
            "HERALD_MIN_EXPIRES (min_expires)",
        ),
        (
            "HERALD_AUTH_ALGORITHMS",
            "MD4",
            "HERALD_AUTH_ALGORITHMS (auth_algorithms)",
        ),
        (
            "HERALD_CONFIG",
            "/nonexistent/herald.toml",
            "cannot read /nonexistent/herald.toml",
        ),
    ] {
        let o = herald(dir.path(), &[(var, value)], &[]);
        assert_eq!(o.status.code(), Some(64), "{var}: {}", text(&o));
        assert!(text(&o).contains(needle), "{var}: {}", text(&o));
    }
}

#[test]
fn user_administration() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = herald(
        d,
        &[],
        &[
            "user",
            "add",
            "alice",
            "--name",
            "Alice Liddell",
            "--password",
            "pw",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = herald(d, &[], &["user", "add", "bob@example.com"]);
    assert!(
        text(&o).contains("password: "),
        "a generated password is shown: {}",
        text(&o)
    );
    let o = herald(d, &[], &["user", "add", "alice", "--password", "x"]);
    assert_eq!(o.status.code(), Some(65));
    assert!(
        text(&o).contains("alice@example.com already exists"),
        "{}",
        text(&o)
    );
    let o = herald(
        d,
        &[],
        &["user", "add", "carol@other.org", "--password", "x"],
    );
    assert!(
        text(&o).contains("not this server's domain"),
        "{}",
        text(&o)
    );
    assert!(herald(d, &[], &["user", "disable", "bob"]).status.success());
    let list = text(&herald(d, &[], &["user", "list"]));
    assert!(
        list.contains("alice@example.com") && list.contains("Alice Liddell"),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("bob@example.com") && l.contains("disabled")),
        "{list}"
    );
    assert!(herald(d, &[], &["user", "remove", "bob"]).status.success());
    let o = herald(d, &[], &["user", "remove", "bob"]);
    assert_eq!(o.status.code(), Some(65));
    assert!(text(&o).contains("no user bob@example.com"), "{}", text(&o));
    assert!(!text(&herald(d, &[], &["user", "list"])).contains("bob@"));
    let o = herald(d, &[], &["user", "passwd", "alice", "--password", "new"]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn csv_import_names_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = d.join("users.csv");
    std::fs::write(&csv, "address,display_name,password,email\nalice,Alice,pw,alice@mail.example\nbad address,X,pw,\ncarol,Carol,,\n").unwrap();
    let o = herald(d, &[], &["user", "import", csv.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(65), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("line 3:") && t.contains("line 4:") && t.contains("no password"),
        "{t}"
    );
    std::fs::write(&csv, "address,display_name,password,email\nalice,Alice,pw,alice@mail.example\ncarol,Carol,pw2,\n").unwrap();
    let o = herald(
        d,
        &[],
        &["user", "import", "--dry-run", csv.to_str().unwrap()],
    );
    assert!(
        text(&o).contains("2 user(s) would be imported"),
        "{}",
        text(&o)
    );
    let o = herald(d, &[], &["user", "import", csv.to_str().unwrap()]);
    assert!(text(&o).contains("imported 2 user(s)"), "{}", text(&o));
    assert!(text(&herald(d, &[], &["user", "list"])).contains("carol@example.com"));
}
