//! Offline messages, the archive, XCAP documents and API tokens in PostgreSQL.

use async_trait::async_trait;
use sqlx::{Postgres, Row};

use super::{backend, PgStore};
use crate::store::{
    archive_sql::{self, i64_of},
    Aor, ApiToken, ArchiveEntry, ArchiveQuery, ArchiveStore, ArchivedRecord, Document,
    DocumentStore, OfflineStore, Outcome, StoreError, StoreResult, StoredMessage, TokenStore,
};

type Tx<'a> = sqlx::Transaction<'a, Postgres>;

const ARCHIVE_COLUMNS: &str = "id, sender, recipients, at_ms, call_id, content_type, body, outcome";

impl PgStore {
    /// Writes archive entries in one transaction (a write-behind batch).
    pub(crate) async fn archive_all(&self, entries: &[&ArchiveEntry]) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await.map_err(backend)?;
        for e in entries {
            archive_in(&mut tx, e).await?;
        }
        tx.commit().await.map_err(backend)
    }
}

async fn archive_in(tx: &mut Tx<'_>, e: &ArchiveEntry) -> StoreResult<()> {
    let insert = sqlx::query_scalar(
        "INSERT INTO archive (sender, recipients, at_ms, call_id, content_type, body, body_text, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    );
    let id: i64 = archive_sql::bind_row(insert, e)
        .bind(
            std::str::from_utf8(&e.body)
                .ok()
                .map(|t| t.replace('\0', "")),
        )
        .bind(e.outcome.to_db())
        .fetch_one(&mut **tx)
        .await
        .map_err(backend)?;
    for r in &e.recipients {
        sqlx::query("INSERT INTO archive_recipients (archive_id, recipient) VALUES ($1, $2)")
            .bind(id)
            .bind(r)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

async fn insert_message(tx: &mut Tx<'_>, m: &StoredMessage) -> StoreResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO offline_messages (recipient, sender_from, content_type, body, received_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(m.recipient.as_str())
    .bind(&m.from)
    .bind(&m.content_type)
    .bind(&m.body)
    .bind(i64_of(m.received_at_ms))
    .fetch_one(&mut **tx)
    .await
    .map_err(backend)
}

#[async_trait]
impl OfflineStore for PgStore {
    async fn store_message(&self, m: &StoredMessage, archive: &ArchiveEntry) -> StoreResult<i64> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        let id = insert_message(&mut tx, m).await?;
        archive_in(&mut tx, archive).await?;
        tx.commit().await.map_err(backend)?;
        Ok(id)
    }

    async fn pending(&self, aor: &Aor) -> StoreResult<Vec<StoredMessage>> {
        let rows = sqlx::query(
            "SELECT id, sender_from, content_type, body, received_at FROM offline_messages
             WHERE recipient = $1 ORDER BY id",
        )
        .bind(aor.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(StoredMessage {
                    id: r.try_get("id").map_err(backend)?,
                    recipient: aor.clone(),
                    from: r.try_get("sender_from").map_err(backend)?,
                    content_type: r.try_get("content_type").map_err(backend)?,
                    body: r.try_get("body").map_err(backend)?,
                    received_at_ms: u64::try_from(
                        r.try_get::<i64, _>("received_at").map_err(backend)?,
                    )
                    .unwrap_or(0),
                })
            })
            .collect()
    }

    async fn remove_message(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM offline_messages WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn hold_message(&self, m: &StoredMessage) -> StoreResult<i64> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        let id = insert_message(&mut tx, m).await?;
        tx.commit().await.map_err(backend)?;
        Ok(id)
    }
}

#[async_trait]
impl ArchiveStore for PgStore {
    async fn archive(&self, e: ArchiveEntry) -> StoreResult<()> {
        self.archive_durably(&e).await
    }

    async fn archive_durably(&self, e: &ArchiveEntry) -> StoreResult<()> {
        self.archive_all(&[e]).await
    }

    async fn archived(&self, aor: &Aor, limit: u32) -> StoreResult<Vec<ArchiveEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {ARCHIVE_COLUMNS} FROM archive
             WHERE sender = $1 OR id IN (SELECT archive_id FROM archive_recipients WHERE recipient = $1)
             ORDER BY id DESC LIMIT $2"
        ))
        .bind(aor.as_str())
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter().map(|r| record_of(r).map(|r| r.entry)).collect()
    }

    async fn search_archive(&self, q: &ArchiveQuery) -> StoreResult<Vec<ArchivedRecord>> {
        let mut b = archive_sql::search::<Postgres>(ARCHIVE_COLUMNS, "body_text ILIKE ", q);
        let rows = b.build().fetch_all(self.pool()).await.map_err(backend)?;
        rows.iter().map(record_of).collect()
    }

    async fn purge_archive(&self, before_ms: u64) -> StoreResult<u64> {
        let n = sqlx::query("DELETE FROM archive WHERE at_ms < $1")
            .bind(i64_of(before_ms))
            .execute(self.pool())
            .await
            .map_err(backend)?
            .rows_affected();
        Ok(n)
    }
}

fn record_of(r: &sqlx::postgres::PgRow) -> StoreResult<ArchivedRecord> {
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

#[async_trait]
impl DocumentStore for PgStore {
    async fn document(&self, aor: &Aor, auid: &str) -> StoreResult<Option<Document>> {
        let row = sqlx::query("SELECT xml, etag FROM documents WHERE aor = $1 AND auid = $2")
            .bind(aor.as_str())
            .bind(auid)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        row.map(|r| {
            Ok(Document {
                xml: r.try_get("xml").map_err(backend)?,
                etag: r.try_get("etag").map_err(backend)?,
            })
        })
        .transpose()
    }

    async fn put_document(
        &self,
        aor: &Aor,
        auid: &str,
        doc: &Document,
        expect: Option<Option<&str>>,
    ) -> StoreResult<bool> {
        let now = i64_of(crate::core::now_secs());
        let sql = match expect {
            None => {
                "INSERT INTO documents (aor, auid, xml, etag, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (aor, auid) DO UPDATE SET xml = excluded.xml, etag = excluded.etag,
                 updated_at = excluded.updated_at"
            }
            Some(None) => {
                "INSERT INTO documents (aor, auid, xml, etag, updated_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (aor, auid) DO NOTHING"
            }
            Some(Some(_)) => {
                "UPDATE documents SET xml = $3, etag = $4, updated_at = $5
                 WHERE aor = $1 AND auid = $2 AND etag = $6"
            }
        };
        let mut q = sqlx::query(sql)
            .bind(aor.as_str())
            .bind(auid)
            .bind(&doc.xml)
            .bind(&doc.etag)
            .bind(now);
        if let Some(Some(etag)) = expect {
            q = q.bind(etag);
        }
        let n = q
            .execute(self.pool())
            .await
            .map_err(backend)?
            .rows_affected();
        Ok(n > 0)
    }

    async fn delete_document(&self, aor: &Aor, auid: &str) -> StoreResult<bool> {
        let n = sqlx::query("DELETE FROM documents WHERE aor = $1 AND auid = $2")
            .bind(aor.as_str())
            .bind(auid)
            .execute(self.pool())
            .await
            .map_err(backend)?
            .rows_affected();
        Ok(n > 0)
    }
}

#[async_trait]
impl TokenStore for PgStore {
    async fn create_token(&self, t: &ApiToken) -> StoreResult<()> {
        let res =
            sqlx::query("INSERT INTO api_tokens (name, hash, created_at) VALUES ($1, $2, $3)")
                .bind(&t.name)
                .bind(&t.hash)
                .bind(i64_of(t.created_at))
                .execute(self.pool())
                .await;
        match res {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::TokenExists(t.name.clone()))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn token_by_hash(&self, hash: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT name FROM api_tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)
    }

    async fn tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query("SELECT name, hash, created_at FROM api_tokens ORDER BY name")
            .fetch_all(self.pool())
            .await
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(ApiToken {
                    name: r.try_get("name").map_err(backend)?,
                    hash: r.try_get("hash").map_err(backend)?,
                    created_at: u64::try_from(r.try_get::<i64, _>("created_at").map_err(backend)?)
                        .unwrap_or(0),
                })
            })
            .collect()
    }

    async fn revoke_token(&self, name: &str) -> StoreResult<bool> {
        let n = sqlx::query("DELETE FROM api_tokens WHERE name = $1")
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(backend)?
            .rows_affected();
        Ok(n > 0)
    }
}
