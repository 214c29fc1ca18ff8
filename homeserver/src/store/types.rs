//! The records the stores keep.

use std::fmt;

use herald_proto::v1::FlowRef;
use herald_sip::{SipUri, Uri};

/// A canonical address-of-record, `user@domain`: the user part as sent (case matters,
/// RFC 3261 §19.1.4), the domain in lower case, no scheme, port or parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aor(String);

impl Aor {
    /// Builds an AOR from a user part and a domain.
    pub fn new(user: &str, domain: &str) -> Aor {
        // One allocation, no formatting machinery: built several times per request.
        let mut s = String::with_capacity(user.len() + 1 + domain.len());
        s.push_str(user);
        s.push('@');
        let at = s.len();
        s.push_str(domain);
        s[at..].make_ascii_lowercase();
        Aor(s)
    }

    /// Parses `user@domain` or `sip:user@domain` (as typed by an operator).
    pub fn parse(s: &str) -> Option<Aor> {
        let s = s.trim();
        let s = s
            .strip_prefix("sip:")
            .or_else(|| s.strip_prefix("sips:"))
            .unwrap_or(s);
        let (user, domain) = s.rsplit_once('@')?;
        Aor::of_parts(user, domain)
    }

    /// `user@domain` from its two parts (a digest user name and the served domain), when
    /// each can be one: printable, no `<>"@`, no port or parameters in the domain.
    pub fn of_parts(user: &str, domain: &str) -> Option<Aor> {
        let valid = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'@'))
        };
        (valid(user) && valid(domain) && !domain.contains([':', ';']))
            .then(|| Aor::new(user, domain))
    }

    /// The AOR a SIP URI names (its user part, unescaped, at its host).
    pub fn of_uri(uri: &SipUri<'_>) -> Option<Aor> {
        uri.user?;
        // The core's canonical form, `sip:user@host`, without the scheme.
        Some(Aor(uri.user_host()))
    }

    /// The AOR of a To/From/Request-URI, if it is a sip/sips URI with a user part.
    pub fn of(uri: &Uri<'_>) -> Option<Aor> {
        match uri {
            Uri::Sip(u) => Aor::of_uri(u),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn user(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(u, _)| u)
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// As a SIP URI (`sip:user@domain`).
    pub fn to_uri(&self) -> String {
        format!("sip:{}", self.0)
    }
}

impl fmt::Display for Aor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// Stored digest secrets: HA1 per algorithm (RFC 7616), never the password itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub ha1_md5: Option<String>,
    pub ha1_sha256: Option<String>,
}

/// A user of this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub aor: Aor,
    pub display_name: String,
    pub email: Option<String>,
    pub disabled: bool,
    pub credentials: Credentials,
}

/// One registered contact of an AOR, with the flow it registered over.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub aor: Aor,
    /// The Contact URI as the client sent it (parameters and escaped headers kept).
    pub contact: String,
    /// q-value in thousandths (RFC 3261 §20.10), absent if the client sent none.
    pub q: Option<u16>,
    pub expires_at: u64,
    pub call_id: String,
    pub cseq: u32,
    /// RFC 5626 `+sip.instance` and `reg-id`, when the client sent them.
    pub instance: Option<String>,
    pub reg_id: Option<u32>,
    /// The connection the REGISTER came over: requests for this contact go down it.
    pub flow: FlowRef,
    pub user_agent: Option<String>,
}

impl Binding {
    /// Where a request for this binding goes: its contact, down its flow.
    pub fn target(&self) -> (&str, &FlowRef) {
        (&self.contact, &self.flow)
    }
}

/// A message held for a recipient with no device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Set by the store.
    pub id: i64,
    pub recipient: Aor,
    /// The sender's From header value (name-addr), replayed on delivery.
    pub from: String,
    pub content_type: String,
    pub body: Vec<u8>,
    pub received_at_ms: u64,
}

/// What became of an archived message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A device answered with this 2xx.
    Delivered(u16),
    /// No device: stored for later delivery (answered 202).
    Stored,
    /// Refused or failed with this status.
    Refused(u16),
    /// Compliance archiving: recorded before delivery was attempted (the outcome follows
    /// in a record of its own).
    Accepted,
    /// A notification sent by e-mail (no device took it).
    Mailed,
    /// A notification that reached no one (no device, and no e-mail could be sent).
    Undelivered,
}

impl Outcome {
    pub fn to_db(&self) -> String {
        match self {
            Outcome::Delivered(s) => format!("delivered:{s}"),
            Outcome::Stored => "stored".into(),
            Outcome::Refused(s) => format!("refused:{s}"),
            Outcome::Accepted => "accepted".into(),
            Outcome::Mailed => "mailed".into(),
            Outcome::Undelivered => "undelivered".into(),
        }
    }

    pub fn from_db(s: &str) -> Option<Outcome> {
        match s {
            "stored" => return Some(Outcome::Stored),
            "accepted" => return Some(Outcome::Accepted),
            "mailed" => return Some(Outcome::Mailed),
            "undelivered" => return Some(Outcome::Undelivered),
            _ => {}
        }
        let (kind, code) = s.split_once(':')?;
        let code = code.parse().ok()?;
        match kind {
            "delivered" => Some(Outcome::Delivered(code)),
            "refused" => Some(Outcome::Refused(code)),
            _ => None,
        }
    }
}

/// One archived message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveEntry {
    pub sender: String,
    pub recipients: Vec<String>,
    pub at_ms: u64,
    pub call_id: String,
    pub content_type: String,
    pub body: Vec<u8>,
    pub outcome: Outcome,
}

/// An archived message with its id (ids grow in arrival order: a cursor for paging).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedRecord {
    pub id: i64,
    pub entry: ArchiveEntry,
}

/// What to look for in the archive; every field set narrows the search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveQuery {
    /// Messages this user sent or received.
    pub user: Option<String>,
    /// Messages exchanged with this peer (with `user`: between the two).
    pub peer: Option<String>,
    /// From this time on (inclusive), in milliseconds since the epoch.
    pub since_ms: Option<u64>,
    /// Before this time (exclusive).
    pub until_ms: Option<u64>,
    /// Text the body contains (case-insensitive for ASCII).
    pub text: Option<String>,
    /// Only records with a larger id (the last id of the previous page).
    pub after_id: i64,
    pub limit: u32,
}

/// An administrator's API token as stored: its name and the SHA-256 of the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub hash: String,
    pub created_at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aor_canonical_form() {
        assert_eq!(
            Aor::parse("sip:Alice@Example.COM").unwrap().as_str(),
            "Alice@example.com"
        );
        assert_eq!(Aor::parse("bob@example.com").unwrap().user(), "bob");
        assert!(Aor::parse("nobody").is_none());
        assert!(Aor::parse("a@b:5060").is_none());
        assert!(Aor::parse("@b").is_none());
    }

    /// The AOR of a URI, as the registrar takes it.
    fn aor_of(uri: &str) -> Option<Aor> {
        match Uri::parse(uri) {
            Ok(Uri::Sip(u)) => Aor::of_uri(&u),
            other => panic!("{uri}: {other:?}"),
        }
    }

    #[test]
    fn aor_of_uri_unescapes_the_user() {
        let aor = |uri| aor_of(uri).map(|a| a.as_str().to_owned());
        assert_eq!(
            aor("sip:%61lice@EXAMPLE.com;transport=tcp").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(aor_of("sip:a%00b@example.com").unwrap().user(), "a\0b");
        // IPv4 and IPv6 hosts, and no user part (no AOR).
        assert_eq!(
            aor("sip:bob@192.0.2.7:5070").as_deref(),
            Some("bob@192.0.2.7")
        );
        assert_eq!(
            aor("sip:bob@[2001:DB8::1]").as_deref(),
            Some("bob@[2001:db8::1]")
        );
        assert_eq!(aor("sip:example.com"), None);
    }

    #[test]
    fn aor_of_a_digest_user_name() {
        assert_eq!(
            Aor::of_parts("Alice", "Example.com").unwrap().as_str(),
            "Alice@example.com"
        );
        for bad in ["", "a b", "a@b", "<a>", "\"a\""] {
            assert!(Aor::of_parts(bad, "example.com").is_none(), "{bad:?}");
        }
        assert!(Aor::of_parts("a", "example.com:5060").is_none());
    }

    #[test]
    fn outcome_round_trips() {
        for o in [
            Outcome::Delivered(200),
            Outcome::Stored,
            Outcome::Refused(413),
            Outcome::Accepted,
            Outcome::Mailed,
            Outcome::Undelivered,
        ] {
            assert_eq!(Outcome::from_db(&o.to_db()), Some(o));
        }
    }
}
