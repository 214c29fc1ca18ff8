//! Where the data lives: the embedded SQLite file (the default), or the pool's
//! PostgreSQL and Redis.

use super::{err, ConfigError, File, Settings};

/// The store backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// SQLite in the data directory.
    Embedded,
    /// PostgreSQL (users, messages, archive, documents, tokens) and Redis (bindings,
    /// presence), shared by every home server of a pool.
    Pool {
        postgres_url: String,
        redis_url: String,
        /// Prefix of every Redis key (several deployments on one Redis).
        redis_prefix: String,
    },
}

pub(super) fn load(s: &Settings<'_>, f: &File) -> Result<StoreKind, ConfigError> {
    match s.string("store", f.store.clone()).as_deref() {
        None | Some("embedded") => Ok(StoreKind::Embedded),
        Some("pool") => {
            let need = |key: &str, v: Option<String>| {
                v.filter(|v| !v.is_empty())
                    .ok_or_else(|| err(&Settings::label(key), "required with HERALD_STORE=pool"))
            };
            let postgres_url = need(
                "postgres_url",
                s.string("postgres_url", f.postgres_url.clone()),
            )?;
            if !postgres_url.starts_with("postgres://")
                && !postgres_url.starts_with("postgresql://")
            {
                return Err(err(
                    &Settings::label("postgres_url"),
                    "expected postgres://user@host:port/database",
                ));
            }
            let redis_url = need("redis_url", s.string("redis_url", f.redis_url.clone()))?;
            if !redis_url.starts_with("redis://") && !redis_url.starts_with("rediss://") {
                return Err(err(
                    &Settings::label("redis_url"),
                    "expected redis://host:port/",
                ));
            }
            Ok(StoreKind::Pool {
                postgres_url,
                redis_url,
                redis_prefix: s
                    .string("redis_prefix", f.redis_prefix.clone())
                    .unwrap_or_else(|| "herald:".into()),
            })
        }
        Some(other) => Err(err(
            &Settings::label("store"),
            format!("{other:?} is not embedded or pool"),
        )),
    }
}
