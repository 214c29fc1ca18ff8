//! E-mail through the operator's SMTP relay (lettre): the fallback of notifications.

use lettre::{
    message::header::ContentType, transport::smtp::authentication::Credentials, AsyncSmtpTransport,
    AsyncTransport, Message, Tokio1Executor,
};

/// How to reach the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTls {
    /// Plain SMTP (a relay on this host or a trusted network).
    None,
    /// STARTTLS on the submission port.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl MailTls {
    pub fn parse(s: &str) -> Option<MailTls> {
        match s {
            "none" => Some(MailTls::None),
            "starttls" => Some(MailTls::StartTls),
            "tls" => Some(MailTls::Tls),
            _ => None,
        }
    }
}

/// The relay and the sender address.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub host: String,
    pub port: u16,
    pub tls: MailTls,
    pub user: Option<String>,
    pub password: Option<String>,
    /// The From address of notification mail.
    pub from: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    #[error("invalid e-mail address {0:?}")]
    Address(String),
    #[error("SMTP relay {relay}: {source}")]
    Relay {
        relay: String,
        source: lettre::transport::smtp::Error,
    },
    #[error("mail not built: {0}")]
    Build(String),
}

/// A connection pool to the relay.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
    relay: String,
}

impl Mailer {
    pub fn new(cfg: &MailConfig) -> Result<Mailer, MailError> {
        let relay = format!("{}:{}", cfg.host, cfg.port);
        let err = |source| MailError::Relay {
            relay: relay.clone(),
            source,
        };
        let builder = match cfg.tls {
            MailTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
            MailTls::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host).map_err(err)?
            }
            MailTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host).map_err(err)?,
        };
        let mut builder = builder
            .port(cfg.port)
            .timeout(Some(std::time::Duration::from_secs(20)));
        if let (Some(u), Some(p)) = (&cfg.user, &cfg.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from: cfg
                .from
                .parse()
                .map_err(|_| MailError::Address(cfg.from.clone()))?,
            relay,
        })
    }

    /// Sends one plain-text mail; `Ok` once the relay accepted it.
    pub async fn send(&self, to: &str, subject: &str, text: &str) -> Result<(), MailError> {
        let to = to
            .parse::<lettre::message::Mailbox>()
            .map_err(|_| MailError::Address(to.to_owned()))?;
        let mail = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text.to_owned())
            .map_err(|e| MailError::Build(e.to_string()))?;
        self.transport
            .send(mail)
            .await
            .map(|_| ())
            .map_err(|source| MailError::Relay {
                relay: self.relay.clone(),
                source,
            })
    }
}
