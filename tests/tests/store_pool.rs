//! The store battery on the pool's store — PostgreSQL and Redis, private instances
//! started by the harness — the same bodies the embedded SQLite store passes; and the
//! pool store across a Redis and a PostgreSQL restart; and the cache's "no stored
//! message" answers on the pool, where other home servers store messages too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use herald_homeserver::store::{
    battery, cache::CachedStore, pool::PoolStore, Aor, BindingStore, OfflineStore, StoredMessage,
    UserStore,
};
use herald_tests::{
    services::{Postgres, Redis},
    test_dir,
};

async fn fresh(pg: &Postgres, redis: &Redis, name: &str) -> PoolStore {
    let url = pg.create_database(name);
    PoolStore::open(&url, &redis.url(), &format!("{name}:"))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_battery_passes_on_postgres_and_redis() {
    let dir = test_dir("store-pool");
    let pg = Postgres::start(dir.path());
    let redis = Redis::start(dir.path());
    battery::users(&fresh(&pg, &redis, "users").await).await;
    battery::bindings(&fresh(&pg, &redis, "bindings").await).await;
    battery::offline(&fresh(&pg, &redis, "offline").await).await;
    battery::batches(&fresh(&pg, &redis, "batches").await).await;
    battery::archive(&fresh(&pg, &redis, "archive").await).await;
    battery::archive_search(&fresh(&pg, &redis, "archive_search").await).await;
    battery::tokens(&fresh(&pg, &redis, "tokens").await).await;
    battery::presence(&fresh(&pg, &redis, "presence").await).await;
    battery::documents(&fresh(&pg, &redis, "documents").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_store_reconnects_after_restarts() {
    let dir = test_dir("store-pool-restart");
    let mut pg = Postgres::start(dir.path());
    let mut redis = Redis::start(dir.path());
    let s = fresh(&pg, &redis, "restarts").await;
    let aor = Aor::parse("alice@example.com").unwrap();
    s.replace_bindings(
        &aor,
        vec![battery::binding_for(&aor, "sip:a@10.0.0.1", u64::MAX / 2)].into(),
    )
    .await
    .unwrap();
    pg.kill();
    // A backend of the killed postmaster may answer a last query; then errors come.
    let mut failed = false;
    for _ in 0..50 {
        if s.user(&aor).await.is_err() {
            failed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        failed,
        "PostgreSQL down: errors, not hangs or stale answers"
    );
    assert!(
        s.user(&aor).await.is_err(),
        "PostgreSQL down: an error, not a hang"
    );
    pg.restart();
    assert_eq!(s.user(&aor).await.unwrap(), None, "reconnected");
    redis.kill();
    assert!(s.bindings(&aor, 0).await.is_err(), "Redis down: an error");
    redis.restart();
    let mut ok = false;
    for _ in 0..50 {
        if s.bindings(&aor, 0).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok, "reconnected to Redis");
}

fn message(to: &Aor, text: &str) -> StoredMessage {
    StoredMessage {
        id: 0,
        recipient: to.clone(),
        from: "<sip:bob@example.com>;tag=1".into(),
        content_type: "text/plain".into(),
        body: text.as_bytes().to_vec(),
        received_at_ms: 1,
    }
}

/// Polls `f` every 50 ms for up to 5 s.
async fn eventually(mut f: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..100 {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_another_home_server_stores_is_found_after_a_read_found_none() {
    let dir = test_dir("store-pool-news");
    let pg = Postgres::start(dir.path());
    let mut redis = Redis::start(dir.path());
    let url = pg.create_database("news");
    let open = |prefix: &'static str| {
        let (url, redis) = (url.clone(), redis.url());
        async move { PoolStore::open(&url, &redis, prefix).await.unwrap() }
    };
    // `home` caches; `other` is another home server of the same pool; `stranger`
    // writes the same database but announces on another pool's channel, so that what
    // it stores shows whether `home` answers from memory.
    let (home, _w) = CachedStore::new(Arc::new(open("p:").await)).await.unwrap();
    let other = open("p:").await;
    let stranger = open("q:").await;
    let [amy, ben] = ["amy", "ben"].map(|u| Aor::parse(&format!("{u}@example.com")).unwrap());

    assert!(
        eventually(async || home.may_remember_none()).await,
        "announcements are followed"
    );
    assert!(home.pending(&amy).await.unwrap().is_empty());
    stranger
        .hold_message(&message(&amy, "unannounced"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        home.pending(&amy).await.unwrap().is_empty(),
        "\"none\" is remembered: the database is not read again"
    );
    other
        .hold_message(&message(&amy, "announced"))
        .await
        .unwrap();
    assert!(
        eventually(async || home.pending(&amy).await.unwrap().len() == 2).await,
        "another home server's announcement makes it read again"
    );

    assert!(home.pending(&ben).await.unwrap().is_empty());
    redis.kill();
    assert!(
        eventually(async || !home.may_remember_none()).await,
        "Redis down: announcements may be missed, so nothing is remembered"
    );
    stranger
        .hold_message(&message(&ben, "while Redis was down"))
        .await
        .unwrap();
    assert_eq!(home.pending(&ben).await.unwrap().len(), 1, "read again");
    redis.restart();
    assert!(
        eventually(async || home.may_remember_none()).await,
        "followed again after Redis is back"
    );
}
