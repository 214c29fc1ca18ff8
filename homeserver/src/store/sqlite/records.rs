//! Bindings, offline messages and the archive in SQLite.

use async_trait::async_trait;
use herald_proto::v1::FlowRef;
use sqlx::Row;

use super::{
    backend,
    chunks::{list, placeholders, pow2_chunks, BySize},
    SqliteStore,
};
use crate::store::{
    archive_sql::{bind_row, i64_of},
    Aor, ArchiveEntry, BatchWrite, BatchWriter, Binding, BindingStore, Bindings, OfflineStore,
    SetChange, StoreResult, StoredMessage,
};

const BINDING_COLUMNS: &str = "aor, contact, q, expires_at, call_id, cseq, instance, reg_id, \
     flow_frontend, flow_conn, flow_transport, flow_remote, user_agent";

fn binding_of(row: &sqlx::sqlite::SqliteRow) -> StoreResult<Binding> {
    let aor: String = row.try_get("aor").map_err(backend)?;
    let int = |name: &str| row.try_get::<i64, _>(name).map_err(backend);
    let opt_int = |name: &str| row.try_get::<Option<i64>, _>(name).map_err(backend);
    Ok(Binding {
        aor: Aor::parse(&aor).ok_or_else(|| backend(format!("bad aor in store: {aor}")))?,
        contact: row.try_get("contact").map_err(backend)?,
        q: opt_int("q")?.and_then(|q| u16::try_from(q).ok()),
        expires_at: u64::try_from(int("expires_at")?).unwrap_or(0),
        call_id: row.try_get("call_id").map_err(backend)?,
        cseq: u32::try_from(int("cseq")?).unwrap_or(0),
        instance: row.try_get("instance").map_err(backend)?,
        reg_id: opt_int("reg_id")?.and_then(|r| u32::try_from(r).ok()),
        flow: FlowRef {
            frontend_id: row.try_get("flow_frontend").map_err(backend)?,
            connection_id: u64::try_from(int("flow_conn")?).unwrap_or(0),
            transport: i32::try_from(int("flow_transport")?).unwrap_or(0),
            remote: row.try_get("flow_remote").map_err(backend)?,
        },
        user_agent: row.try_get("user_agent").map_err(backend)?,
    })
}

#[async_trait]
impl BindingStore for SqliteStore {
    async fn bindings(&self, aor: &Aor, now_secs: u64) -> StoreResult<Bindings> {
        let rows = sqlx::query(&format!(
            "SELECT {BINDING_COLUMNS} FROM bindings WHERE aor = ? AND expires_at > ? \
             ORDER BY COALESCE(q, 1000) DESC, contact"
        ))
        .bind(aor.as_str())
        .bind(i64_of(now_secs))
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter()
            .map(binding_of)
            .collect::<StoreResult<Vec<_>>>()
            .map(Into::into)
    }

    async fn replace_bindings(&self, aor: &Aor, bindings: Bindings) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        replace_in(&mut tx, aor, &bindings).await?;
        tx.commit().await.map_err(backend)
    }

    async fn expire_bindings(&self, now_secs: u64) -> StoreResult<u64> {
        let mut conn = self.pool().acquire().await.map_err(backend)?;
        expire_in(&mut conn, now_secs).await
    }

    async fn every_binding(&self) -> StoreResult<Option<Vec<Binding>>> {
        let rows = sqlx::query(&format!(
            "SELECT {BINDING_COLUMNS} FROM bindings ORDER BY aor, COALESCE(q, 1000) DESC, contact"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(backend)?;
        rows.iter()
            .map(binding_of)
            .collect::<StoreResult<_>>()
            .map(Some)
    }
}

pub(super) type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

async fn replace_in(tx: &mut Tx<'_>, aor: &Aor, bindings: &[Binding]) -> StoreResult<()> {
    write_sets(tx, &[(aor, bindings, SetChange::Replace)]).await
}

/// What a binding row's other columns become when its `(aor, contact)` is already there.
const UPDATE_ON_CONFLICT: &str = " ON CONFLICT (aor, contact) DO UPDATE SET \
     q = excluded.q, expires_at = excluded.expires_at, call_id = excluded.call_id, \
     cseq = excluded.cseq, instance = excluded.instance, reg_id = excluded.reg_id, \
     flow_frontend = excluded.flow_frontend, flow_conn = excluded.flow_conn, \
     flow_transport = excluded.flow_transport, flow_remote = excluded.flow_remote, \
     user_agent = excluded.user_agent";

/// Writes the binding sets of several AORs with a few multi-row statements, whatever
/// the number of AORs: the rows of the AORs that may have dropped a contact are deleted,
/// then every set's rows are inserted, or updated in place where the contact is already
/// bound. A refresh of the contacts already bound (most REGISTERs) so rewrites one table
/// row in place instead of deleting and inserting the row and its key's index entry; a
/// set known to be a pure refresh ([`SetChange::Refresh`]) updates only the columns a
/// refresh moves, binding 5 values a row instead of 13. A batch costs a handful of round
/// trips to SQLite's thread, and the statements are of sizes already prepared
/// ([`pow2_chunks`]).
async fn write_sets(tx: &mut Tx<'_>, sets: &[(&Aor, &[Binding], SetChange)]) -> StoreResult<()> {
    let pruned: Vec<&Aor> = sets
        .iter()
        .filter(|(_, _, c)| *c == SetChange::Replace)
        .map(|(aor, _, _)| *aor)
        .collect();
    static DELETE: BySize =
        BySize::new(|n| format!("DELETE FROM bindings WHERE aor IN ({})", list(n)));
    for chunk in pow2_chunks(&pruned) {
        let sql = DELETE.get(chunk.len());
        let mut del = sqlx::query(&sql);
        for aor in chunk {
            del = del.bind(aor.as_str());
        }
        del.execute(&mut **tx).await.map_err(backend)?;
    }
    let (refreshed, written): (Vec<_>, Vec<_>) =
        sets.iter().partition(|(_, _, c)| *c == SetChange::Refresh);
    fn rows<'a>(sets: Vec<&(&Aor, &'a [Binding], SetChange)>) -> Vec<&'a Binding> {
        sets.into_iter().flat_map(|(_, b, _)| b.iter()).collect()
    }
    for chunk in pow2_chunks(&rows(refreshed)) {
        // A row the store lacks after all (nothing the cache does leads there, but the
        // database is not the cache) is written whole with the rest of its chunk.
        if refresh_rows(tx, chunk).await? != chunk.len() as u64 {
            upsert_rows(tx, chunk).await?;
        }
    }
    for chunk in pow2_chunks(&rows(written)) {
        upsert_rows(tx, chunk).await?;
    }
    Ok(())
}

/// Inserts the rows, or rewrites every column of those whose contact is already bound.
async fn upsert_rows(tx: &mut Tx<'_>, rows: &[&Binding]) -> StoreResult<()> {
    static SQL: BySize = BySize::new(|n| {
        format!(
            "INSERT INTO bindings ({BINDING_COLUMNS}) VALUES {}{UPDATE_ON_CONFLICT}",
            placeholders(13, n)
        )
    });
    let sql = SQL.get(rows.len());
    let mut q = sqlx::query(&sql);
    for b in rows {
        q = q
            .bind(b.aor.as_str())
            .bind(&b.contact)
            .bind(b.q.map(i64::from))
            .bind(i64_of(b.expires_at))
            .bind(&b.call_id)
            .bind(i64::from(b.cseq))
            .bind(&b.instance)
            .bind(b.reg_id.map(i64::from))
            .bind(&b.flow.frontend_id)
            .bind(i64_of(b.flow.connection_id))
            .bind(i64::from(b.flow.transport))
            .bind(&b.flow.remote)
            .bind(&b.user_agent);
    }
    q.execute(&mut **tx).await.map_err(backend)?;
    Ok(())
}

/// One row's refresh: a statement that finds the row by its key.
const REFRESH_ROW: &str =
    "UPDATE bindings SET expires_at = ?, call_id = ?, cseq = ? WHERE aor = ? AND contact = ?;";

/// Moves the expiry, Call-ID and CSeq of rows already stored; how many it found. One
/// UPDATE per row, all sent in one go: SQLite runs each as a lookup by key (an UPDATE
/// FROM a VALUES list first copies the whole join into a temporary table, and costs
/// SQLite's thread more than the upsert it replaces).
async fn refresh_rows(tx: &mut Tx<'_>, rows: &[&Binding]) -> StoreResult<u64> {
    static SQL: BySize = BySize::new(|n| REFRESH_ROW.repeat(n));
    let sql = SQL.get(rows.len());
    let mut q = sqlx::query(&sql);
    for b in rows {
        q = q
            .bind(i64_of(b.expires_at))
            .bind(&b.call_id)
            .bind(i64::from(b.cseq))
            .bind(b.aor.as_str())
            .bind(&b.contact);
    }
    let r = q.execute(&mut **tx).await.map_err(backend)?;
    Ok(r.rows_affected())
}

async fn expire_in(conn: &mut sqlx::SqliteConnection, now_secs: u64) -> StoreResult<u64> {
    let r = sqlx::query("DELETE FROM bindings WHERE expires_at <= ?")
        .bind(i64_of(now_secs))
        .execute(conn)
        .await
        .map_err(backend)?;
    Ok(r.rows_affected())
}

async fn insert_message(tx: &mut Tx<'_>, m: &StoredMessage) -> StoreResult<i64> {
    let r = sqlx::query(
        "INSERT INTO offline_messages (recipient, sender_from, content_type, body, received_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(m.recipient.as_str())
    .bind(&m.from)
    .bind(&m.content_type)
    .bind(&m.body)
    .bind(i64_of(m.received_at_ms))
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(r.last_insert_rowid())
}

pub(super) async fn archive_in(tx: &mut Tx<'_>, e: &ArchiveEntry) -> StoreResult<()> {
    archive_many(tx, &[e]).await
}

/// Archives entries with a few multi-row statements (the rows, then their recipients),
/// however many there are: a busy server archives thousands of messages a second, and
/// each statement is a round trip to SQLite's thread.
pub(super) async fn archive_many(tx: &mut Tx<'_>, entries: &[&ArchiveEntry]) -> StoreResult<()> {
    static ROWS: BySize = BySize::new(|n| {
        format!(
            "INSERT INTO archive (sender, recipients, at_ms, call_id, content_type, body, outcome) \
             VALUES {} RETURNING id",
            placeholders(7, n)
        )
    });
    // OR IGNORE: a recipient named twice in one message is one row (the key).
    static LINKS: BySize = BySize::new(|n| {
        format!(
            "INSERT OR IGNORE INTO archive_recipients (archive_id, recipient) VALUES {}",
            placeholders(2, n)
        )
    });
    for chunk in pow2_chunks(entries) {
        let sql = ROWS.get(chunk.len());
        let mut ins = sqlx::query_scalar::<_, i64>(&sql);
        for e in chunk {
            ins = bind_row(ins, e).bind(e.outcome.to_db());
        }
        let mut ids: Vec<i64> = ins.fetch_all(&mut **tx).await.map_err(backend)?;
        // RETURNING gives no order, but AUTOINCREMENT ids grow with every row inserted,
        // in the order of the VALUES: the i-th smallest id is the i-th entry's.
        ids.sort_unstable();
        if ids.len() != chunk.len() {
            return Err(backend(format!(
                "archive insert returned {} ids for {} entries",
                ids.len(),
                chunk.len()
            )));
        }
        let links: Vec<(i64, &String)> = ids
            .iter()
            .zip(chunk)
            .flat_map(|(id, e)| e.recipients.iter().map(move |r| (*id, r)))
            .collect();
        for part in pow2_chunks(&links) {
            let sql = LINKS.get(part.len());
            let mut ins = sqlx::query(&sql);
            for (id, r) in part {
                ins = ins.bind(*id).bind(*r);
            }
            ins.execute(&mut **tx).await.map_err(backend)?;
        }
    }
    Ok(())
}

#[async_trait]
impl BatchWriter for SqliteStore {
    /// One transaction for the whole batch: one WAL commit instead of one per write.
    /// The last binding set of each AOR in the batch, then the archive entries in order,
    /// then expiry with the latest time: equivalent to applying the writes one by one,
    /// because a binding set never holds bindings already expired when it was written.
    async fn write_batch(&self, batch: &[BatchWrite]) -> StoreResult<()> {
        // The last set of each AOR, with the largest change of any write of the batch (a
        // contact dropped by one write is dropped whatever the later ones do).
        let mut last: std::collections::HashMap<&Aor, (&[Binding], SetChange)> = Default::default();
        let mut expire = None;
        for w in batch {
            match w {
                BatchWrite::Bindings(aor, b, change) => {
                    last.entry(aor)
                        .and_modify(|(set, c)| {
                            *set = &b[..];
                            *c = (*c).max(*change);
                        })
                        .or_insert((&b[..], *change));
                }
                BatchWrite::Expire(now) => expire = expire.max(Some(*now)),
                BatchWrite::Archive(_)
                | BatchWrite::Publications(..)
                | BatchWrite::Subscription(..) => {}
            }
        }
        let sets: Vec<(&Aor, &[Binding], SetChange)> =
            last.into_iter().map(|(a, (b, c))| (a, b, c)).collect();
        let mut tx = self.pool().begin().await.map_err(backend)?;
        write_sets(&mut tx, &sets).await?;
        let archived: Vec<&ArchiveEntry> = batch
            .iter()
            .filter_map(|w| match w {
                BatchWrite::Archive(e) => Some(e),
                _ => None,
            })
            .collect();
        archive_many(&mut tx, &archived).await?;
        for w in batch {
            match w {
                BatchWrite::Publications(aor, p) => {
                    super::presence::replace_publications_in(&mut tx, aor, p).await?
                }
                BatchWrite::Subscription(key, s) => {
                    super::presence::put_subscription_in(&mut tx, key, s.as_ref()).await?
                }
                BatchWrite::Bindings(..) | BatchWrite::Expire(_) | BatchWrite::Archive(_) => {}
            }
        }
        if let Some(now) = expire {
            expire_in(&mut tx, now).await?;
        }
        tx.commit().await.map_err(backend)
    }
}

#[async_trait]
impl OfflineStore for SqliteStore {
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
             WHERE recipient = ? ORDER BY id",
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

    async fn recipients_waiting(&self) -> StoreResult<Option<Vec<Aor>>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT recipient FROM offline_messages")
                .fetch_all(self.pool())
                .await
                .map_err(backend)?;
        rows.iter()
            .map(|a| Aor::parse(a).ok_or_else(|| backend(format!("bad aor in store: {a}"))))
            .collect::<StoreResult<_>>()
            .map(Some)
    }

    async fn hold_message(&self, m: &StoredMessage) -> StoreResult<i64> {
        let mut tx = self.pool().begin().await.map_err(backend)?;
        let id = insert_message(&mut tx, m).await?;
        tx.commit().await.map_err(backend)?;
        Ok(id)
    }

    async fn remove_message(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM offline_messages WHERE id = ?")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::battery::binding_for;

    /// A refresh finds every row (no fallback to the whole-row write), moves expiry,
    /// Call-ID and CSeq, and finds nothing for a row not stored; the plan looks bindings
    /// up by their key, not by a scan.
    #[tokio::test]
    async fn a_refresh_updates_the_stored_rows_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("h.db")).await.unwrap();
        let aor = Aor::parse("ida@example.com").unwrap();
        let a = binding_for(&aor, "sip:ida@10.0.0.1", 100);
        let b = binding_for(&aor, "sip:ida@10.0.0.2", 100);
        store
            .replace_bindings(&aor, vec![a.clone(), b.clone()].into())
            .await
            .unwrap();
        let moved = |x: &Binding| {
            let mut x = x.clone();
            x.expires_at = 900;
            x.call_id = "later".into();
            x.cseq = 99;
            x
        };
        let (a2, b2) = (moved(&a), moved(&b));
        let mut tx = store.pool().begin().await.unwrap();
        assert_eq!(refresh_rows(&mut tx, &[&a2, &b2]).await.unwrap(), 2);
        let stray = binding_for(&aor, "sip:ida@10.0.0.3", 100);
        assert_eq!(refresh_rows(&mut tx, &[&stray]).await.unwrap(), 0);
        let plan: Vec<String> = sqlx::query(&format!(
            "EXPLAIN QUERY PLAN {}",
            REFRESH_ROW.trim_end_matches(';')
        ))
        .bind(1)
        .bind("c")
        .bind(2)
        .bind("a")
        .bind("b")
        .fetch_all(&mut *tx)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect();
        assert!(
            plan.iter().any(|d| d.starts_with("SEARCH bindings USING"))
                && !plan.iter().any(|d| d.starts_with("SCAN bindings")),
            "plan: {plan:?}"
        );
        tx.commit().await.unwrap();
        assert_eq!(
            store.bindings(&aor, 0).await.unwrap().to_vec(),
            vec![a2, b2]
        );
    }
}
