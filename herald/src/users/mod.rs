//! User administration on the local store, without a running server: add, list, disable,
//! enable, remove, set password, and bulk import from CSV (all lines or none). The file
//! formats and the checks are the admin API's (`herald_api::import`), so a file accepted
//! here is accepted by `heraldctl user import` and the other way round.

use std::{io::Read, path::Path};

use herald_api::import::{self, Format};
use herald_homeserver::store::{Aor, Store, StoreError, User};

pub use herald_api::import::{credentials, random_password};

/// A user-administration error; the message names what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Address(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {count} bad line(s), nothing imported:\n{lines}")]
    Import {
        path: String,
        count: usize,
        lines: String,
    },
}

/// Resolves `alice` or `alice@domain` to an AOR of `domain`.
pub fn address(s: &str, domain: &str) -> Result<Aor, AdminError> {
    import::address(s, domain).map_err(AdminError::Address)
}

pub async fn add(
    store: &dyn Store,
    aor: Aor,
    name: &str,
    email: Option<String>,
    password: &str,
    realm: &str,
) -> Result<(), AdminError> {
    if let Some(e) = &email {
        import::check_email(e).map_err(AdminError::Address)?;
    }
    let user = User {
        credentials: credentials(&aor, realm, password),
        aor,
        display_name: name.to_owned(),
        email,
        disabled: false,
    };
    Ok(store.create_user(&user).await?)
}

/// Bad lines listed in an import error; the count covers all of them.
const MAX_REPORTED: usize = 50;

/// Imports users from CSV (header row naming address and password or HA1 columns). Every
/// line is checked first; if any is bad, nothing is imported and the error lists each bad
/// line by number. Returns how many users were (or, with `dry_run`, would be) added.
pub async fn import(
    store: &dyn Store,
    path: &Path,
    domain: &str,
    dry_run: bool,
) -> Result<usize, AdminError> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|source| AdminError::Read {
            path: path.display().to_string(),
            source,
        })?;
    let (users, mut errors) = import::parse(&text, Format::Csv, domain);
    for (line, u) in &users {
        if store.user(&u.aor).await?.is_some() {
            errors.push(import::LineError {
                line: *line,
                error: format!("user {} already exists", u.aor),
            });
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        let count = errors.len();
        let mut lines = errors
            .iter()
            .take(MAX_REPORTED)
            .map(|e| format!("line {}: {}", e.line, e.error))
            .collect::<Vec<_>>()
            .join("\n");
        if count > MAX_REPORTED {
            lines.push_str(&format!("\n… and {} more", count - MAX_REPORTED));
        }
        return Err(AdminError::Import {
            path: path.display().to_string(),
            count,
            lines,
        });
    }
    if !dry_run {
        for (_, u) in &users {
            store.create_user(u).await?;
        }
    }
    Ok(users.len())
}

#[cfg(test)]
mod tests;
