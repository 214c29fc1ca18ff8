//! Users in bulk: import from CSV or JSON Lines (each line checked; bad lines reported by
//! number, good ones created — or, with a dry run, only counted) and export in the same
//! formats. Passwords are kept only as digest HA1 values, so an export carries those
//! (`ha1_md5`, `ha1_sha256`) and an import takes either a `password` or the HA1 columns.

use std::collections::HashSet;

use axum::{
    extract::{Query, State},
    http::header,
    response::{IntoResponse, Response},
    Json,
};
use herald_homeserver::store::{Aor, Credentials, User};
use herald_sip::auth::{ha1, Algorithm};
use serde::{Deserialize, Serialize};

use crate::{ApiError, ApiState};

/// A file format for users and archive exports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Csv,
    Jsonl,
}

/// One user as written in an import or export file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserRecord {
    /// `user@domain` or just the user name in the server's domain.
    pub address: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub disabled: bool,
    /// Plain password (import only; never exported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha1_md5: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha1_sha256: Option<String>,
}

/// A line that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LineError {
    pub line: usize,
    pub error: String,
}

/// Resolves `alice` or `alice@domain` to an AOR of `domain`; the error names what is wrong.
pub fn address(s: &str, domain: &str) -> Result<Aor, String> {
    let full = if s.contains('@') {
        s.to_owned()
    } else {
        format!("{s}@{domain}")
    };
    let aor =
        Aor::parse(&full).ok_or_else(|| format!("invalid address {s:?}: expected user@domain"))?;
    if aor.domain() != domain {
        return Err(format!(
            "{s}: domain {} is not this server's domain ({domain})",
            aor.domain()
        ));
    }
    Ok(aor)
}

/// An e-mail address as users may have one: `local@domain`, no spaces or control
/// characters.
pub fn check_email(e: &str) -> Result<(), String> {
    let ok = e
        .split_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(format!("invalid e-mail address {e:?}"))
    }
}

/// The digest secrets of a password for `aor` in realm `realm`.
pub fn credentials(aor: &Aor, realm: &str, password: &str) -> Credentials {
    Credentials {
        ha1_md5: Some(ha1(Algorithm::Md5, aor.user(), realm, password)),
        ha1_sha256: Some(ha1(Algorithm::Sha256, aor.user(), realm, password)),
    }
}

/// A random password of 16 letters and digits (no look-alikes).
pub fn random_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// Reads `text` as `format` and checks every line: the users to create (with their line
/// numbers) and the lines that are wrong. Existing users are the caller's business.
pub fn parse(text: &str, format: Format, domain: &str) -> (Vec<(usize, User)>, Vec<LineError>) {
    let (records, mut errors) = match format {
        Format::Csv => csv_records(text),
        Format::Jsonl => jsonl_records(text),
    };
    let mut users = Vec::new();
    let mut seen = HashSet::new();
    for (line, r) in records {
        match user_of(&r, domain) {
            Ok(u) if !seen.insert(u.aor.clone()) => errors.push(LineError {
                line,
                error: format!("{} appears twice in the file", u.aor),
            }),
            Ok(u) => users.push((line, u)),
            Err(error) => errors.push(LineError { line, error }),
        }
    }
    errors.sort_by_key(|e| e.line);
    (users, errors)
}

/// A user as written in files (HA1 values, never a password).
pub fn record_of(u: &User) -> UserRecord {
    UserRecord {
        address: u.aor.to_string(),
        display_name: u.display_name.clone(),
        email: u.email.clone(),
        disabled: u.disabled,
        password: None,
        ha1_md5: u.credentials.ha1_md5.clone(),
        ha1_sha256: u.credentials.ha1_sha256.clone(),
    }
}

/// Writes users as `format` (HA1 values, never passwords).
pub fn write(users: &[User], format: Format) -> String {
    let records = users.iter().map(record_of);
    match format {
        Format::Jsonl => records
            .filter_map(|r| serde_json::to_string(&r).ok())
            .map(|l| l + "\n")
            .collect(),
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(CSV_COLUMNS);
            for r in records {
                let _ = w.write_record([
                    r.address,
                    r.display_name,
                    r.email.unwrap_or_default(),
                    r.disabled.to_string(),
                    r.ha1_md5.unwrap_or_default(),
                    r.ha1_sha256.unwrap_or_default(),
                ]);
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        }
    }
}

const CSV_COLUMNS: [&str; 6] = [
    "address",
    "display_name",
    "email",
    "disabled",
    "ha1_md5",
    "ha1_sha256",
];

fn csv_records(text: &str) -> (Vec<(usize, UserRecord)>, Vec<LineError>) {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers().cloned().unwrap_or_default();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    if col("address").is_none() {
        let error =
            "the header row must name an address column (and password, or ha1_md5/ha1_sha256)";
        return (
            Vec::new(),
            vec![LineError {
                line: 1,
                error: error.into(),
            }],
        );
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    // The csv crate's own line numbers are off by one after CRLF line ends and blank
    // lines: the line is counted from the record's byte offset instead.
    let line_at = |byte: u64| {
        let start = usize::try_from(byte).unwrap_or(text.len()).min(text.len());
        let rest = &text[start..];
        let skipped = rest.len() - rest.trim_start_matches(['\r', '\n']).len();
        text.as_bytes()[..start + skipped]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    };
    for rec in reader.records() {
        let (line, rec) = match rec {
            Ok(r) => (r.position().map_or(0, |p| line_at(p.byte())), r),
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                errors.push(LineError {
                    line,
                    error: e.to_string(),
                });
                continue;
            }
        };
        let field = |name: &str| {
            col(name)
                .and_then(|c| rec.get(c))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let disabled = field("disabled").unwrap_or_default();
        let disabled = match disabled.to_ascii_lowercase().as_str() {
            "" | "false" | "no" | "0" => false,
            "true" | "yes" | "1" => true,
            other => {
                errors.push(LineError {
                    line,
                    error: format!("disabled must be true or false, not {other:?}"),
                });
                continue;
            }
        };
        out.push((
            line,
            UserRecord {
                address: field("address").unwrap_or_default(),
                display_name: field("display_name").unwrap_or_default(),
                email: field("email"),
                disabled,
                password: field("password"),
                ha1_md5: field("ha1_md5"),
                ha1_sha256: field("ha1_sha256"),
            },
        ));
    }
    (out, errors)
}

fn jsonl_records(text: &str) -> (Vec<(usize, UserRecord)>, Vec<LineError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<UserRecord>(l) {
            Ok(r) => out.push((i + 1, r)),
            Err(e) => errors.push(LineError {
                line: i + 1,
                error: format!("not a user record: {e}"),
            }),
        }
    }
    (out, errors)
}

/// The user a record describes, checked (address in `domain`, secrets, e-mail).
pub fn user_of(r: &UserRecord, domain: &str) -> Result<User, String> {
    let aor = address(&r.address, domain)?;
    let credentials = secrets(&aor, domain, r)?;
    if let Some(e) = &r.email {
        check_email(e).map_err(|m| format!("{aor}: {m}"))?;
    }
    Ok(User {
        aor,
        display_name: r.display_name.clone(),
        email: r.email.clone(),
        disabled: r.disabled,
        credentials,
    })
}

/// A password, or HA1 values (also accepted in the password column as `md5:HEX` or
/// `sha256:HEX`).
fn secrets(aor: &Aor, realm: &str, r: &UserRecord) -> Result<Credentials, String> {
    let hex = |h: &str, len: usize| h.len() == len && h.bytes().all(|b| b.is_ascii_hexdigit());
    let mut md5 = r.ha1_md5.clone();
    let mut sha = r.ha1_sha256.clone();
    match r.password.as_deref() {
        Some(p) if p.starts_with("md5:") => md5 = Some(p[4..].to_owned()),
        Some(p) if p.starts_with("sha256:") => sha = Some(p[7..].to_owned()),
        Some(p) => return Ok(credentials(aor, realm, p)),
        None => {}
    }
    if md5.is_none() && sha.is_none() {
        return Err(format!(
            "{aor}: no password (password, or ha1_md5/ha1_sha256)"
        ));
    }
    if md5.as_deref().is_some_and(|h| !hex(h, 32)) {
        return Err(format!("{aor}: an MD5 HA1 must be 32 hexadecimal digits"));
    }
    if sha.as_deref().is_some_and(|h| !hex(h, 64)) {
        return Err(format!(
            "{aor}: a SHA-256 HA1 must be 64 hexadecimal digits"
        ));
    }
    Ok(Credentials {
        ha1_md5: md5.map(|h| h.to_ascii_lowercase()),
        ha1_sha256: sha.map(|h| h.to_ascii_lowercase()),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ImportParams {
    /// `csv` (header row: address, display_name, email, password or ha1_md5/ha1_sha256,
    /// disabled) or `jsonl`.
    #[serde(default)]
    format: Format,
    /// Check and report every line without creating anyone.
    #[serde(default)]
    dry_run: bool,
}

/// The result of an import.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Users created (with a dry run: that would be created).
    pub created: usize,
    pub dry_run: bool,
    /// Lines not imported, by line number.
    pub errors: Vec<LineError>,
}

/// Import users in bulk: good lines are created, bad ones reported.
#[utoipa::path(post, path = "/api/v1/users/import", tag = "users",
    params(ImportParams), request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 401, body = crate::error::ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn import(
    State(s): State<ApiState>,
    Query(p): Query<ImportParams>,
    body: String,
) -> Result<Json<ImportReport>, ApiError> {
    let (users, mut errors) = parse(&body, p.format, &s.domain);
    let mut created = 0;
    for (line, u) in users {
        let taken = if p.dry_run {
            s.store.user(&u.aor).await?.is_some()
        } else {
            match s.store.create_user(&u).await {
                Ok(()) => false,
                Err(herald_homeserver::store::StoreError::UserExists(_)) => true,
                Err(e) => return Err(e.into()),
            }
        };
        if taken {
            errors.push(LineError {
                line,
                error: format!("user {} already exists", u.aor),
            });
        } else {
            created += 1;
        }
    }
    errors.sort_by_key(|e| e.line);
    tracing::info!(
        created,
        bad = errors.len(),
        dry_run = p.dry_run,
        "users imported"
    );
    Ok(Json(ImportReport {
        created,
        dry_run: p.dry_run,
        errors,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct ExportParams {
    #[serde(default)]
    format: Format,
}

/// Export every user (HA1 values, never passwords).
#[utoipa::path(get, path = "/api/v1/users/export", tag = "users", params(ExportParams),
    responses((status = 200, body = String, content_type = "text/csv"), (status = 401, body = crate::error::ErrorBody)),
    security(("token" = [])))]
pub(crate) async fn export(
    State(s): State<ApiState>,
    Query(p): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let users = s.store.users().await?;
    let ctype = match p.format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Jsonl => "application/jsonl",
    };
    Ok(([(header::CONTENT_TYPE, ctype)], write(&users, p.format)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_are_checked_one_by_one() {
        let csv = "address,display_name,password,email\n\
                   alice@example.com,Alice,secret,alice@mail.example\n\
                   bob@other.org,Bob,secret,\n\
                   carol,Carol,md5:1234,\n\
                   alice,Alice again,x,\n\
                   dave,Dave,,\n\
                   erin,Erin,sha256:,\n\
                   fay,Fay,pw,not-an-address\n\
                   gus,Gus,pw,\n";
        let (users, errors) = parse(csv, Format::Csv, "example.com");
        let names: Vec<_> = users.iter().map(|(_, u)| u.aor.to_string()).collect();
        assert_eq!(names, ["alice@example.com", "gus@example.com"]);
        let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8], "{errors:?}");
        assert!(errors[0].error.contains("other.org"));
        assert!(errors[3].error.contains("no password"));
    }

    #[test]
    fn line_numbers_hold_with_crlf_and_blank_lines() {
        let csv = "address,password\r\nalice,pw\r\n\r\nbob@other.org,pw\r\ncarol,\r\n";
        let (users, errors) = parse(csv, Format::Csv, "example.com");
        assert_eq!(users.len(), 1);
        let lines: Vec<_> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 5], "{errors:?}");
    }

    #[test]
    fn export_then_import_keeps_every_field() {
        let text = "{\"address\":\"alice\",\"display_name\":\"A\",\"email\":\"a@x.org\",\"password\":\"pw\",\"disabled\":true}\n\nnot json\n";
        let (users, errors) = parse(text, Format::Jsonl, "example.com");
        assert_eq!(
            errors,
            vec![LineError {
                line: 3,
                error: errors[0].error.clone()
            }]
        );
        let users: Vec<User> = users.into_iter().map(|(_, u)| u).collect();
        for f in [Format::Csv, Format::Jsonl] {
            let out = write(&users, f);
            let (back, errors) = parse(&out, f, "example.com");
            assert!(errors.is_empty(), "{f:?}: {errors:?}\n{out}");
            assert_eq!(back.into_iter().map(|(_, u)| u).collect::<Vec<_>>(), users);
        }
    }
}
