//! The limits that protect the edge and the registrar (connections, budgets, deadlines,
//! password-guessing bans): one group of settings, one table in the README.

use std::time::Duration;

use herald_frontend::EdgeLimits;
use herald_homeserver::bans::BanPolicy;

use super::{err, ConfigError, File, Settings};

/// Checked limits: the front end's, and the home server's password-guessing bans.
#[derive(Debug, Clone)]
pub struct Limits {
    pub edge: EdgeLimits,
    pub bans: BanPolicy,
}

impl Limits {
    pub(super) fn load(s: &Settings<'_>, f: &File) -> Result<Limits, ConfigError> {
        let secs = |key: &str, file: Option<u64>, default: u64| {
            s.num(key, file, default).map(Duration::from_secs)
        };
        let rate_per_source = s.num("rate_per_source", f.rate_per_source, 200)?;
        let edge = EdgeLimits {
            max_connections: s.num("max_connections", f.max_connections, 10_000)?,
            max_connections_per_ip: s.num(
                "max_connections_per_ip",
                f.max_connections_per_ip,
                100,
            )?,
            idle_timeout: secs("idle_timeout_secs", f.idle_timeout_secs, 600)?,
            handshake_timeout: secs("handshake_timeout_secs", f.handshake_timeout_secs, 10)?,
            message_timeout: secs("message_timeout_secs", f.message_timeout_secs, 20)?,
            rate_per_source,
            burst_per_source: s.num(
                "burst_per_source",
                f.burst_per_source,
                rate_per_source.saturating_mul(2),
            )?,
        };
        let l = Limits {
            edge,
            bans: BanPolicy {
                window_secs: s.num("auth_fail_window_secs", f.auth_fail_window_secs, 300)?,
                max_per_source: s.num(
                    "auth_fail_max_per_source",
                    f.auth_fail_max_per_source,
                    20,
                )?,
                max_per_user: s.num("auth_fail_max_per_user", f.auth_fail_max_per_user, 10)?,
                ban_secs: s.num("auth_ban_secs", f.auth_ban_secs, 900)?,
            },
        };
        l.check()?;
        Ok(l)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let e = &self.edge;
        if e.max_connections == 0 {
            return Err(err(
                &Settings::label("max_connections"),
                "must be at least 1",
            ));
        }
        if e.max_connections_per_ip == 0 {
            return Err(err(
                &Settings::label("max_connections_per_ip"),
                "must be at least 1",
            ));
        }
        for (key, d) in [
            ("idle_timeout_secs", e.idle_timeout),
            ("handshake_timeout_secs", e.handshake_timeout),
            ("message_timeout_secs", e.message_timeout),
        ] {
            if d.is_zero() {
                return Err(err(&Settings::label(key), "must be at least 1 second"));
            }
        }
        if e.rate_per_source > 0 && e.burst_per_source == 0 {
            return Err(err(
                &Settings::label("burst_per_source"),
                "must be at least 1 when rate_per_source is set",
            ));
        }
        if self.bans.window_secs == 0 {
            return Err(err(
                &Settings::label("auth_fail_window_secs"),
                "must be at least 1 second",
            ));
        }
        Ok(())
    }
}
