//! Admin API settings: where it listens (with TLS when a certificate is set), the
//! notification service (identity, busy policy, SMTP relay) and archive retention.

use std::{net::SocketAddr, path::PathBuf};

use herald_api::{
    mail::{MailConfig, MailTls},
    notify::WhenBusy,
};
use herald_homeserver::config::ArchiveMode;

use super::{err, ConfigError, File, Settings};

/// Checked admin settings.
#[derive(Debug, Clone)]
pub struct Admin {
    /// A listener of its own for the API; `None`: the API is served on `HERALD_HTTP`.
    pub api: Option<SocketAddr>,
    /// Certificate and key (PEM) for the API's listener.
    pub api_tls: Option<(PathBuf, PathBuf)>,
    /// The notification sender, `user@domain` (default `herald@<domain>`).
    pub notify_from: String,
    pub notify_name: String,
    pub when_busy: WhenBusy,
    pub smtp: Option<MailConfig>,
    /// Archive records older than this are deleted daily; `None`: kept forever.
    pub archive_retention_days: Option<u32>,
    /// `HERALD_ARCHIVE_MODE`: `best-effort`, `compliance` (no MESSAGE delivered before it
    /// is archived) or `off` (nothing archived).
    pub archive: ArchiveMode,
}

pub(super) fn load(s: &Settings<'_>, f: &File, domain: &str) -> Result<Admin, ConfigError> {
    let api_tls = match (
        s.string("api_tls_cert", f.api_tls_cert.clone()),
        s.string("api_tls_key", f.api_tls_key.clone()),
    ) {
        (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
        (None, None) => None,
        (Some(_), None) => {
            return Err(err(
                &Settings::label("api_tls_key"),
                "api_tls_cert is set but api_tls_key is not",
            ))
        }
        (None, Some(_)) => {
            return Err(err(
                &Settings::label("api_tls_cert"),
                "api_tls_key is set but api_tls_cert is not",
            ))
        }
    };
    if let Some((cert, key)) = &api_tls {
        for (k, p) in [("api_tls_cert", cert), ("api_tls_key", key)] {
            if let Err(e) = std::fs::File::open(p) {
                return Err(err(
                    &Settings::label(k),
                    format!("cannot read {}: {e}", p.display()),
                ));
            }
        }
    }
    let notify_from = s
        .string("notify_from", f.notify_from.clone())
        .unwrap_or_else(|| format!("herald@{domain}"));
    let notify_from = herald_api::import::address(&notify_from, domain)
        .map_err(|e| err(&Settings::label("notify_from"), e))?
        .to_string();
    let when_busy = match s
        .string("notify_when_busy", f.notify_when_busy.clone())
        .as_deref()
    {
        None | Some("email") => WhenBusy::Email,
        Some("sip") => WhenBusy::Sip,
        Some(other) => {
            return Err(err(
                &Settings::label("notify_when_busy"),
                format!("{other:?} is not email or sip"),
            ))
        }
    };
    let retention = s.num("archive_retention_days", f.archive_retention_days, 0u32)?;
    let archive = match s.string("archive_mode", f.archive_mode.clone()).as_deref() {
        None | Some("best-effort") => ArchiveMode::BestEffort,
        Some("compliance") => ArchiveMode::Compliance,
        Some("off") => ArchiveMode::Off,
        Some(other) => {
            return Err(err(
                &Settings::label("archive_mode"),
                format!("{other:?} is not best-effort, compliance or off"),
            ))
        }
    };
    let notify_name = s
        .string("notify_name", f.notify_name.clone())
        .unwrap_or_else(|| "Herald".into());
    if notify_name.chars().any(char::is_control) {
        return Err(err(
            &Settings::label("notify_name"),
            "control characters are not allowed",
        ));
    }
    Ok(Admin {
        api: s.addr("api", f.api.clone(), "off")?,
        api_tls,
        notify_from,
        notify_name,
        when_busy,
        smtp: smtp(s, f, domain)?,
        archive_retention_days: (retention > 0).then_some(retention),
        archive,
    })
}

/// `HERALD_SMTP=host:port` turns the e-mail fallback on.
fn smtp(s: &Settings<'_>, f: &File, domain: &str) -> Result<Option<MailConfig>, ConfigError> {
    let Some(relay) = s
        .string("smtp", f.smtp.clone())
        .filter(|r| !r.is_empty() && r != "off")
    else {
        return Ok(None);
    };
    let label = Settings::label("smtp");
    let (host, port) = relay
        .rsplit_once(':')
        .and_then(|(h, p)| {
            Some((
                h.trim_matches(['[', ']']).to_owned(),
                p.parse::<u16>().ok()?,
            ))
        })
        .ok_or_else(|| err(&label, format!("not host:port: {relay:?}")))?;
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let tls = match s.string("smtp_tls", f.smtp_tls.clone()) {
        None if loopback => MailTls::None,
        None => MailTls::StartTls,
        Some(t) => MailTls::parse(&t).ok_or_else(|| {
            err(
                &Settings::label("smtp_tls"),
                format!("{t:?} is not none, starttls or tls"),
            )
        })?,
    };
    let from = s
        .string("smtp_from", f.smtp_from.clone())
        .unwrap_or_else(|| format!("Herald <herald@{domain}>"));
    let cfg = MailConfig {
        host,
        port,
        tls,
        user: s.string("smtp_user", f.smtp_user.clone()),
        password: s.string("smtp_password", f.smtp_password.clone()),
        from,
    };
    // Checked now, so that a bad sender address stops the start, not the first mail.
    herald_api::mail::Mailer::new(&cfg)
        .map_err(|e| err(&Settings::label("smtp_from"), e.to_string()))?;
    Ok(Some(cfg))
}
