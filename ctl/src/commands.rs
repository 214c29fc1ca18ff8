//! The commands, each one API call (or a few), and how its answer is shown.

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use serde_json::{json, Value};

use crate::{
    client::{encode, query, Body, Client, Failure, EXIT_DATA},
    show,
};

#[derive(Subcommand)]
pub enum Command {
    /// Users: list, show, add, edit, disable, enable, remove, import, export.
    #[command(subcommand)]
    User(User),
    /// A user's buddy list (resource-lists XML).
    #[command(subcommand)]
    Buddies(Doc),
    /// A user's presence rules (pres-rules XML).
    #[command(subcommand)]
    Rules(Doc),
    /// Notification groups (resource-lists XML, one list per group).
    #[command(subcommand)]
    Groups(Groups),
    /// A user's registered devices.
    Registrations { address: String },
    /// A user's presence as watchers see it.
    Presence { address: String },
    /// The front ends' client connections.
    Flows,
    /// The message archive.
    #[command(subcommand)]
    Archive(Archive),
    /// Send a notification: SIP to signed-in users, e-mail to the others.
    Notify {
        /// The message.
        text: String,
        /// A recipient (repeat for more).
        #[arg(long = "to")]
        to: Vec<String>,
        /// A notification group (repeat for more).
        #[arg(long)]
        group: Vec<String>,
        #[arg(long, default_value = "")]
        subject: String,
        #[arg(long, value_enum, default_value_t = Urgency::Normal)]
        urgency: Urgency,
    },
    /// Write a backup of the whole deployment to FILE.
    Backup { file: PathBuf },
    /// Restore a backup into an empty deployment.
    Restore { file: PathBuf },
}

#[derive(Subcommand)]
pub enum User {
    List {
        /// Only users whose address, name or e-mail contains this.
        #[arg(long)]
        filter: Option<String>,
        /// Only disabled users.
        #[arg(long)]
        disabled: bool,
    },
    Show {
        address: String,
    },
    /// Add a user; without --password the server makes one and it is printed.
    Add {
        address: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        password: Option<String>,
    },
    /// Change a user's name, e-mail (empty to remove) or password.
    Edit {
        address: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        password: Option<String>,
    },
    Disable {
        address: String,
    },
    Enable {
        address: String,
    },
    /// Remove a user with their registrations and stored messages (the archive stays).
    Remove {
        address: String,
    },
    /// Create users from a CSV or JSON Lines file; bad lines are reported by number.
    Import {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
        /// Check every line and report, creating no one.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write every user (digest hashes, never passwords) to standard output.
    Export {
        #[arg(long, value_enum, default_value_t = Format::Csv)]
        format: Format,
    },
}

#[derive(Subcommand)]
pub enum Doc {
    Get {
        address: String,
    },
    /// Replace the document with FILE.
    Set {
        address: String,
        file: PathBuf,
    },
    Delete {
        address: String,
    },
}

#[derive(Subcommand)]
pub enum Groups {
    Get,
    Set { file: PathBuf },
}

#[derive(Subcommand)]
pub enum Archive {
    /// Find messages (oldest first).
    Search {
        #[command(flatten)]
        filter: ArchiveFilter,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Write every matching message to standard output.
    Export {
        #[command(flatten)]
        filter: ArchiveFilter,
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
    },
    /// Delete messages older than N days.
    Purge {
        #[arg(long)]
        older_than_days: u32,
    },
}

#[derive(clap::Args)]
pub struct ArchiveFilter {
    /// Messages this user sent or received.
    #[arg(long)]
    user: Option<String>,
    /// Messages exchanged with this peer.
    #[arg(long)]
    peer: Option<String>,
    /// From: milliseconds since the epoch, or an age like 30m, 2h, 7d.
    #[arg(long)]
    since: Option<String>,
    /// Until (same forms).
    #[arg(long)]
    until: Option<String>,
    /// Text the message contains.
    #[arg(long)]
    text: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Urgency {
    Low,
    Normal,
    High,
}

fn fmt_name(f: Format) -> &'static str {
    match f {
        Format::Csv => "csv",
        Format::Jsonl => "jsonl",
    }
}

/// Runs `cmd`; the exit code (non-zero when the server reported failures per item).
pub fn run(c: &Client, cmd: Command, json: bool) -> Result<u8, Failure> {
    match cmd {
        Command::User(u) => user(c, u, json),
        Command::Buddies(d) => doc(c, "buddies", d),
        Command::Rules(d) => doc(c, "rules", d),
        Command::Groups(Groups::Get) => print_body(c.call("GET", "/api/v1/groups", None)?.body),
        Command::Groups(Groups::Set { file }) => {
            let xml = read(&file)?;
            c.call(
                "PUT",
                "/api/v1/groups",
                Some(Body::Text("application/resource-lists+xml", xml)),
            )?;
            println!("notification groups replaced");
            Ok(0)
        }
        Command::Registrations { address } => {
            let v = c
                .call(
                    "GET",
                    &format!("/api/v1/users/{}/registrations", encode(&address)),
                    None,
                )?
                .json()?;
            show::table(
                as_rows(&v),
                &["contact", "transport", "remote", "expires_in", "user_agent"],
                json,
            );
            Ok(0)
        }
        Command::Presence { address } => {
            let mut v = c
                .call(
                    "GET",
                    &format!("/api/v1/users/{}/presence", encode(&address)),
                    None,
                )?
                .json()?;
            if !json {
                if let Some(m) = v.as_object_mut() {
                    m.remove("pidf");
                }
            }
            show::record(&v, json);
            Ok(0)
        }
        Command::Flows => {
            let v = c.call("GET", "/api/v1/flows", None)?.json()?;
            show::table(
                as_rows(&v),
                &["frontend", "id", "transport", "remote", "since"],
                json,
            );
            Ok(0)
        }
        Command::Archive(a) => archive(c, a, json),
        Command::Notify {
            text,
            to,
            group,
            subject,
            urgency,
        } => {
            let urgency = match urgency {
                Urgency::Low => "low",
                Urgency::Normal => "normal",
                Urgency::High => "high",
            };
            let body = json!({"recipients": to, "groups": group, "subject": subject, "text": text, "urgency": urgency});
            let v = c
                .call("POST", "/api/v1/notify", Some(Body::Json(body)))?
                .json()?;
            let rows = v.get("results").map_or(&[][..], |r| as_rows(r));
            show::table(rows, &["recipient", "channel", "outcome", "detail"], json);
            let failed = rows.iter().any(|r| {
                !matches!(
                    r.get("outcome").and_then(Value::as_str),
                    Some("delivered" | "sent")
                )
            });
            Ok(if failed { EXIT_DATA } else { 0 })
        }
        Command::Backup { file } => {
            let body = c.call("GET", "/api/v1/backup", None)?.body;
            std::fs::write(&file, &body)
                .map_err(|e| Failure::new(1, format!("cannot write {}: {e}", file.display())))?;
            println!(
                "backup written to {} ({} lines)",
                file.display(),
                body.lines().count()
            );
            Ok(0)
        }
        Command::Restore { file } => {
            let body = read(&file)?;
            let v = c
                .call(
                    "POST",
                    "/api/v1/restore",
                    Some(Body::Text("application/jsonl", body)),
                )?
                .json()?;
            show::record(&v, json);
            Ok(0)
        }
    }
}

fn user(c: &Client, u: User, json: bool) -> Result<u8, Failure> {
    let path = |a: &str| format!("/api/v1/users/{}", encode(a));
    let columns = ["address", "display_name", "email", "disabled"];
    match u {
        User::List { filter, disabled } => {
            let mut all = Vec::new();
            let mut after = None;
            loop {
                let q = query(&[
                    ("limit", Some("1000".into())),
                    ("after", after.clone()),
                    ("q", filter.clone()),
                    ("disabled", disabled.then(|| "true".into())),
                ]);
                let v = c.call("GET", &format!("/api/v1/users{q}"), None)?.json()?;
                all.extend(
                    v.get("users")
                        .map_or(&[][..], |u| as_rows(u))
                        .iter()
                        .cloned(),
                );
                after = v.get("next").and_then(Value::as_str).map(str::to_owned);
                if after.is_none() {
                    break;
                }
            }
            show::table(&all, &columns, json);
        }
        User::Show { address } => {
            show::record(&c.call("GET", &path(&address), None)?.json()?, json)
        }
        User::Add {
            address,
            name,
            email,
            password,
        } => {
            let body = json!({"address": address, "display_name": name.unwrap_or_default(), "email": email, "password": password});
            let v = c
                .call("POST", "/api/v1/users", Some(Body::Json(body)))?
                .json()?;
            if json {
                show::record(&v, true);
            } else {
                let a = v
                    .pointer("/user/address")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                println!("added {a}");
                if let Some(p) = v.get("password").and_then(Value::as_str) {
                    println!("password: {p}");
                }
            }
        }
        User::Edit {
            address,
            name,
            email,
            password,
        } => {
            let body = json!({"display_name": name, "email": email, "password": password});
            show::record(
                &c.call("PATCH", &path(&address), Some(Body::Json(body)))?
                    .json()?,
                json,
            );
        }
        User::Disable { address } => set_disabled(c, &address, true)?,
        User::Enable { address } => set_disabled(c, &address, false)?,
        User::Remove { address } => {
            c.call("DELETE", &path(&address), None)?;
            println!("removed {address}");
        }
        User::Import {
            file,
            format,
            dry_run,
        } => {
            let text = read(&file)?;
            let q = query(&[
                ("format", Some(fmt_name(format).into())),
                ("dry_run", Some(dry_run.to_string())),
            ]);
            let ctype = match format {
                Format::Csv => "text/csv",
                Format::Jsonl => "application/jsonl",
            };
            let v = c
                .call(
                    "POST",
                    &format!("/api/v1/users/import{q}"),
                    Some(Body::Text(ctype, text)),
                )?
                .json()?;
            let errors = v.get("errors").map_or(&[][..], |e| as_rows(e));
            if json {
                show::record(&v, true);
            } else {
                let n = v.get("created").and_then(Value::as_u64).unwrap_or(0);
                let verb = if dry_run {
                    "would be created"
                } else {
                    "created"
                };
                println!(
                    "{}: {n} user(s) {verb}, {} bad line(s)",
                    file.display(),
                    errors.len()
                );
                for e in errors {
                    let line = e.get("line").and_then(Value::as_u64).unwrap_or(0);
                    let msg = e.get("error").and_then(Value::as_str).unwrap_or("");
                    eprintln!("{}: line {line}: {msg}", file.display());
                }
            }
            return Ok(if errors.is_empty() { 0 } else { EXIT_DATA });
        }
        User::Export { format } => {
            let q = query(&[("format", Some(fmt_name(format).into()))]);
            return print_body(
                c.call("GET", &format!("/api/v1/users/export{q}"), None)?
                    .body,
            );
        }
    }
    Ok(0)
}

fn set_disabled(c: &Client, address: &str, disabled: bool) -> Result<(), Failure> {
    let body = Body::Json(json!({ "disabled": disabled }));
    c.call(
        "PATCH",
        &format!("/api/v1/users/{}", encode(address)),
        Some(body),
    )?;
    println!(
        "{} {address}",
        if disabled { "disabled" } else { "enabled" }
    );
    Ok(())
}

fn doc(c: &Client, kind: &str, d: Doc) -> Result<u8, Failure> {
    let path = |a: &str| format!("/api/v1/users/{}/{kind}", encode(a));
    match d {
        Doc::Get { address } => print_body(c.call("GET", &path(&address), None)?.body),
        Doc::Set { address, file } => {
            let ctype = if kind == "buddies" {
                "application/resource-lists+xml"
            } else {
                "application/auth-policy+xml"
            };
            c.call(
                "PUT",
                &path(&address),
                Some(Body::Text(ctype, read(&file)?)),
            )?;
            println!("{kind} of {address} replaced");
            Ok(0)
        }
        Doc::Delete { address } => {
            c.call("DELETE", &path(&address), None)?;
            println!("{kind} of {address} deleted");
            Ok(0)
        }
    }
}

fn archive(c: &Client, a: Archive, json: bool) -> Result<u8, Failure> {
    let filter = |f: &ArchiveFilter| -> Result<Vec<(&'static str, Option<String>)>, Failure> {
        Ok(vec![
            ("user", f.user.clone()),
            ("peer", f.peer.clone()),
            ("since", f.since.as_deref().map(when).transpose()?),
            ("until", f.until.as_deref().map(when).transpose()?),
            ("text", f.text.clone()),
        ])
    };
    match a {
        Archive::Search { filter: f, limit } => {
            let mut pairs = filter(&f)?;
            pairs.push(("limit", Some(limit.to_string())));
            let v = c
                .call("GET", &format!("/api/v1/archive{}", query(&pairs)), None)?
                .json()?;
            let rows = v.get("records").map_or(&[][..], |r| as_rows(r));
            show::table(
                rows,
                &["id", "at_ms", "sender", "recipients", "outcome", "text"],
                json,
            );
            Ok(0)
        }
        Archive::Export { filter: f, format } => {
            let mut pairs = filter(&f)?;
            pairs.push(("format", Some(fmt_name(format).into())));
            print_body(
                c.call("GET", &format!("/api/v1/archive{}", query(&pairs)), None)?
                    .body,
            )
        }
        Archive::Purge { older_than_days } => {
            let body = json!({"older_than_days": older_than_days});
            let v = c
                .call("POST", "/api/v1/archive/purge", Some(Body::Json(body)))?
                .json()?;
            show::record(&v, json);
            Ok(0)
        }
    }
}

/// Milliseconds since the epoch, from a number of them or an age (`30m`, `2h`, `7d`).
fn when(s: &str) -> Result<String, Failure> {
    if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
        return Ok(s.to_owned());
    }
    let unit = match s.chars().last() {
        Some('s') => 1,
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => 0,
    };
    let n: Option<u64> = s
        .get(..s.len().saturating_sub(1))
        .and_then(|n| n.parse().ok());
    match n.and_then(|n| n.checked_mul(unit * 1000)) {
        Some(age) if unit > 0 => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            Ok(now.saturating_sub(age).to_string())
        }
        _ => Err(Failure::new(
            EXIT_DATA,
            format!("time {s:?}: expected milliseconds since the epoch or an age like 30m, 2h, 7d"),
        )),
    }
}

fn as_rows(v: &Value) -> &[Value] {
    v.as_array().map_or(&[][..], Vec::as_slice)
}

fn read(file: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(file)
        .map_err(|e| Failure::new(EXIT_DATA, format!("cannot read {}: {e}", file.display())))
}

fn print_body(body: String) -> Result<u8, Failure> {
    print!("{body}");
    if !body.ends_with('\n') {
        println!();
    }
    Ok(0)
}
