//! Configuration: an optional TOML file, then environment variables (`HERALD_*`), parsed
//! and checked once before any port is bound. Every error names the setting; the binary
//! exits 64 (EX_USAGE) on any of them. Environment access goes through [`Source`] so tests
//! pass a map.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
};

use herald_sip::auth::Algorithm;
use serde::Deserialize;

mod admin;
mod limits;
mod node;
mod presence;
mod store;

pub use admin::Admin;
pub use limits::Limits;
pub use node::Node;
pub use store::StoreKind;

/// A configuration error, naming the setting.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    pub setting: String,
    pub problem: String,
}

fn err(setting: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.to_owned(),
        problem: problem.into(),
    }
}

/// Where settings come from besides the file.
pub trait Source {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct Env;

impl Source for Env {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Source for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// The settings file: every key optional, same names as the variables without `HERALD_`,
/// in lower case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    domain: Option<String>,
    data_dir: Option<String>,
    udp: Option<String>,
    tcp: Option<String>,
    tls: Option<String>,
    ws: Option<String>,
    wss: Option<String>,
    advertise: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    ws_origins: Option<Vec<String>>,
    min_expires: Option<u32>,
    max_expires: Option<u32>,
    default_expires: Option<u32>,
    max_message_body: Option<usize>,
    max_connections: Option<usize>,
    max_connections_per_ip: Option<usize>,
    idle_timeout_secs: Option<u64>,
    handshake_timeout_secs: Option<u64>,
    message_timeout_secs: Option<u64>,
    rate_per_source: Option<u32>,
    burst_per_source: Option<u32>,
    auth_fail_window_secs: Option<u64>,
    auth_fail_max_per_source: Option<usize>,
    auth_fail_max_per_user: Option<usize>,
    auth_ban_secs: Option<u64>,
    http: Option<String>,
    xcap: Option<String>,
    presence_policy: Option<String>,
    notify_min_interval_ms: Option<u64>,
    presence_min_expires: Option<u32>,
    presence_max_expires: Option<u32>,
    max_subscriptions_per_user: Option<u32>,
    nonce_secret: Option<String>,
    server_header: Option<bool>,
    auth_algorithms: Option<String>,
    auth_check_uri: Option<bool>,
    worker_threads: Option<usize>,
    api: Option<String>,
    api_tls_cert: Option<String>,
    api_tls_key: Option<String>,
    notify_from: Option<String>,
    notify_name: Option<String>,
    notify_when_busy: Option<String>,
    smtp: Option<String>,
    smtp_tls: Option<String>,
    smtp_user: Option<String>,
    smtp_password: Option<String>,
    smtp_from: Option<String>,
    archive_retention_days: Option<u32>,
    archive_mode: Option<String>,
    node_id: Option<String>,
    grpc: Option<String>,
    grpc_advertise: Option<String>,
    store: Option<String>,
    postgres_url: Option<String>,
    redis_url: Option<String>,
    redis_prefix: Option<String>,
}

/// Checked settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub domain: String,
    pub data_dir: PathBuf,
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    pub tls: Option<SocketAddr>,
    pub ws: Option<SocketAddr>,
    pub wss: Option<SocketAddr>,
    /// Host put in Via and Record-Route; detected when absent.
    pub advertise: Option<String>,
    pub tls_cert: Option<(PathBuf, PathBuf)>,
    pub ws_origins: Vec<String>,
    pub min_expires: u32,
    pub max_expires: u32,
    pub default_expires: u32,
    pub max_message_body: usize,
    /// Connection, rate and authentication limits.
    pub limits: Limits,
    /// The HTTP listener for /metrics, /healthz and /readyz.
    pub http: Option<SocketAddr>,
    pub presence: herald_homeserver::config::PresenceConfig,
    /// The XCAP listener (buddy lists and presence rules over HTTP with digest).
    pub xcap: Option<SocketAddr>,
    pub nonce_secret: Option<[u8; 32]>,
    pub server_header: bool,
    /// Digest algorithms offered, preferred first. MD5 alone by default: clients built
    /// on libre 1.x (baresip 1.0, Debian 12) refuse any challenge set that includes
    /// SHA-256, and SIPp 3.6 reads only the first challenge. `SHA-256,MD5` offers both
    /// (RFC 8760) for fleets whose clients cope.
    pub auth_algorithms: Vec<Algorithm>,
    /// Refuse credentials whose digest-uri is not the Request-URI.
    pub auth_check_uri: bool,
    /// Runtime worker threads; `None`: one per core.
    pub worker_threads: Option<usize>,
    /// The admin API, notifications and archive retention.
    pub admin: Admin,
    /// Where the data lives.
    pub store: StoreKind,
    /// This node of a pool (the `frontend` and `homeserver` commands).
    pub node: Node,
}

impl Config {
    /// Reads the file named by `file` (or `HERALD_CONFIG`), then the environment.
    pub fn load(file: Option<&Path>, src: &dyn Source) -> Result<Config, ConfigError> {
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| src.var("HERALD_CONFIG").map(PathBuf::from));
        let f = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    err("HERALD_CONFIG", format!("cannot read {}: {e}", p.display()))
                })?;
                toml::from_str::<File>(&text).map_err(|e| {
                    err("HERALD_CONFIG", format!("{}: {}", p.display(), e.message()))
                })?
            }
            None => File::default(),
        };
        let s = Settings { src, file: &f };
        let domain = s
            .string("domain", f.domain.clone())
            .unwrap_or_else(|| "localhost".into());
        if domain.is_empty()
            || !domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Err(err(
                "HERALD_DOMAIN (domain)",
                format!("not a domain name: {domain:?}"),
            ));
        }
        let tls_cert = match (
            s.string("tls_cert", f.tls_cert.clone()),
            s.string("tls_key", f.tls_key.clone()),
        ) {
            (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
            (None, None) => None,
            (Some(_), None) => {
                return Err(err(
                    "HERALD_TLS_KEY (tls_key)",
                    "tls_cert is set but tls_key is not",
                ))
            }
            (None, Some(_)) => {
                return Err(err(
                    "HERALD_TLS_CERT (tls_cert)",
                    "tls_key is set but tls_cert is not",
                ))
            }
        };
        let cfg = Config {
            domain: domain.to_ascii_lowercase(),
            data_dir: PathBuf::from(
                s.string("data_dir", f.data_dir.clone())
                    .unwrap_or_else(|| "herald-data".into()),
            ),
            udp: s.addr("udp", f.udp.clone(), "0.0.0.0:5060")?,
            tcp: s.addr("tcp", f.tcp.clone(), "0.0.0.0:5060")?,
            tls: s.addr("tls", f.tls.clone(), "0.0.0.0:5061")?,
            ws: s.addr("ws", f.ws.clone(), "0.0.0.0:5066")?,
            wss: s.addr("wss", f.wss.clone(), "0.0.0.0:7443")?,
            advertise: s.string("advertise", f.advertise.clone()),
            tls_cert,
            ws_origins: match s.src.var("HERALD_WS_ORIGINS") {
                Some(v) => v
                    .split(',')
                    .map(|o| o.trim().to_owned())
                    .filter(|o| !o.is_empty())
                    .collect(),
                None => f.ws_origins.clone().unwrap_or_default(),
            },
            min_expires: s.num("min_expires", f.min_expires, 60)?,
            max_expires: s.num("max_expires", f.max_expires, 86_400)?,
            default_expires: s.num("default_expires", f.default_expires, 3600)?,
            max_message_body: s.num("max_message_body", f.max_message_body, 64 * 1024)?,
            limits: Limits::load(&s, &f)?,
            http: s.addr("http", f.http.clone(), "127.0.0.1:8080")?,
            presence: presence::load(&s, &f)?,
            xcap: s.addr("xcap", f.xcap.clone(), "0.0.0.0:8090")?,
            nonce_secret: match s.string("nonce_secret", f.nonce_secret.clone()) {
                None => None,
                Some(hex) => Some(parse_secret(&hex).ok_or_else(|| {
                    err(
                        "HERALD_NONCE_SECRET (nonce_secret)",
                        "must be 64 hexadecimal digits",
                    )
                })?),
            },
            server_header: s.boolean("server_header", f.server_header)?,
            auth_algorithms: parse_algorithms(
                &s.string("auth_algorithms", f.auth_algorithms.clone())
                    .unwrap_or_else(|| "MD5".into()),
            )?,
            auth_check_uri: s.boolean("auth_check_uri", f.auth_check_uri)?,
            worker_threads: match s.num("worker_threads", f.worker_threads, 0)? {
                0 => None,
                n => Some(n),
            },
            admin: admin::load(&s, &f, &domain.to_ascii_lowercase())?,
            store: store::load(&s, &f)?,
            node: node::load(&s, &f)?,
        };
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.min_expires == 0 || self.min_expires > self.max_expires {
            return Err(err(
                "HERALD_MIN_EXPIRES (min_expires)",
                format!("must be between 1 and max_expires ({})", self.max_expires),
            ));
        }
        if self.default_expires < self.min_expires || self.default_expires > self.max_expires {
            return Err(err(
                "HERALD_DEFAULT_EXPIRES (default_expires)",
                format!(
                    "must be between min_expires ({}) and max_expires ({})",
                    self.min_expires, self.max_expires
                ),
            ));
        }
        if [self.udp, self.tcp, self.tls, self.ws, self.wss]
            .iter()
            .all(Option::is_none)
        {
            return Err(err(
                "HERALD_UDP (udp)",
                "every listener is off; nothing to serve",
            ));
        }
        if let Some((cert, key)) = &self.tls_cert {
            for (setting, path) in [
                ("HERALD_TLS_CERT (tls_cert)", cert),
                ("HERALD_TLS_KEY (tls_key)", key),
            ] {
                if let Err(e) = std::fs::File::open(path) {
                    return Err(err(setting, format!("cannot read {}: {e}", path.display())));
                }
            }
        }
        if let Some(a) = &self.advertise {
            if a.parse::<IpAddr>().is_err()
                && !a
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            {
                return Err(err(
                    "HERALD_ADVERTISE (advertise)",
                    format!("not a host name or IP address: {a:?}"),
                ));
            }
        }
        Ok(())
    }

    /// The database file.
    pub fn database(&self) -> PathBuf {
        self.data_dir.join("herald.db")
    }
}

struct Settings<'a> {
    src: &'a dyn Source,
    #[allow(dead_code)]
    file: &'a File,
}

impl Settings<'_> {
    fn env_name(key: &str) -> String {
        format!("HERALD_{}", key.to_ascii_uppercase())
    }

    fn label(key: &str) -> String {
        format!("{} ({key})", Self::env_name(key))
    }

    fn string(&self, key: &str, file: Option<String>) -> Option<String> {
        self.src
            .var(&Self::env_name(key))
            .or(file)
            .map(|s| s.trim().to_owned())
    }

    /// A listen address; `off` (or empty) disables the listener.
    fn addr(
        &self,
        key: &str,
        file: Option<String>,
        default: &str,
    ) -> Result<Option<SocketAddr>, ConfigError> {
        let v = self.string(key, file).unwrap_or_else(|| default.to_owned());
        if v.is_empty() || v.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        v.parse().map(Some).map_err(|_| {
            err(
                &Self::label(key),
                format!("not a socket address (like 0.0.0.0:5060) or \"off\": {v:?}"),
            )
        })
    }

    fn num<T: std::str::FromStr>(
        &self,
        key: &str,
        file: Option<T>,
        default: T,
    ) -> Result<T, ConfigError> {
        match self.src.var(&Self::env_name(key)) {
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| err(&Self::label(key), format!("not a valid number: {v:?}"))),
            None => Ok(file.unwrap_or(default)),
        }
    }

    fn boolean(&self, key: &str, file: Option<bool>) -> Result<bool, ConfigError> {
        match self.src.var(&Self::env_name(key)).as_deref().map(str::trim) {
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(v) => Err(err(&Self::label(key), format!("not true or false: {v:?}"))),
            None => Ok(file.unwrap_or(false)),
        }
    }
}

fn parse_algorithms(list: &str) -> Result<Vec<Algorithm>, ConfigError> {
    let label = "HERALD_AUTH_ALGORITHMS (auth_algorithms)";
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let alg = match name.to_ascii_uppercase().as_str() {
            "MD5" => Algorithm::Md5,
            "SHA-256" | "SHA256" => Algorithm::Sha256,
            _ => {
                return Err(err(
                    label,
                    format!("unknown algorithm {name:?} (MD5, SHA-256)"),
                ))
            }
        };
        if !out.contains(&alg) {
            out.push(alg);
        }
    }
    if out.is_empty() {
        return Err(err(label, "at least one of MD5, SHA-256"));
    }
    Ok(out)
}

fn parse_secret(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests;
