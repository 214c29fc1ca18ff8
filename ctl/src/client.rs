//! The API client: base URL and token (flags, then environment, then the config file),
//! requests, and errors that name what went wrong — and the exit code for each.

use std::{path::PathBuf, sync::Arc};

use serde::Deserialize;
use serde_json::Value;
use ureq::{
    tls::{Certificate, RootCerts, TlsConfig},
    Agent,
};

/// Exit codes (sysexits): bad input or a refused request, server unreachable, no access.
pub const EXIT_DATA: u8 = 65;
pub const EXIT_UNAVAILABLE: u8 = 69;
pub const EXIT_NOPERM: u8 = 77;
pub const EXIT_CONFIG: u8 = 78;

/// An error with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

/// The config file (`--config`, `HERALDCTL_CONFIG`, or `~/.config/heraldctl.toml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    server: Option<String>,
    token: Option<String>,
    ca: Option<PathBuf>,
}

pub struct Client {
    agent: Agent,
    base: String,
    token: String,
}

/// A successful response's body.
pub struct Reply {
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Result<Value, Failure> {
        serde_json::from_str(&self.body).map_err(|e| {
            Failure::new(
                1,
                format!("the server sent something that is not JSON ({e})"),
            )
        })
    }
}

impl Client {
    pub fn new(
        server: Option<String>,
        token: Option<String>,
        ca: Option<PathBuf>,
        config: Option<PathBuf>,
    ) -> Result<Client, Failure> {
        let file = read_file(config)?;
        let base = server
            .or(file.server)
            .unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let base = base.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(Failure::new(
                EXIT_CONFIG,
                format!("server {base:?}: expected http://HOST:PORT or https://HOST:PORT"),
            ));
        }
        let token = token.or(file.token).ok_or_else(|| {
            Failure::new(EXIT_CONFIG, "no API token: pass --token, set HERALDCTL_TOKEN, or put token = \"…\" in the config file (create one on the server with `herald token create NAME`)")
        })?;
        let mut cfg = Agent::config_builder()
            .http_status_as_error(false)
            // A notification may wait for a SIP transaction (32 s) and an SMTP relay.
            .timeout_global(Some(std::time::Duration::from_secs(300)));
        if let Some(ca) = ca.or(file.ca) {
            let pem = std::fs::read(&ca).map_err(|e| {
                Failure::new(
                    EXIT_CONFIG,
                    format!("cannot read CA file {}: {e}", ca.display()),
                )
            })?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| Failure::new(EXIT_CONFIG, format!("CA file {}: {e}", ca.display())))?
                .to_owned();
            cfg = cfg.tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::Specific(Arc::new(vec![cert])))
                    .build(),
            );
        }
        Ok(Client {
            agent: cfg.build().into(),
            base,
            token,
        })
    }

    /// Sends a request; any answer other than 2xx becomes a [`Failure`] naming the
    /// server's reason.
    pub fn call(&self, method: &str, path: &str, body: Option<Body>) -> Result<Reply, Failure> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let result = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("Authorization", &auth)
                .call(),
            (m, body) => {
                let req = match m {
                    "POST" => self.agent.post(&url),
                    "PUT" => self.agent.put(&url),
                    _ => self.agent.patch(&url),
                }
                .header("Authorization", &auth);
                match body {
                    Some(Body::Json(v)) => req.send_json(v),
                    Some(Body::Text(ctype, t)) => req.header("Content-Type", ctype).send(t),
                    None => req.send_empty(),
                }
            }
        };
        let mut resp = result.map_err(|e| self.unreachable(e))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_string()
            .map_err(|e| {
                Failure::new(
                    1,
                    format!("{method} {path}: reading the answer failed: {e}"),
                )
            })?;
        if (200..300).contains(&status) {
            return Ok(Reply { body });
        }
        let reason = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or(body);
        let code = match status {
            401 | 403 => EXIT_NOPERM,
            400 | 404 | 409 | 422 => EXIT_DATA,
            _ => 1,
        };
        Err(Failure::new(
            code,
            format!("{method} {path}: {status}: {reason}"),
        ))
    }

    fn unreachable(&self, e: ureq::Error) -> Failure {
        Failure::new(
            EXIT_UNAVAILABLE,
            format!("server unreachable at {}: {e}", self.base),
        )
    }
}

/// A request body.
pub enum Body {
    Json(Value),
    Text(&'static str, String),
}

fn read_file(config: Option<PathBuf>) -> Result<File, Failure> {
    let explicit = config.is_some();
    let path = config.or_else(|| {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/heraldctl.toml"))
    });
    let Some(path) = path else {
        return Ok(File::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| Failure::new(EXIT_CONFIG, format!("{}: {}", path.display(), e.message()))),
        Err(e) if explicit => Err(Failure::new(
            EXIT_CONFIG,
            format!("cannot read {}: {e}", path.display()),
        )),
        Err(_) => Ok(File::default()),
    }
}

/// `?a=b&c=d` from the pairs whose value is set, percent-encoded.
pub fn query(pairs: &[(&str, Option<String>)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if let Some(v) = v {
            out.push(if out.is_empty() { '?' } else { '&' });
            out.push_str(k);
            out.push('=');
            out.push_str(&encode(v));
        }
    }
    out
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
