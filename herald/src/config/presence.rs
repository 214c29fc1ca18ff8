//! Presence settings: subscription lifetimes, NOTIFY coalescing, who may watch whom.

use std::time::Duration;

use herald_homeserver::{config::PresenceConfig, presence::rules::DefaultPolicy};

use super::{err, ConfigError, File, Settings};

pub(super) fn load(s: &Settings<'_>, f: &File) -> Result<PresenceConfig, ConfigError> {
    let d = PresenceConfig::default();
    let policy = match s
        .string("presence_policy", f.presence_policy.clone())
        .as_deref()
    {
        None | Some("domain") => DefaultPolicy::SameDomain,
        Some("buddies") => DefaultPolicy::Buddies,
        Some(other) => {
            return Err(err(
                &Settings::label("presence_policy"),
                format!("{other:?} is not domain or buddies"),
            ))
        }
    };
    let p = PresenceConfig {
        min_notify_interval: Duration::from_millis(s.num(
            "notify_min_interval_ms",
            f.notify_min_interval_ms,
            u64::try_from(d.min_notify_interval.as_millis()).unwrap_or(1000),
        )?),
        default_policy: policy,
        min_expires: s.num(
            "presence_min_expires",
            f.presence_min_expires,
            d.min_expires,
        )?,
        max_expires: s.num(
            "presence_max_expires",
            f.presence_max_expires,
            d.max_expires,
        )?,
        default_expires: d.default_expires,
        max_subscriptions_per_user: s.num(
            "max_subscriptions_per_user",
            f.max_subscriptions_per_user,
            d.max_subscriptions_per_user,
        )?,
    };
    if p.min_expires == 0 || p.min_expires > p.max_expires {
        return Err(err(
            &Settings::label("presence_min_expires"),
            format!(
                "must be between 1 and presence_max_expires ({})",
                p.max_expires
            ),
        ));
    }
    Ok(PresenceConfig {
        default_expires: d.default_expires.clamp(p.min_expires, p.max_expires),
        ..p
    })
}
