//! What a home server is told at start.

use std::collections::HashMap;

use herald_proto::v1::Transport;

/// Home server settings (the binary fills them from its config).
#[derive(Debug, Clone)]
pub struct HomeConfig {
    /// This home server's id: part of every branch it creates, so responses find it.
    pub home_id: String,
    /// The SIP domain served, also the digest realm.
    pub domain: String,
    /// Other hosts that mean "this domain" in a Request-URI (listen addresses, localhost).
    pub local_hosts: Vec<String>,
    /// Where each transport listens, as `host:port`, for Via and Record-Route.
    pub advertise: HashMap<Transport, String>,
    /// Secret for stateless nonces; every home server of a pool shares it.
    pub nonce_secret: [u8; 32],
    /// Nonce lifetime before `stale=true`.
    pub nonce_max_age_secs: u64,
    pub min_expires: u32,
    pub max_expires: u32,
    pub default_expires: u32,
    /// Largest MESSAGE body accepted (413 above it).
    pub max_message_body: usize,
    /// What is kept of each MESSAGE in the archive.
    pub archive: ArchiveMode,
    /// A pool's home server: presence state is loaded for the presentities this server
    /// owns on the ring (`HomeServer::set_ownership`), not all of it at start.
    pub presence_by_ownership: bool,
    /// A pool's home server: its membership lease. While it does not hold (or once it
    /// has lapsed, until ownership is given again) the engine drops its presence state
    /// and refuses presence requests with 503: another server may own them now.
    pub lease: Option<crate::lease::Lease>,
    /// The `Edge` is across a network (the pool): the engine queues what it sends and a
    /// task of its own sends it in batches (`Edge::send_batch`), instead of waiting for
    /// each message's round trip.
    pub edge_is_remote: bool,
    /// Bindings are written through to a networked store (the pool's Redis) before a
    /// REGISTER is answered: the engine runs each write as a task of its own and answers
    /// when it is done, rather than waiting for the round trips (`core/register.rs`).
    pub store_is_remote: bool,
    /// Digest algorithms offered, in order of preference (RFC 8760 §2.4: clients take the
    /// first they support; some old clients only read the first challenge).
    pub auth_algorithms: Vec<herald_sip::auth::Algorithm>,
    /// Whether the digest-uri must equal the Request-URI (see `Verifier::with_uri_check`).
    pub auth_check_uri: bool,
    /// Server header value; `None` sends none (the default: no version disclosure).
    pub server_header: Option<String>,
    /// Password-guessing bans.
    pub bans: crate::bans::BanPolicy,
    pub presence: PresenceConfig,
}

/// What the archive keeps of instant messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchiveMode {
    /// Nothing: no record of any MESSAGE is written (for operators who must not keep
    /// message content; stored offline messages are still kept until delivered).
    Off,
    /// Every MESSAGE gets a record with what became of it, written behind (retried until
    /// the database takes it).
    #[default]
    BestEffort,
    /// A MESSAGE is archived, durably, before it is delivered; when the archive cannot be
    /// written it is refused (503) rather than delivered unarchived.
    Compliance,
}

/// Presence settings.
#[derive(Debug, Clone, Copy)]
pub struct PresenceConfig {
    /// Least time between two NOTIFYs to one watcher: changes in between are coalesced
    /// and the last state is sent when it has passed (RFC 6446's idea).
    pub min_notify_interval: std::time::Duration,
    /// Who may watch a user when no rule of theirs says.
    pub default_policy: crate::presence::rules::DefaultPolicy,
    pub min_expires: u32,
    pub max_expires: u32,
    pub default_expires: u32,
    /// Most live subscriptions one user may hold (0: no cap).
    pub max_subscriptions_per_user: u32,
}

impl Default for PresenceConfig {
    fn default() -> Self {
        PresenceConfig {
            min_notify_interval: std::time::Duration::from_millis(1000),
            default_policy: crate::presence::rules::DefaultPolicy::SameDomain,
            min_expires: 60,
            max_expires: 7200,
            default_expires: 3600,
            max_subscriptions_per_user: 1000,
        }
    }
}

impl HomeConfig {
    /// Settings for tests and the embedded default: domain `localhost`, nothing advertised.
    pub fn for_domain(domain: &str) -> HomeConfig {
        HomeConfig {
            home_id: "hs1".into(),
            domain: domain.to_ascii_lowercase(),
            local_hosts: vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()],
            advertise: HashMap::new(),
            nonce_secret: rand::random(),
            nonce_max_age_secs: 300,
            min_expires: 60,
            max_expires: 86_400,
            default_expires: 3600,
            max_message_body: 64 * 1024,
            archive: ArchiveMode::BestEffort,
            presence_by_ownership: false,
            lease: None,
            edge_is_remote: false,
            store_is_remote: false,
            auth_algorithms: vec![
                herald_sip::auth::Algorithm::Sha256,
                herald_sip::auth::Algorithm::Md5,
            ],
            auth_check_uri: false,
            server_header: None,
            bans: crate::bans::BanPolicy::default(),
            presence: PresenceConfig::default(),
        }
    }

    /// Whether `host` (as written in a URI, lower-cased by the caller) is this domain.
    pub fn is_local(&self, host: &str) -> bool {
        host.eq_ignore_ascii_case(&self.domain)
            || self
                .local_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(host))
            || self.advertise.values().any(|a| {
                a.rsplit_once(':')
                    .is_some_and(|(h, _)| h.eq_ignore_ascii_case(host))
            })
    }

    /// Whether `hostport` is one of this server's advertised addresses.
    pub fn is_self(&self, host: &str, port: Option<u16>) -> bool {
        self.advertise.iter().any(|(t, a)| {
            let Some((h, p)) = a.rsplit_once(':') else {
                return false;
            };
            let default = if matches!(t, Transport::Tls | Transport::Wss) {
                5061
            } else {
                5060
            };
            h.eq_ignore_ascii_case(host) && p.parse::<u16>().ok() == Some(port.unwrap_or(default))
        })
    }
}
