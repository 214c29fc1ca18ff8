//! One set of test bodies for every store implementation (CONVENTIONS: the store battery).
//! The embedded store runs it here; the pool's stores run the same bodies.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use herald_proto::v1::FlowRef;

use super::*;

fn user(aor: &str) -> User {
    User {
        aor: Aor::parse(aor).unwrap(),
        display_name: "A User".into(),
        email: Some("a@example.com".into()),
        disabled: false,
        credentials: Credentials {
            ha1_md5: Some("00".into()),
            ha1_sha256: None,
        },
    }
}

pub fn binding_for(aor: &Aor, contact: &str, expires_at: u64) -> Binding {
    Binding {
        aor: aor.clone(),
        contact: contact.into(),
        q: Some(500),
        expires_at,
        call_id: "cid".into(),
        cseq: 7,
        instance: Some("<urn:uuid:1>".into()),
        reg_id: Some(1),
        flow: FlowRef {
            frontend_id: "fe".into(),
            connection_id: 9,
            transport: 2,
            remote: "127.0.0.1:5000".into(),
        },
        user_agent: None,
    }
}

pub async fn users(s: &dyn Store) {
    let alice = user("alice@example.com");
    let v0 = s.users_version().await.unwrap();
    s.create_user(&alice).await.unwrap();
    let v1 = s.users_version().await.unwrap();
    assert_ne!(v0, v1, "a new user changes the version");
    assert!(matches!(
        s.create_user(&alice).await,
        Err(StoreError::UserExists(_))
    ));
    assert_eq!(s.user(&alice.aor).await.unwrap().as_deref(), Some(&alice));
    s.set_disabled(&alice.aor, true).await.unwrap();
    assert_ne!(
        s.users_version().await.unwrap(),
        v1,
        "a change changes the version"
    );
    assert!(s.user(&alice.aor).await.unwrap().unwrap().disabled);
    s.set_profile(&alice.aor, "Alice A.", None).await.unwrap();
    let got = s.user(&alice.aor).await.unwrap().unwrap();
    assert_eq!(
        (got.display_name.as_str(), got.email.as_deref()),
        ("Alice A.", None)
    );
    let creds = Credentials {
        ha1_md5: None,
        ha1_sha256: Some("ff".into()),
    };
    s.set_credentials(&alice.aor, &creds).await.unwrap();
    assert_eq!(
        s.user(&alice.aor).await.unwrap().unwrap().credentials,
        creds
    );
    s.create_user(&user("bob@example.com")).await.unwrap();
    let names: Vec<_> = s
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.aor.to_string())
        .collect();
    assert_eq!(names, ["alice@example.com", "bob@example.com"]);
    s.remove_user(&alice.aor).await.unwrap();
    assert_eq!(s.user(&alice.aor).await.unwrap(), None);
    assert!(matches!(
        s.remove_user(&alice.aor).await,
        Err(StoreError::NoSuchUser(_))
    ));
    assert!(matches!(
        s.set_disabled(&alice.aor, false).await,
        Err(StoreError::NoSuchUser(_))
    ));
}

pub async fn bindings(s: &dyn Store) {
    let aor = Aor::parse("carol@example.com").unwrap();
    let b1 = binding_for(&aor, "sip:carol@10.0.0.1", 100);
    let b2 = binding_for(&aor, "sip:carol@10.0.0.2;transport=tcp", 200);
    s.replace_bindings(&aor, vec![b1.clone(), b2.clone()].into())
        .await
        .unwrap();
    assert_eq!(s.bindings(&aor, 50).await.unwrap().len(), 2);
    assert_eq!(
        s.bindings(&aor, 150).await.unwrap().to_vec(),
        vec![b2.clone()]
    );
    assert_eq!(s.expire_bindings(150).await.unwrap(), 1);
    assert_eq!(s.bindings(&aor, 0).await.unwrap().to_vec(), vec![b2]);
    s.replace_bindings(&aor, Bindings::default()).await.unwrap();
    assert!(s.bindings(&aor, 0).await.unwrap().is_empty());
}

pub async fn offline(s: &dyn Store) {
    let aor = Aor::parse("dave@example.com").unwrap();
    let mut ids = Vec::new();
    for i in 0..3u8 {
        let m = StoredMessage {
            id: 0,
            recipient: aor.clone(),
            from: "<sip:alice@example.com>;tag=1".into(),
            content_type: "text/plain".into(),
            body: vec![b'0' + i, 0, 0xff],
            received_at_ms: 1000 + u64::from(i),
        };
        let record = ArchiveEntry {
            sender: "alice@example.com".into(),
            recipients: vec![aor.to_string()],
            at_ms: 1000 + u64::from(i),
            call_id: format!("off{i}"),
            content_type: "text/plain".into(),
            body: m.body.clone(),
            outcome: Outcome::Stored,
        };
        ids.push(s.store_message(&m, &record).await.unwrap());
    }
    let pending = s.pending(&aor).await.unwrap();
    assert_eq!(pending.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    assert_eq!(pending[2].body, vec![b'2', 0, 0xff]);
    s.remove_message(ids[0]).await.unwrap();
    assert_eq!(s.pending(&aor).await.unwrap().len(), 2);
    let held = s.hold_message(&pending[0]).await.unwrap();
    assert!(held > ids[2], "a held message queues after the others");
    assert_eq!(s.pending(&aor).await.unwrap().len(), 3);
    s.remove_message(held).await.unwrap();
    let archived = s.archived(&aor, 10).await.unwrap();
    assert_eq!(
        archived.len(),
        3,
        "each stored message has its archive record"
    );
    assert!(archived.iter().all(|e| e.outcome == Outcome::Stored));
}

pub async fn batches(s: &dyn Store) {
    let aor = Aor::parse("fay@example.com").unwrap();
    let b1 = binding_for(&aor, "sip:fay@10.0.0.1", 100);
    let b2 = binding_for(&aor, "sip:fay@10.0.0.2", 300);
    let entry = ArchiveEntry {
        sender: aor.to_string(),
        recipients: vec!["gus@example.com".into()],
        at_ms: 5,
        call_id: "b1".into(),
        content_type: "text/plain".into(),
        body: b"batched".to_vec(),
        outcome: Outcome::Stored,
    };
    s.write_batch(&[
        BatchWrite::Bindings(aor.clone(), vec![b1.clone()].into(), SetChange::Replace),
        BatchWrite::Archive(entry.clone()),
        BatchWrite::Bindings(aor.clone(), vec![b1, b2.clone()].into(), SetChange::Grow),
        BatchWrite::Expire(200),
    ])
    .await
    .unwrap();
    assert_eq!(
        s.bindings(&aor, 0).await.unwrap().to_vec(),
        vec![b2.clone()],
        "in order, then expired"
    );
    assert_eq!(s.archived(&aor, 10).await.unwrap(), vec![entry]);

    // A refresh of the contact already bound is written in place; a contact dropped by
    // any write of a batch is gone even when a later write of that batch drops nothing.
    let mut b2_later = b2.clone();
    b2_later.expires_at = 400;
    b2_later.cseq += 1;
    let refresh = vec![b2_later.clone()];
    s.write_batch(&[BatchWrite::Bindings(
        aor.clone(),
        refresh.into(),
        SetChange::Grow,
    )])
    .await
    .unwrap();
    assert_eq!(
        s.bindings(&aor, 0).await.unwrap().to_vec(),
        vec![b2_later.clone()]
    );
    // A pure refresh moves expiry, Call-ID and CSeq, twice in one batch.
    let mut b2_again = b2_later.clone();
    b2_again.expires_at = 450;
    b2_again.call_id = "refreshed".into();
    b2_again.cseq += 1;
    let mut b2_last = b2_again.clone();
    b2_last.expires_at = 460;
    b2_last.cseq += 1;
    s.write_batch(&[
        BatchWrite::Bindings(aor.clone(), vec![b2_again].into(), SetChange::Refresh),
        BatchWrite::Bindings(
            aor.clone(),
            vec![b2_last.clone()].into(),
            SetChange::Refresh,
        ),
    ])
    .await
    .unwrap();
    assert_eq!(
        s.bindings(&aor, 0).await.unwrap().to_vec(),
        vec![b2_last.clone()],
        "refreshed in place"
    );
    // A refresh after a write that added a contact, in one batch: both rows are there.
    let b4 = binding_for(&aor, "sip:fay@10.0.0.4", 470);
    let mut b4_later = b4.clone();
    b4_later.cseq += 1;
    s.write_batch(&[
        BatchWrite::Bindings(
            aor.clone(),
            vec![b2_last.clone(), b4].into(),
            SetChange::Grow,
        ),
        BatchWrite::Bindings(
            aor.clone(),
            vec![b2_last.clone(), b4_later.clone()].into(),
            SetChange::Refresh,
        ),
    ])
    .await
    .unwrap();
    assert_eq!(
        s.bindings(&aor, 0).await.unwrap().to_vec(),
        vec![b2_last.clone(), b4_later.clone()],
        "the added contact is written whole"
    );
    // A "refresh" of a row the store does not hold (not what a cache sends, but the
    // store must not lose it): written whole.
    let stray = Aor::parse("stray@example.com").unwrap();
    let b5 = binding_for(&stray, "sip:stray@10.0.0.5", 480);
    s.write_batch(&[BatchWrite::Bindings(
        stray.clone(),
        vec![b5.clone()].into(),
        SetChange::Refresh,
    )])
    .await
    .unwrap();
    assert_eq!(s.bindings(&stray, 0).await.unwrap().to_vec(), vec![b5]);
    s.replace_bindings(&stray, Bindings::default())
        .await
        .unwrap();
    let b3 = binding_for(&aor, "sip:fay@10.0.0.3", 500);
    s.write_batch(&[
        BatchWrite::Bindings(aor.clone(), vec![b3.clone()].into(), SetChange::Replace),
        BatchWrite::Bindings(aor.clone(), vec![b3.clone()].into(), SetChange::Grow),
    ])
    .await
    .unwrap();
    assert_eq!(
        s.bindings(&aor, 0).await.unwrap().to_vec(),
        vec![b3],
        "the dropped contact is gone"
    );

    // A batch larger than one statement's worth of rows: every entry keeps its own
    // recipients (the link from recipient to entry is by id).
    let many: Vec<BatchWrite> = (0..1_201)
        .map(|i| {
            BatchWrite::Archive(ArchiveEntry {
                sender: "many@example.com".into(),
                recipients: vec![
                    format!("r{}@example.com", i % 13),
                    format!("x{i}@example.com"),
                ],
                at_ms: 1_000 + i,
                call_id: format!("m{i}"),
                content_type: "text/plain".into(),
                body: format!("body {i}").into_bytes(),
                outcome: Outcome::Delivered(200),
            })
        })
        .collect();
    s.write_batch(&many).await.unwrap();
    for i in [0u64, 1, 499, 500, 501, 999, 1_000, 1_200] {
        let x = Aor::parse(&format!("x{i}@example.com")).unwrap();
        let got = s.archived(&x, 10).await.unwrap();
        assert_eq!(got.len(), 1, "x{i} received one message");
        assert_eq!(got[0].call_id, format!("m{i}"));
        assert_eq!(got[0].body, format!("body {i}").into_bytes());
    }
    let r5 = Aor::parse("r5@example.com").unwrap();
    let mut got: Vec<String> = s
        .archived(&r5, 1_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.call_id)
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..1_201)
        .filter(|i| i % 13 == 5)
        .map(|i| format!("m{i}"))
        .collect();
    want.sort();
    assert_eq!(got, want);
}

pub async fn archive(s: &dyn Store) {
    let alice = Aor::parse("alice@example.com").unwrap();
    for (i, outcome) in [
        Outcome::Delivered(200),
        Outcome::Stored,
        Outcome::Refused(413),
    ]
    .into_iter()
    .enumerate()
    {
        s.archive(ArchiveEntry {
            sender: if i == 1 {
                "bob@example.com".into()
            } else {
                alice.to_string()
            },
            recipients: vec!["bob@example.com".into(), alice.to_string()],
            at_ms: i as u64,
            call_id: format!("c{i}"),
            content_type: "text/plain".into(),
            body: b"hi".to_vec(),
            outcome,
        })
        .await
        .unwrap();
    }
    let got = s.archived(&alice, 2).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].outcome, Outcome::Refused(413));
    assert_eq!(got[1].sender, "bob@example.com");
    let nobody = Aor::parse("zed@example.com").unwrap();
    assert!(s.archived(&nobody, 10).await.unwrap().is_empty());
    // A recipient named twice in one message: archived (not refused as a duplicate
    // key), found once, the list as it was.
    let twice = vec!["dave@example.com".to_owned(), "dave@example.com".to_owned()];
    s.archive(ArchiveEntry {
        sender: "carol@example.com".into(),
        recipients: twice.clone(),
        at_ms: 5,
        call_id: "twice".into(),
        content_type: "text/plain".into(),
        body: b"hi".to_vec(),
        outcome: Outcome::Delivered(200),
    })
    .await
    .unwrap();
    let dave = Aor::parse("dave@example.com").unwrap();
    let got = s.archived(&dave, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].recipients, twice);
}

/// Archive search: by user, by the pair, by time and by text (wildcards literal), paged
/// by id; purge by age.
pub async fn archive_search(s: &dyn Store) {
    let msgs = [
        ("alice@example.com", "bob@example.com", 10, "Lunch at noon?"),
        (
            "bob@example.com",
            "alice@example.com",
            20,
            "yes, 100% lunch",
        ),
        (
            "carol@example.com",
            "bob@example.com",
            30,
            "LUNCH without alice",
        ),
        ("alice@example.com", "carol@example.com", 40, "meeting"),
    ];
    for (i, (from, to, at, text)) in msgs.iter().enumerate() {
        s.archive(ArchiveEntry {
            sender: (*from).into(),
            recipients: vec![(*to).into()],
            at_ms: *at,
            call_id: format!("s{i}"),
            content_type: "text/plain".into(),
            body: text.as_bytes().to_vec(),
            outcome: Outcome::Delivered(200),
        })
        .await
        .unwrap();
    }
    let q = |f: &dyn Fn(&mut ArchiveQuery)| {
        let mut q = ArchiveQuery {
            limit: 100,
            ..ArchiveQuery::default()
        };
        f(&mut q);
        q
    };
    let calls = |r: Vec<ArchivedRecord>| r.into_iter().map(|r| r.entry.call_id).collect::<Vec<_>>();
    let all = s.search_archive(&q(&|_| {})).await.unwrap();
    assert_eq!(calls(all.clone()), ["s0", "s1", "s2", "s3"]);
    let alice = q(&|q| q.user = Some("alice@example.com".into()));
    assert_eq!(
        calls(s.search_archive(&alice).await.unwrap()),
        ["s0", "s1", "s3"]
    );
    let pair = q(&|q| {
        q.user = Some("alice@example.com".into());
        q.peer = Some("bob@example.com".into());
    });
    assert_eq!(calls(s.search_archive(&pair).await.unwrap()), ["s0", "s1"]);
    let text = q(&|q| q.text = Some("lunch".into()));
    assert_eq!(
        calls(s.search_archive(&text).await.unwrap()),
        ["s0", "s1", "s2"]
    );
    let literal = q(&|q| q.text = Some("0%".into()));
    assert_eq!(calls(s.search_archive(&literal).await.unwrap()), ["s1"]);
    let window = q(&|q| {
        q.since_ms = Some(20);
        q.until_ms = Some(40);
    });
    assert_eq!(
        calls(s.search_archive(&window).await.unwrap()),
        ["s1", "s2"]
    );
    let page = q(&|q| {
        q.after_id = all[1].id;
        q.limit = 1;
    });
    assert_eq!(calls(s.search_archive(&page).await.unwrap()), ["s2"]);
    assert_eq!(s.purge_archive(30).await.unwrap(), 2);
    assert_eq!(
        calls(s.search_archive(&q(&|_| {})).await.unwrap()),
        ["s2", "s3"]
    );
}

/// Tokens: created once per name, found by hash, revoked.
pub async fn tokens(s: &dyn Store) {
    let t = ApiToken {
        name: "ops".into(),
        hash: "ab".repeat(32),
        created_at: 7,
    };
    s.create_token(&t).await.unwrap();
    assert!(matches!(
        s.create_token(&t).await,
        Err(StoreError::TokenExists(_))
    ));
    assert_eq!(
        s.token_by_hash(&t.hash).await.unwrap().as_deref(),
        Some("ops")
    );
    assert_eq!(s.token_by_hash("cd").await.unwrap(), None);
    assert_eq!(s.tokens().await.unwrap(), vec![t.clone()]);
    assert!(s.revoke_token("ops").await.unwrap());
    assert!(!s.revoke_token("ops").await.unwrap());
    assert_eq!(s.token_by_hash(&t.hash).await.unwrap(), None);
}

/// Presence state: publications replaced per AOR, subscriptions by key, expired ones
/// not returned.
pub async fn presence(s: &dyn Store) {
    let aor = Aor::parse("pres@example.com").unwrap();
    let p = |etag: &str, expires_at| PublicationRecord {
        etag: etag.into(),
        pidf: "<presence/>".into(),
        at: 10,
        expires_at,
    };
    s.replace_publications(&aor, &[p("e1", 100), p("e2", 50)])
        .await
        .unwrap();
    let mut got = s.publications(60).await.unwrap();
    got.retain(|(a, _)| *a == aor);
    assert_eq!(got, vec![(aor.clone(), p("e1", 100))]);
    s.replace_publications(&aor, &[]).await.unwrap();
    assert!(s
        .publications(0)
        .await
        .unwrap()
        .iter()
        .all(|(a, _)| *a != aor));
    let sub = |key: &str, expires_at| SubscriptionRecord {
        key: key.into(),
        expires_at,
        data: format!("{{\"k\":\"{key}\"}}"),
    };
    s.put_subscription("k1", Some(&sub("k1", 100)))
        .await
        .unwrap();
    s.put_subscription("k2", Some(&sub("k2", 20)))
        .await
        .unwrap();
    s.put_subscription("k1", Some(&sub("k1", 200)))
        .await
        .unwrap();
    let live = s.subscriptions(50).await.unwrap();
    assert_eq!(live, vec![sub("k1", 200)]);
    s.put_subscription("k1", None).await.unwrap();
    assert!(s
        .subscriptions(0)
        .await
        .unwrap()
        .iter()
        .all(|r| r.key != "k1"));
}

/// XCAP documents: conditional writes on the ETag.
pub async fn documents(s: &dyn Store) {
    let aor = Aor::parse("doc@example.com").unwrap();
    let doc = |xml: &str, etag: &str| Document {
        xml: xml.into(),
        etag: etag.into(),
    };
    assert_eq!(s.document(&aor, "resource-lists").await.unwrap(), None);
    assert!(s
        .put_document(&aor, "resource-lists", &doc("<a/>", "e1"), Some(None))
        .await
        .unwrap());
    assert!(
        !s.put_document(&aor, "resource-lists", &doc("<b/>", "e2"), Some(None))
            .await
            .unwrap(),
        "exists already"
    );
    assert!(
        !s.put_document(
            &aor,
            "resource-lists",
            &doc("<b/>", "e2"),
            Some(Some("old"))
        )
        .await
        .unwrap(),
        "stale etag"
    );
    assert!(s
        .put_document(&aor, "resource-lists", &doc("<b/>", "e2"), Some(Some("e1")))
        .await
        .unwrap());
    assert_eq!(
        s.document(&aor, "resource-lists").await.unwrap(),
        Some(doc("<b/>", "e2"))
    );
    assert_eq!(
        s.document(&aor, "pres-rules").await.unwrap(),
        None,
        "per application"
    );
    assert!(s
        .put_document(&aor, "resource-lists", &doc("<c/>", "e3"), None)
        .await
        .unwrap());
    assert!(s.delete_document(&aor, "resource-lists").await.unwrap());
    assert!(!s.delete_document(&aor, "resource-lists").await.unwrap());
}

#[cfg(test)]
mod sqlite {
    use crate::store::sqlite::SqliteStore;

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("herald.db"))
            .await
            .unwrap();
        (dir, s)
    }

    #[tokio::test]
    async fn users() {
        let (_d, s) = store().await;
        super::users(&s).await;
    }

    #[tokio::test]
    async fn bindings() {
        let (_d, s) = store().await;
        super::bindings(&s).await;
    }

    #[tokio::test]
    async fn offline() {
        let (_d, s) = store().await;
        super::offline(&s).await;
    }

    #[tokio::test]
    async fn batches() {
        let (_d, s) = store().await;
        super::batches(&s).await;
    }

    #[tokio::test]
    async fn presence() {
        let (_d, s) = store().await;
        super::presence(&s).await;
    }

    #[tokio::test]
    async fn documents() {
        let (_d, s) = store().await;
        super::documents(&s).await;
    }

    #[tokio::test]
    async fn archive_search() {
        let (_d, s) = store().await;
        super::archive_search(&s).await;
    }

    #[tokio::test]
    async fn tokens() {
        let (_d, s) = store().await;
        super::tokens(&s).await;
    }

    #[tokio::test]
    async fn archive() {
        let (_d, s) = store().await;
        super::archive(&s).await;
    }

    #[tokio::test]
    async fn data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.db");
        let aor = crate::store::Aor::parse("erin@example.com").unwrap();
        {
            let s = SqliteStore::open(&path).await.unwrap();
            super::offline(&s).await;
            drop(s);
        }
        let s = SqliteStore::open(&path).await.unwrap();
        let _ = aor;
        use crate::store::OfflineStore;
        let dave = crate::store::Aor::parse("dave@example.com").unwrap();
        assert_eq!(s.pending(&dave).await.unwrap().len(), 2);
    }
}
