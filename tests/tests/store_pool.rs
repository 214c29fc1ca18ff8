//! The store battery on the pool's store — PostgreSQL and Redis, private instances
//! started by the harness — the same bodies the embedded SQLite store passes; and the
//! pool store across a Redis and a PostgreSQL restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_homeserver::store::{battery, pool::PoolStore, Aor, BindingStore, UserStore};
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
        &[battery::binding_for(&aor, "sip:a@10.0.0.1", u64::MAX / 2)],
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
