//! User administration on the embedded store: add, list, disable, enable, remove, set
//! password, and bulk import from CSV. Passwords are kept only as digest HA1 values
//! (MD5 and SHA-256, bound to the realm), which is what SIP digest needs.

use std::{io::Read, path::Path};

use herald_homeserver::store::{Aor, Credentials, Store, StoreError, User};
use herald_sip::auth::{ha1, Algorithm};

/// A user-administration error; the message names what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid address {0:?}: expected user@domain")]
    BadAddress(String),
    #[error("{address}: domain {domain} is not this server's domain ({ours})")]
    OtherDomain {
        address: String,
        domain: String,
        ours: String,
    },
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
    let full = if s.contains('@') {
        s.to_owned()
    } else {
        format!("{s}@{domain}")
    };
    let aor = Aor::parse(&full).ok_or_else(|| AdminError::BadAddress(s.to_owned()))?;
    if aor.domain() != domain {
        return Err(AdminError::OtherDomain {
            address: s.to_owned(),
            domain: aor.domain().to_owned(),
            ours: domain.to_owned(),
        });
    }
    Ok(aor)
}

/// The digest secrets of a password for `aor` in realm `realm`.
pub fn credentials(aor: &Aor, realm: &str, password: &str) -> Credentials {
    Credentials {
        ha1_md5: Some(ha1(Algorithm::Md5, aor.user(), realm, password)),
        ha1_sha256: Some(ha1(Algorithm::Sha256, aor.user(), realm, password)),
    }
}

/// A password column: plain text, or a precomputed HA1 as `md5:HEX` / `sha256:HEX`.
fn credentials_of(aor: &Aor, realm: &str, secret: &str) -> Result<Credentials, String> {
    let hex = |h: &str, len: usize| h.len() == len && h.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(h) = secret.strip_prefix("md5:") {
        return hex(h, 32)
            .then(|| Credentials {
                ha1_md5: Some(h.to_ascii_lowercase()),
                ha1_sha256: None,
            })
            .ok_or_else(|| "md5: hash must be 32 hexadecimal digits".to_owned());
    }
    if let Some(h) = secret.strip_prefix("sha256:") {
        return hex(h, 64)
            .then(|| Credentials {
                ha1_md5: None,
                ha1_sha256: Some(h.to_ascii_lowercase()),
            })
            .ok_or_else(|| "sha256: hash must be 64 hexadecimal digits".to_owned());
    }
    if secret.is_empty() {
        return Err("empty password".to_owned());
    }
    Ok(credentials(aor, realm, secret))
}

/// A random password of 16 letters and digits.
pub fn random_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

pub async fn add(
    store: &dyn Store,
    aor: Aor,
    name: &str,
    email: Option<String>,
    password: &str,
    realm: &str,
) -> Result<(), AdminError> {
    let credentials = credentials(&aor, realm, password);
    let user = User {
        aor,
        display_name: name.to_owned(),
        email,
        disabled: false,
        credentials,
    };
    Ok(store.create_user(&user).await?)
}

/// Bad lines listed in an import error; the count covers all of them.
const MAX_REPORTED: usize = 50;

/// One parsed CSV row.
struct Row {
    user: User,
}

/// Imports users from CSV with a header row: `address,display_name,password,email`
/// (display_name and email may be empty). Every line is checked first; if any is bad,
/// nothing is imported and the error lists each bad line by number. Returns how many
/// users were (or, with `dry_run`, would be) added.
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
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let headers = reader.headers().cloned().unwrap_or_default();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (c_addr, c_name, c_pass, c_mail) = (
        col("address"),
        col("display_name"),
        col("password"),
        col("email"),
    );
    if c_addr.is_none() || c_pass.is_none() {
        return Err(AdminError::Import {
            path: path.display().to_string(),
            count: 1,
            lines: "line 1: header must name at least the columns address and password".into(),
        });
    }
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let field = |c: Option<usize>| c.and_then(|c| rec.get(c)).unwrap_or("").to_owned();
        let raw_addr = field(c_addr);
        let aor = match address(&raw_addr, domain) {
            Ok(a) => a,
            Err(e) => {
                errors.push(format!("line {line}: {e}"));
                continue;
            }
        };
        if !seen.insert(aor.clone()) {
            errors.push(format!("line {line}: {aor} appears twice in the file"));
            continue;
        }
        let credentials = match credentials_of(&aor, domain, &field(c_pass)) {
            Ok(c) => c,
            Err(e) => {
                errors.push(format!("line {line}: {aor}: {e}"));
                continue;
            }
        };
        if store.user(&aor).await?.is_some() {
            errors.push(format!("line {line}: user {aor} already exists"));
            continue;
        }
        let email = Some(field(c_mail)).filter(|e| !e.is_empty());
        if let Some(e) = &email {
            if !e.contains('@') {
                errors.push(format!("line {line}: {aor}: invalid e-mail address {e:?}"));
                continue;
            }
        }
        rows.push(Row {
            user: User {
                aor,
                display_name: field(c_name),
                email,
                disabled: false,
                credentials,
            },
        });
    }
    if !errors.is_empty() {
        let count = errors.len();
        let mut lines = errors
            .into_iter()
            .take(MAX_REPORTED)
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
        for r in &rows {
            store.create_user(&r.user).await?;
        }
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests;
