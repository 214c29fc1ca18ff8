//! Opens the configured store: the embedded SQLite file or the pool's PostgreSQL and
//! Redis. The server, the user and token commands all go through here.

use std::sync::Arc;

use herald_homeserver::store::{pool::PoolStore, sqlite::SqliteStore, Store};

use crate::config::{Config, StoreKind};

/// The store of `cfg` (creating the data directory for the embedded one).
pub async fn open(cfg: &Config) -> anyhow::Result<Arc<dyn Store>> {
    match &cfg.store {
        StoreKind::Embedded => {
            std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
                anyhow::anyhow!(
                    "cannot create data directory {}: {e}",
                    cfg.data_dir.display()
                )
            })?;
            Ok(Arc::new(SqliteStore::open(&cfg.database()).await?))
        }
        StoreKind::Pool {
            postgres_url,
            redis_url,
            redis_prefix,
        } => {
            let s = PoolStore::open(postgres_url, redis_url, redis_prefix)
                .await
                .map_err(|e| anyhow::anyhow!("HERALD_STORE=pool: {e}"))?;
            Ok(Arc::new(s))
        }
    }
}
