//! Challenges (`WWW-Authenticate` / `Proxy-Authenticate` values): built by the server,
//! parsed by clients (and by Herald's own load generator and tests).

use std::{borrow::Cow, fmt};

use super::{
    params::{parse_scheme_and_params, pick, Param},
    Algorithm, DigestError, Qop,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub algorithm: Algorithm,
    pub qop: Option<Qop>,
    pub opaque: Option<String>,
    pub stale: bool,
}

impl Challenge {
    /// Parses a challenge; an offered qop list is accepted if it contains `auth`.
    pub fn parse(s: &str) -> Result<Challenge, DigestError> {
        let pairs = parse_scheme_and_params(s)?;
        let [realm, nonce, algorithm, qop, opaque, stale] = pick(
            &pairs,
            ["realm", "nonce", "algorithm", "qop", "opaque", "stale"],
        )?
        .map(|p| p.map(Param::value));
        let realm = realm
            .ok_or(DigestError::MissingParam("realm"))?
            .into_owned();
        let nonce = nonce
            .ok_or(DigestError::MissingParam("nonce"))?
            .into_owned();
        let algorithm = match algorithm {
            Some(a) => Algorithm::parse(&a)?,
            None => Algorithm::Md5,
        };
        let qop = match qop {
            Some(list)
                if list
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth")) =>
            {
                Some(Qop::Auth)
            }
            Some(list) => return Err(DigestError::UnsupportedQop(list.into_owned())),
            None => None,
        };
        let opaque = opaque.map(|o| o.into_owned());
        let stale = stale.is_some_and(|s| s.eq_ignore_ascii_case("true"));
        Ok(Challenge {
            realm,
            nonce,
            algorithm,
            qop,
            opaque,
            stale,
        })
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest realm=\"{}\", nonce=\"{}\", algorithm={}",
            escape(&self.realm),
            escape(&self.nonce),
            self.algorithm.as_str()
        )?;
        if self.qop.is_some() {
            f.write_str(", qop=\"auth\"")?;
        }
        if let Some(o) = &self.opaque {
            write!(f, ", opaque=\"{}\"", escape(o))?;
        }
        if self.stale {
            f.write_str(", stale=true")?;
        }
        Ok(())
    }
}

/// A quoted-string's content: `\` and `"` escaped; borrowed when there is neither (a
/// realm or a nonce practically always).
fn escape(s: &str) -> Cow<'_, str> {
    if s.contains(['\\', '"']) {
        Cow::Owned(s.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_then_parse_round_trips() {
        let c = Challenge {
            realm: "exa\"mple.com".into(),
            // Found by the digest_header fuzz target: backslashes in the nonce were lost.
            nonce: "n0\\\\nce\\".into(),
            algorithm: Algorithm::Sha256,
            qop: Some(Qop::Auth),
            opaque: Some("op".into()),
            stale: true,
        };
        let text = c.to_string();
        assert!(text.starts_with(
            r#"Digest realm="exa\"mple.com", nonce="n0\\\\nce\\", algorithm=SHA-256"#
        ));
        assert_eq!(Challenge::parse(&text), Ok(c));
    }

    #[test]
    fn parses_client_side_offers() {
        let c = Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=\"auth,auth-int\"")
            .expect("challenge");
        assert_eq!(
            (c.algorithm, c.qop, c.stale),
            (Algorithm::Md5, Some(Qop::Auth), false)
        );
        assert!(Challenge::parse("Basic realm=\"r\"").is_err());
    }
}
