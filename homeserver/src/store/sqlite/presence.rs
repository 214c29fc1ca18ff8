//! Presence state in SQLite: publications per AOR (replaced as a set) and subscription
//! records by dialog key. Used directly and from write-behind batches.

use async_trait::async_trait;
use sqlx::{Row, Sqlite, Transaction};

use super::{backend, SqliteStore};
use crate::store::{Aor, PresenceStore, PublicationRecord, StoreResult, SubscriptionRecord};

pub(super) async fn replace_publications_in(
    tx: &mut Transaction<'_, Sqlite>,
    aor: &Aor,
    pubs: &[PublicationRecord],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM presence_publications WHERE aor = ?")
        .bind(aor.as_str())
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    for p in pubs {
        sqlx::query(
            "INSERT INTO presence_publications (aor, etag, pidf, published_at, expires_at)
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(aor.as_str())
        .bind(&p.etag)
        .bind(&p.pidf)
        .bind(p.at as i64)
        .bind(p.expires_at as i64)
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    }
    Ok(())
}

pub(super) async fn put_subscription_in(
    tx: &mut Transaction<'_, Sqlite>,
    key: &str,
    sub: Option<&SubscriptionRecord>,
) -> StoreResult<()> {
    match sub {
        Some(s) => sqlx::query(
            "INSERT INTO presence_subscriptions (key, expires_at, data) VALUES (?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, data = excluded.data",
        )
        .bind(key)
        .bind(s.expires_at as i64)
        .bind(&s.data),
        None => sqlx::query("DELETE FROM presence_subscriptions WHERE key = ?").bind(key),
    }
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl PresenceStore for SqliteStore {
    async fn publications(&self, now_secs: u64) -> StoreResult<Vec<(Aor, PublicationRecord)>> {
        let rows = sqlx::query(
            "SELECT aor, etag, pidf, published_at, expires_at FROM presence_publications
             WHERE expires_at > ? ORDER BY aor, published_at",
        )
        .bind(now_secs as i64)
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let aor = Aor::parse(r.get::<&str, _>("aor"))?;
                Some((
                    aor,
                    PublicationRecord {
                        etag: r.get("etag"),
                        pidf: r.get("pidf"),
                        at: r.get::<i64, _>("published_at") as u64,
                        expires_at: r.get::<i64, _>("expires_at") as u64,
                    },
                ))
            })
            .collect())
    }

    async fn subscriptions(&self, now_secs: u64) -> StoreResult<Vec<SubscriptionRecord>> {
        let rows = sqlx::query(
            "SELECT key, expires_at, data FROM presence_subscriptions WHERE expires_at > ?",
        )
        .bind(now_secs as i64)
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| SubscriptionRecord {
                key: r.get("key"),
                expires_at: r.get::<i64, _>("expires_at") as u64,
                data: r.get("data"),
            })
            .collect())
    }

    async fn replace_publications(&self, aor: &Aor, pubs: &[PublicationRecord]) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        replace_publications_in(&mut tx, aor, pubs).await?;
        tx.commit().await.map_err(backend)
    }

    async fn put_subscription(
        &self,
        key: &str,
        sub: Option<&SubscriptionRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        put_subscription_in(&mut tx, key, sub).await?;
        tx.commit().await.map_err(backend)
    }
}
