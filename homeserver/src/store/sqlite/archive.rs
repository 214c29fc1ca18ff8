//! The archive in SQLite: every message with its recipients (a side table, so "messages
//! of user X" is an index lookup), searched by user, peer, time and text, purged by age.

use async_trait::async_trait;
use sqlx::{Row, Sqlite};

use super::{backend, records::archive_in, SqliteStore};
use crate::store::{
    archive_sql::{self, i64_of},
    Aor, ArchiveEntry, ArchiveQuery, ArchiveStore, ArchivedRecord, Outcome, StoreResult,
};

const COLUMNS: &str = "id, sender, recipients, at_ms, call_id, content_type, body, outcome";

#[async_trait]
impl ArchiveStore for SqliteStore {
    async fn archive(&self, e: ArchiveEntry) -> StoreResult<()> {
        self.archive_durably(&e).await
    }

    async fn archive_durably(&self, e: &ArchiveEntry) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        archive_in(&mut tx, e).await?;
        tx.commit().await.map_err(backend)
    }

    async fn archived(&self, aor: &Aor, limit: u32) -> StoreResult<Vec<ArchiveEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM archive
             WHERE sender = ?1 OR id IN (SELECT archive_id FROM archive_recipients WHERE recipient = ?1)
             ORDER BY id DESC LIMIT ?2"
        ))
        .bind(aor.as_str())
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter().map(|r| record_of(r).map(|r| r.entry)).collect()
    }

    async fn search_archive(&self, q: &ArchiveQuery) -> StoreResult<Vec<ArchivedRecord>> {
        let mut b = archive_sql::search::<Sqlite>(COLUMNS, "CAST(body AS TEXT) LIKE ", q);
        let rows = b.build().fetch_all(self.pool()).await.map_err(backend)?;
        rows.iter().map(record_of).collect()
    }

    async fn purge_archive(&self, before_ms: u64) -> StoreResult<u64> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        sqlx::query(
            "DELETE FROM archive_recipients WHERE archive_id IN
             (SELECT id FROM archive WHERE at_ms < ?)",
        )
        .bind(i64_of(before_ms))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
        let n = sqlx::query("DELETE FROM archive WHERE at_ms < ?")
            .bind(i64_of(before_ms))
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        tx.commit().await.map_err(backend)?;
        Ok(n)
    }
}

fn record_of(r: &sqlx::sqlite::SqliteRow) -> StoreResult<ArchivedRecord> {
    let outcome: String = r.try_get("outcome").map_err(backend)?;
    let recipients: String = r.try_get("recipients").map_err(backend)?;
    Ok(ArchivedRecord {
        id: r.try_get("id").map_err(backend)?,
        entry: ArchiveEntry {
            sender: r.try_get("sender").map_err(backend)?,
            recipients: recipients.split(',').map(str::to_owned).collect(),
            at_ms: u64::try_from(r.try_get::<i64, _>("at_ms").map_err(backend)?).unwrap_or(0),
            call_id: r.try_get("call_id").map_err(backend)?,
            content_type: r.try_get("content_type").map_err(backend)?,
            body: r.try_get("body").map_err(backend)?,
            outcome: Outcome::from_db(&outcome)
                .ok_or_else(|| backend(format!("bad outcome in store: {outcome}")))?,
        },
    })
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, Row, SqliteConnection};

    /// The recipients table as it was before `20261207000002` (a row table, an index, a
    /// foreign key), with rows, migrated: every pair kept once, found by recipient, no
    /// foreign key left, and a purge (recipients first, then messages) leaves neither.
    #[tokio::test]
    async fn recipients_migrate_to_the_clustered_table() {
        let mut c = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::raw_sql(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE archive (id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL);
             CREATE TABLE archive_recipients (
                 archive_id INTEGER NOT NULL REFERENCES archive (id),
                 recipient  TEXT NOT NULL
             );
             CREATE INDEX archive_recipients_by_user ON archive_recipients (recipient, archive_id);
             INSERT INTO archive (at_ms) VALUES (10), (20), (30);
             INSERT INTO archive_recipients VALUES
                 (1, 'bob@example.com'), (1, 'amy@example.com'), (2, 'bob@example.com'),
                 (3, 'amy@example.com'), (3, 'amy@example.com');",
        )
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::raw_sql(include_str!(
            "../../../migrations/20261207000002_archive_recipients_clustered.sql"
        ))
        .execute(&mut c)
        .await
        .unwrap();
        let ids = |who: &'static str| {
            sqlx::query_scalar::<_, i64>(
                "SELECT archive_id FROM archive_recipients WHERE recipient = ? ORDER BY archive_id",
            )
            .bind(who)
        };
        assert_eq!(
            ids("bob@example.com").fetch_all(&mut c).await.unwrap(),
            [1, 2]
        );
        assert_eq!(
            ids("amy@example.com").fetch_all(&mut c).await.unwrap(),
            [1, 3]
        );
        let fks = sqlx::query("PRAGMA foreign_key_list(archive_recipients)")
            .fetch_all(&mut c)
            .await
            .unwrap();
        assert!(fks.is_empty(), "{} foreign keys left", fks.len());
        let plan: Vec<String> = sqlx::query(
            "EXPLAIN QUERY PLAN SELECT archive_id FROM archive_recipients WHERE recipient = 'x'",
        )
        .fetch_all(&mut c)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect();
        assert!(plan.iter().any(|d| d.contains("PRIMARY KEY")), "{plan:?}");
        sqlx::raw_sql(
            "DELETE FROM archive_recipients WHERE archive_id IN (SELECT id FROM archive WHERE at_ms < 25);
             DELETE FROM archive WHERE at_ms < 25;",
        )
        .execute(&mut c)
        .await
        .unwrap();
        assert_eq!(
            ids("bob@example.com").fetch_all(&mut c).await.unwrap(),
            Vec::<i64>::new()
        );
        assert_eq!(ids("amy@example.com").fetch_all(&mut c).await.unwrap(), [3]);
    }
}
