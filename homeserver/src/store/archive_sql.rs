//! The archive as SQL, for every SQL store: the `WHERE` clause of an [`ArchiveQuery`]
//! (user, peer, time window, text, paging), built with bound parameters only, and the
//! values of a row written. The stores differ only in how the body is matched as text
//! (and PostgreSQL keeps a text copy of it).

use sqlx::{query::QueryScalar, Database, Encode, QueryBuilder, Type};

use super::{ArchiveEntry, ArchiveQuery};

/// Binds an archived row's columns from `sender` to `body`, in the order every store's
/// `INSERT INTO archive (sender, recipients, at_ms, call_id, content_type, body, …)`
/// names them; the store binds the rest.
pub(crate) fn bind_row<'q, DB, O>(
    q: QueryScalar<'q, DB, O, <DB as Database>::Arguments<'q>>,
    e: &'q ArchiveEntry,
) -> QueryScalar<'q, DB, O, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    String: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    Vec<u8>: Encode<'q, DB> + Type<DB>,
{
    q.bind(&e.sender)
        .bind(e.recipients.join(","))
        .bind(i64_of(e.at_ms))
        .bind(&e.call_id)
        .bind(&e.content_type)
        .bind(&e.body)
}

/// Appends `SELECT {columns} FROM archive WHERE …  ORDER BY id LIMIT n` for `q`;
/// `text_match` is the store's expression that takes the LIKE pattern (`… LIKE `).
pub(crate) fn search<'a, DB>(
    columns: &str,
    text_match: &str,
    q: &ArchiveQuery,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut b = QueryBuilder::<DB>::new(format!("SELECT {columns} FROM archive WHERE id > "));
    b.push_bind(q.after_id);
    let between = |b: &mut QueryBuilder<'a, DB>, from: &str, to: &str| {
        b.push("(sender = ");
        b.push_bind(from.to_owned());
        b.push(" AND id IN (SELECT archive_id FROM archive_recipients WHERE recipient = ");
        b.push_bind(to.to_owned());
        b.push("))");
    };
    match (&q.user, &q.peer) {
        (Some(u), Some(p)) => {
            b.push(" AND (");
            between(&mut b, u, p);
            b.push(" OR ");
            between(&mut b, p, u);
            b.push(")");
        }
        (Some(one), None) | (None, Some(one)) => {
            b.push(" AND (sender = ");
            b.push_bind(one.clone());
            b.push(" OR id IN (SELECT archive_id FROM archive_recipients WHERE recipient = ");
            b.push_bind(one.clone());
            b.push("))");
        }
        (None, None) => {}
    }
    if let Some(t) = q.since_ms {
        b.push(" AND at_ms >= ").push_bind(i64_of(t));
    }
    if let Some(t) = q.until_ms {
        b.push(" AND at_ms < ").push_bind(i64_of(t));
    }
    if let Some(text) = &q.text {
        b.push(" AND ")
            .push(text_match)
            .push_bind(format!("%{}%", escape_like(text)))
            .push(" ESCAPE '\\'");
    }
    b.push(" ORDER BY id LIMIT ").push_bind(i64::from(q.limit));
    b
}

pub(crate) fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// `text` with LIKE's wildcards taken literally.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
