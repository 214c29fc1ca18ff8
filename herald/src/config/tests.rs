use std::{collections::HashMap, time::Duration};

use herald_homeserver::config::ArchiveMode;

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::load(None, &env(pairs))
}

#[test]
fn defaults_serve_every_transport() {
    let c = load(&[]).unwrap();
    assert_eq!(c.domain, "localhost");
    assert_eq!(c.udp, Some("0.0.0.0:5060".parse().unwrap()));
    assert_eq!(c.wss, Some("0.0.0.0:7443".parse().unwrap()));
    assert_eq!(c.database(), PathBuf::from("herald-data/herald.db"));
    assert!(!c.server_header);
}

#[test]
fn errors_name_the_setting() {
    let e = load(&[("HERALD_UDP", "nonsense")]).unwrap_err();
    assert_eq!(e.setting, "HERALD_UDP (udp)");
    let e = load(&[("HERALD_MIN_EXPIRES", "ten")]).unwrap_err();
    assert_eq!(e.setting, "HERALD_MIN_EXPIRES (min_expires)");
    let e = load(&[
        ("HERALD_MIN_EXPIRES", "7200"),
        ("HERALD_MAX_EXPIRES", "3600"),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("max_expires"), "{e}");
    let e = load(&[("HERALD_TLS_CERT", "/x.pem")]).unwrap_err();
    assert_eq!(e.setting, "HERALD_TLS_KEY (tls_key)");
    let e = load(&[
        ("HERALD_TLS_CERT", "/nonexistent/c.pem"),
        ("HERALD_TLS_KEY", "/nonexistent/k.pem"),
    ])
    .unwrap_err();
    assert_eq!(e.setting, "HERALD_TLS_CERT (tls_cert)");
    assert!(e.problem.contains("/nonexistent/c.pem"), "{e}");
    let e = load(&[("HERALD_NONCE_SECRET", "abc")]).unwrap_err();
    assert!(e.setting.starts_with("HERALD_NONCE_SECRET"));
    let e = load(&[("HERALD_DOMAIN", "bad domain")]).unwrap_err();
    assert!(e.setting.starts_with("HERALD_DOMAIN"));
}

#[test]
fn listeners_can_be_turned_off_but_not_all() {
    let c = load(&[("HERALD_WS", "off"), ("HERALD_WSS", "")]).unwrap();
    assert!(c.ws.is_none() && c.wss.is_none());
    let all = [
        ("HERALD_UDP", "off"),
        ("HERALD_TCP", "off"),
        ("HERALD_TLS", "off"),
        ("HERALD_WS", "off"),
        ("HERALD_WSS", "off"),
    ];
    assert!(load(&all).is_err());
}

#[test]
fn file_then_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("herald.toml");
    std::fs::write(
        &path,
        "domain = \"example.com\"\nudp = \"127.0.0.1:5070\"\nws_origins = [\"https://a\"]\n",
    )
    .unwrap();
    let c = Config::load(Some(&path), &env(&[("HERALD_UDP", "127.0.0.1:5080")])).unwrap();
    assert_eq!(c.domain, "example.com");
    assert_eq!(c.udp, Some("127.0.0.1:5080".parse().unwrap()));
    assert_eq!(c.ws_origins, vec!["https://a".to_owned()]);
    std::fs::write(&path, "domian = \"typo.com\"\n").unwrap();
    let e = Config::load(Some(&path), &env(&[])).unwrap_err();
    assert!(e.problem.contains("domian"), "{e}");
}

#[test]
fn digest_algorithms_in_order() {
    use herald_sip::auth::Algorithm;
    assert_eq!(load(&[]).unwrap().auth_algorithms, vec![Algorithm::Md5]);
    let c = load(&[("HERALD_AUTH_ALGORITHMS", "md5, sha-256")]).unwrap();
    assert_eq!(c.auth_algorithms, vec![Algorithm::Md5, Algorithm::Sha256]);
    let e = load(&[("HERALD_AUTH_ALGORITHMS", "sha-512")]).unwrap_err();
    assert!(
        e.setting.starts_with("HERALD_AUTH_ALGORITHMS") && e.problem.contains("sha-512"),
        "{e}"
    );
}

#[test]
fn limits_have_safe_defaults_and_named_errors() {
    let c = load(&[]).unwrap();
    assert_eq!(c.limits.edge.rate_per_source, 200);
    assert_eq!(c.limits.edge.burst_per_source, 400);
    assert_eq!(c.limits.bans.max_per_source, 20);
    assert_eq!(c.limits.edge.message_timeout, Duration::from_secs(20));
    assert_eq!(c.http, Some("127.0.0.1:8080".parse().unwrap()));
    let c = load(&[("HERALD_RATE_PER_SOURCE", "0"), ("HERALD_HTTP", "off")]).unwrap();
    assert_eq!((c.limits.edge.rate_per_source, c.http), (0, None));
    let e = load(&[("HERALD_MESSAGE_TIMEOUT_SECS", "0")]).unwrap_err();
    assert_eq!(
        e.setting,
        "HERALD_MESSAGE_TIMEOUT_SECS (message_timeout_secs)"
    );
    let e = load(&[("HERALD_AUTH_BAN_SECS", "forever")]).unwrap_err();
    assert_eq!(e.setting, "HERALD_AUTH_BAN_SECS (auth_ban_secs)");
    let e = load(&[("HERALD_MAX_CONNECTIONS_PER_IP", "0")]).unwrap_err();
    assert_eq!(
        e.setting,
        "HERALD_MAX_CONNECTIONS_PER_IP (max_connections_per_ip)"
    );
    let e = load(&[("HERALD_HTTP", "port 80")]).unwrap_err();
    assert_eq!(e.setting, "HERALD_HTTP (http)");
}

#[test]
fn admin_settings() {
    let c = load(&[]).unwrap();
    assert_eq!(c.admin.api, None, "the API shares HERALD_HTTP by default");
    assert_eq!(c.admin.notify_from, "herald@localhost");
    assert!(c.admin.smtp.is_none());
    assert_eq!(c.admin.archive_retention_days, None);
    assert_eq!(c.admin.archive, ArchiveMode::BestEffort);
    for (v, mode) in [
        ("off", ArchiveMode::Off),
        ("compliance", ArchiveMode::Compliance),
        ("best-effort", ArchiveMode::BestEffort),
    ] {
        let c = load(&[("HERALD_ARCHIVE_MODE", v)]).unwrap();
        assert_eq!(c.admin.archive, mode, "HERALD_ARCHIVE_MODE={v}");
    }
    let c = load(&[
        ("HERALD_DOMAIN", "example.com"),
        ("HERALD_API", "127.0.0.1:9443"),
        ("HERALD_NOTIFY_FROM", "alerts"),
        ("HERALD_NOTIFY_WHEN_BUSY", "sip"),
        ("HERALD_SMTP", "127.0.0.1:2525"),
        ("HERALD_ARCHIVE_RETENTION_DAYS", "365"),
    ])
    .unwrap();
    assert_eq!(c.admin.api, Some("127.0.0.1:9443".parse().unwrap()));
    assert_eq!(c.admin.notify_from, "alerts@example.com");
    assert_eq!(c.admin.when_busy, herald_api::notify::WhenBusy::Sip);
    let smtp = c.admin.smtp.unwrap();
    assert_eq!((smtp.host.as_str(), smtp.port), ("127.0.0.1", 2525));
    assert_eq!(
        smtp.tls,
        herald_api::mail::MailTls::None,
        "loopback relay: plain"
    );
    assert_eq!(c.admin.archive_retention_days, Some(365));
    let remote = load(&[("HERALD_SMTP", "mail.example.org:587")]).unwrap();
    assert_eq!(
        remote.admin.smtp.unwrap().tls,
        herald_api::mail::MailTls::StartTls
    );
    for (k, v, setting) in [
        ("HERALD_SMTP", "mail.example.org", "HERALD_SMTP (smtp)"),
        ("HERALD_SMTP_TLS", "maybe", "HERALD_SMTP_TLS (smtp_tls)"),
        (
            "HERALD_NOTIFY_WHEN_BUSY",
            "never",
            "HERALD_NOTIFY_WHEN_BUSY (notify_when_busy)",
        ),
        (
            "HERALD_NOTIFY_FROM",
            "x@other.org",
            "HERALD_NOTIFY_FROM (notify_from)",
        ),
        (
            "HERALD_API_TLS_CERT",
            "/x.pem",
            "HERALD_API_TLS_KEY (api_tls_key)",
        ),
        ("HERALD_API", "everywhere", "HERALD_API (api)"),
        (
            "HERALD_ARCHIVE_MODE",
            "none",
            "HERALD_ARCHIVE_MODE (archive_mode)",
        ),
    ] {
        let mut pairs = vec![(k, v)];
        if k == "HERALD_SMTP_TLS" {
            pairs.push(("HERALD_SMTP", "mail.example.org:587"));
        }
        let e = load(&pairs).unwrap_err();
        assert_eq!(e.setting, setting, "{k}={v}: {e}");
    }
}
