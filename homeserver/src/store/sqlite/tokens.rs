//! Administrators' API tokens in SQLite (hashes only).

use async_trait::async_trait;
use sqlx::Row;

use super::{backend, SqliteStore};
use crate::store::{ApiToken, StoreError, StoreResult, TokenStore};

#[async_trait]
impl TokenStore for SqliteStore {
    async fn create_token(&self, t: &ApiToken) -> StoreResult<()> {
        let res = sqlx::query("INSERT INTO api_tokens (name, hash, created_at) VALUES (?, ?, ?)")
            .bind(&t.name)
            .bind(&t.hash)
            .bind(i64::try_from(t.created_at).unwrap_or(i64::MAX))
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
        sqlx::query_scalar("SELECT name FROM api_tokens WHERE hash = ?")
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
        let n = sqlx::query("DELETE FROM api_tokens WHERE name = ?")
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(backend)?
            .rows_affected();
        Ok(n > 0)
    }
}
