//! XCAP documents in SQLite: one row per (user, application), compare-and-set on the ETag.

use async_trait::async_trait;
use sqlx::Row;

use super::{backend, SqliteStore};
use crate::store::{Aor, Document, DocumentStore, StoreResult};

#[async_trait]
impl DocumentStore for SqliteStore {
    async fn document(&self, aor: &Aor, auid: &str) -> StoreResult<Option<Document>> {
        let row = sqlx::query("SELECT xml, etag FROM documents WHERE aor = ? AND auid = ?")
            .bind(aor.as_str())
            .bind(auid)
            .fetch_optional(self.pool())
            .await
            .map_err(backend)?;
        Ok(row.map(|r| Document {
            xml: r.get("xml"),
            etag: r.get("etag"),
        }))
    }

    async fn put_document(
        &self,
        aor: &Aor,
        auid: &str,
        doc: &Document,
        expect: Option<Option<&str>>,
    ) -> StoreResult<bool> {
        let now = crate::core::now_secs() as i64;
        // Unconditional: insert or replace; "must not exist": insert or nothing.
        let upsert =
            "INSERT INTO documents (aor, auid, xml, etag, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (aor, auid) DO UPDATE SET xml = excluded.xml, etag = excluded.etag,
             updated_at = excluded.updated_at";
        let create =
            "INSERT INTO documents (aor, auid, xml, etag, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (aor, auid) DO NOTHING";
        let done = match expect {
            None | Some(None) => sqlx::query(if expect.is_none() { upsert } else { create })
                .bind(aor.as_str())
                .bind(auid)
                .bind(&doc.xml)
                .bind(&doc.etag)
                .bind(now)
                .execute(self.pool())
                .await
                .map_err(backend)?
                .rows_affected(),
            Some(Some(etag)) => sqlx::query(
                "UPDATE documents SET xml = ?, etag = ?, updated_at = ?
                 WHERE aor = ? AND auid = ? AND etag = ?",
            )
            .bind(&doc.xml)
            .bind(&doc.etag)
            .bind(now)
            .bind(aor.as_str())
            .bind(auid)
            .bind(etag)
            .execute(self.pool())
            .await
            .map_err(backend)?
            .rows_affected(),
        };
        Ok(done == 1)
    }

    async fn delete_document(&self, aor: &Aor, auid: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM documents WHERE aor = ? AND auid = ?")
            .bind(aor.as_str())
            .bind(auid)
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(r.rows_affected() == 1)
    }
}
