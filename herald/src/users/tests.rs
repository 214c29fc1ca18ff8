use herald_homeserver::store::{sqlite::SqliteStore, UserStore};
use herald_sip::auth::{ha1, Algorithm};

use super::*;

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let d = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&d.path().join("h.db")).await.unwrap();
    (d, s)
}

#[test]
fn addresses() {
    assert_eq!(
        address("alice", "example.com").unwrap().as_str(),
        "alice@example.com"
    );
    let other = address("a@other.org", "example.com")
        .unwrap_err()
        .to_string();
    assert!(other.contains("not this server's domain"), "{other}");
    let bad = address("a b@example.com", "example.com")
        .unwrap_err()
        .to_string();
    assert!(bad.contains("invalid address"), "{bad}");
}

#[tokio::test]
async fn import_reports_every_bad_line_and_imports_nothing() {
    let (d, s) = store().await;
    let csv = d.path().join("u.csv");
    std::fs::write(
        &csv,
        "address,display_name,password,email\n\
         alice@example.com,Alice,secret,alice@mail.example\n\
         bob@other.org,Bob,secret,\n\
         carol,Carol,md5:1234,\n\
         alice,Alice again,x,\n\
         dave,Dave,,\n",
    )
    .unwrap();
    let e = import(&s, &csv, "example.com", false)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("4 bad line(s)"), "{e}");
    for needle in [
        "line 3:",
        "line 4:",
        "line 5:",
        "line 6:",
        "other.org",
        "32 hexadecimal",
        "twice",
        "no password",
    ] {
        assert!(e.contains(needle), "{needle} missing in {e}");
    }
    assert!(s.users().await.unwrap().is_empty());
}

#[tokio::test]
async fn import_adds_users_with_usable_credentials() {
    let (d, s) = store().await;
    let csv = d.path().join("u.csv");
    let md5 = ha1(Algorithm::Md5, "bob", "example.com", "pw");
    std::fs::write(
        &csv,
        format!("address,password,display_name\nalice,secret,Alice\nbob,md5:{md5},\n"),
    )
    .unwrap();
    assert_eq!(import(&s, &csv, "example.com", true).await.unwrap(), 2);
    assert!(s.users().await.unwrap().is_empty(), "dry run wrote");
    assert_eq!(import(&s, &csv, "example.com", false).await.unwrap(), 2);
    let alice = s
        .user(&Aor::parse("alice@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.display_name, "Alice");
    assert_eq!(
        alice.credentials.ha1_sha256,
        Some(ha1(Algorithm::Sha256, "alice", "example.com", "secret"))
    );
    let bob = s
        .user(&Aor::parse("bob@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.credentials.ha1_md5, Some(md5));
    assert_eq!(bob.credentials.ha1_sha256, None);
}
