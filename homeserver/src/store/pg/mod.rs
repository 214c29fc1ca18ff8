//! The pool's durable store: PostgreSQL through sqlx (migrations in
//! `homeserver/migrations_pg`): users and credentials, offline messages, the archive, XCAP
//! documents and API tokens — what any home server must find after another one died.
//! Bindings and presence are Redis's (see `redis.rs`); [`super::pool::PoolStore`] puts
//! the two together.

mod records;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::{postgres::PgPoolOptions, PgPool, Row};

use super::{Aor, Credentials, StoreError, StoreResult, User, UserRef, UserStore};

/// A pooled connection idle this long is pinged before it is used again.
const IDLE_PING: Duration = Duration::from_secs(1);

/// PostgreSQL's half of the pool store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and runs pending migrations.
    /// Connections are made lazily and re-made after the server restarts. A connection
    /// is pinged before use only when it sat idle for a second or more: sqlx's default
    /// (a ping before every query) was a third of the time the home server spent on
    /// PostgreSQL under load, and a connection in constant use shows a dead server by
    /// failing its next query anyway.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= IDLE_PING {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await
            .map_err(|e| StoreError::Backend(format!("connect to PostgreSQL: {e}")))?;
        sqlx::migrate!("./migrations_pg")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(PgStore { pool })
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs an `UPDATE users … WHERE aor = $n` whose other parameters are bound; no row
    /// touched is [`StoreError::NoSuchUser`].
    async fn update_user<'q>(
        &self,
        aor: &'q Aor,
        q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> StoreResult<()> {
        let n = q
            .bind(aor.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NoSuchUser(aor.to_string()));
        }
        Ok(())
    }
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

const USER_COLUMNS: &str = "aor, display_name, email, disabled, ha1_md5, ha1_sha256";

fn user_of(row: &sqlx::postgres::PgRow) -> StoreResult<User> {
    let aor: String = row.try_get("aor").map_err(backend)?;
    Ok(User {
        aor: Aor::parse(&aor).ok_or_else(|| backend(format!("bad aor in store: {aor}")))?,
        display_name: row.try_get("display_name").map_err(backend)?,
        email: row.try_get("email").map_err(backend)?,
        disabled: row.try_get("disabled").map_err(backend)?,
        credentials: Credentials {
            ha1_md5: row.try_get("ha1_md5").map_err(backend)?,
            ha1_sha256: row.try_get("ha1_sha256").map_err(backend)?,
        },
    })
}

#[async_trait]
impl UserStore for PgStore {
    async fn user(&self, aor: &Aor) -> StoreResult<Option<UserRef>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE aor = $1"))
            .bind(aor.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(user_of).transpose()?.map(UserRef::new))
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let res = sqlx::query(
            "INSERT INTO users (aor, display_name, email, disabled, ha1_md5, ha1_sha256, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, extract(epoch from now())::bigint)",
        )
        .bind(user.aor.as_str())
        .bind(&user.display_name)
        .bind(&user.email)
        .bind(user.disabled)
        .bind(&user.credentials.ha1_md5)
        .bind(&user.credentials.ha1_sha256)
        .execute(&self.pool)
        .await;
        match res {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::UserExists(user.aor.to_string()))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY aor"))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        rows.iter().map(user_of).collect()
    }

    async fn remove_user(&self, aor: &Aor) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let n = sqlx::query("DELETE FROM users WHERE aor = $1")
            .bind(aor.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NoSuchUser(aor.to_string()));
        }
        sqlx::query("DELETE FROM offline_messages WHERE recipient = $1")
            .bind(aor.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn set_disabled(&self, aor: &Aor, disabled: bool) -> StoreResult<()> {
        let q = sqlx::query("UPDATE users SET disabled = $1 WHERE aor = $2").bind(disabled);
        self.update_user(aor, q).await
    }

    async fn set_credentials(&self, aor: &Aor, creds: &Credentials) -> StoreResult<()> {
        let q = sqlx::query("UPDATE users SET ha1_md5 = $1, ha1_sha256 = $2 WHERE aor = $3")
            .bind(&creds.ha1_md5)
            .bind(&creds.ha1_sha256);
        self.update_user(aor, q).await
    }

    async fn set_profile(
        &self,
        aor: &Aor,
        display_name: &str,
        email: Option<&str>,
    ) -> StoreResult<()> {
        let q = sqlx::query("UPDATE users SET display_name = $1, email = $2 WHERE aor = $3")
            .bind(display_name.to_owned())
            .bind(email.map(str::to_owned));
        self.update_user(aor, q).await
    }

    async fn users_version(&self) -> StoreResult<u64> {
        let v: i64 = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'users_version'")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(u64::try_from(v).unwrap_or(0))
    }
}
