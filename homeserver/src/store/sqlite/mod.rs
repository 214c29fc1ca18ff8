//! The embedded store: one SQLite file through sqlx, migrations from
//! `homeserver/migrations`. WAL mode, so readers do not wait for the writer, with
//! synchronous=NORMAL: a committed write is in the WAL file before the call returns, so
//! it survives the process being killed at any point (the restart test does exactly
//! that); only an operating-system crash or power cut can lose the last transactions
//! before a checkpoint. FULL (an fsync per write) would cap message throughput at the
//! disk's sync rate.

mod archive;
mod chunks;
mod documents;
mod presence;
mod records;
mod tokens;

use std::{path::Path, str::FromStr, time::Duration};

use async_trait::async_trait;
use sqlx::{
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Row, SqlitePool,
};

use super::{Aor, Credentials, StoreError, StoreResult, User, UserRef, UserStore};

/// The SQLite implementation of every store trait.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let opts = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .map_err(backend)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            // sqlx's worker thread sends back one item per row returned and per statement
            // run. With its default of 50 in flight the thread blocked on every item past
            // the 50th until the engine took one: a refresh of many bindings (a statement
            // per row) or an archive chunk (a row back per entry) cost two thread switches
            // per row — on one core, the engine's thread preempted thousands of times a
            // second. Room for a whole chunk's items lets the thread run through it.
            .row_buffer_size(2 * chunks::MAX_ROWS);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::Backend(format!("open {}: {e}", path.display())))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(SqliteStore { pool })
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn user_of(row: &sqlx::sqlite::SqliteRow) -> StoreResult<User> {
    let aor: String = row.try_get("aor").map_err(backend)?;
    Ok(User {
        aor: Aor::parse(&aor).ok_or_else(|| backend(format!("bad aor in store: {aor}")))?,
        display_name: row.try_get("display_name").map_err(backend)?,
        email: row.try_get("email").map_err(backend)?,
        disabled: row.try_get::<i64, _>("disabled").map_err(backend)? != 0,
        credentials: Credentials {
            ha1_md5: row.try_get("ha1_md5").map_err(backend)?,
            ha1_sha256: row.try_get("ha1_sha256").map_err(backend)?,
        },
    })
}

const USER_COLUMNS: &str = "aor, display_name, email, disabled, ha1_md5, ha1_sha256";

#[async_trait]
impl UserStore for SqliteStore {
    async fn user(&self, aor: &Aor) -> StoreResult<Option<UserRef>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE aor = ?"))
            .bind(aor.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(row.as_ref().map(user_of).transpose()?.map(UserRef::new))
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let res = sqlx::query(
            "INSERT INTO users (aor, display_name, email, disabled, ha1_md5, ha1_sha256, created_at)
             VALUES (?, ?, ?, ?, ?, ?, strftime('%s','now'))",
        )
        .bind(user.aor.as_str())
        .bind(&user.display_name)
        .bind(&user.email)
        .bind(i64::from(user.disabled))
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
        let n = sqlx::query("DELETE FROM users WHERE aor = ?")
            .bind(aor.as_str())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NoSuchUser(aor.to_string()));
        }
        for table in ["bindings WHERE aor", "offline_messages WHERE recipient"] {
            sqlx::query(&format!("DELETE FROM {table} = ?"))
                .bind(aor.as_str())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn set_disabled(&self, aor: &Aor, disabled: bool) -> StoreResult<()> {
        let q =
            sqlx::query("UPDATE users SET disabled = ? WHERE aor = ?").bind(i64::from(disabled));
        self.update_user(aor, q).await
    }

    async fn set_credentials(&self, aor: &Aor, creds: &Credentials) -> StoreResult<()> {
        let q = sqlx::query("UPDATE users SET ha1_md5 = ?, ha1_sha256 = ? WHERE aor = ?")
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
        let q = sqlx::query("UPDATE users SET display_name = ?, email = ? WHERE aor = ?")
            .bind(display_name)
            .bind(email);
        self.update_user(aor, q).await
    }

    async fn users_version(&self) -> StoreResult<u64> {
        self.read_users_version().await
    }
}

impl SqliteStore {
    /// Runs an `UPDATE users … WHERE aor = ?` whose other parameters are bound; no row
    /// touched is [`StoreError::NoSuchUser`].
    async fn update_user<'q>(
        &self,
        aor: &'q Aor,
        q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> StoreResult<()> {
        let n = q
            .bind(aor.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
        one_user(aor, n)
    }

    async fn read_users_version(&self) -> StoreResult<u64> {
        let v: i64 = sqlx::query_scalar("SELECT value FROM meta WHERE key = 'users_version'")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(u64::try_from(v).unwrap_or(0))
    }
}

/// An update that touched no row named a user who does not exist.
fn one_user(aor: &Aor, rows: u64) -> StoreResult<()> {
    if rows == 0 {
        return Err(StoreError::NoSuchUser(aor.to_string()));
    }
    Ok(())
}
