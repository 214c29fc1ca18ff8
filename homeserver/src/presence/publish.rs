//! PUBLISH for the `presence` event (RFC 3903 §6), without I/O: given a request and the
//! publications the presentity has, the new set and what to answer. Initial publications
//! carry a PIDF body; refreshes and removals name the entity tag in SIP-If-Match; an
//! unknown or expired tag is 412; a body with If-Match modifies. Not wired into the
//! engine yet (the presence issue does that).

use herald_sip::{HeaderName, Request, StatusCode};

use super::{
    compose::Publication,
    pidf::{parse, Pidf, PidfLimits},
};

/// One live publication of a presentity.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub etag: String,
    pub doc: Pidf,
    /// When it was published or last modified (seconds).
    pub at: u64,
    pub expires_at: u64,
}

impl Published {
    pub fn publication(&self) -> Publication {
        Publication {
            doc: self.doc.clone(),
            at: self.at,
        }
    }
}

/// Expiry rules for publications.
#[derive(Debug, Clone, Copy)]
pub struct PublishLimits {
    pub min_expires: u32,
    pub max_expires: u32,
    pub default_expires: u32,
    pub pidf: PidfLimits,
}

impl Default for PublishLimits {
    fn default() -> Self {
        PublishLimits {
            min_expires: 60,
            max_expires: 7200,
            default_expires: 3600,
            pidf: PidfLimits::default(),
        }
    }
}

/// What a successful PUBLISH did; the 200 carries `SIP-ETag` and `Expires` unless removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published200 {
    Stored { etag: String, expires: u32 },
    Removed,
}

/// A refusal: status, reason phrase, and the header a client needs to recover (Allow-Events
/// for 489, Min-Expires for 423, Accept for 415).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub reason: String,
    pub header: Option<(HeaderName, String)>,
}

fn refuse(status: StatusCode, reason: &str, header: Option<(HeaderName, String)>) -> Refusal {
    Refusal {
        status,
        reason: reason.to_owned(),
        header,
    }
}

/// Applies a PUBLISH to `pubs` (expired entries are dropped first). `etag` makes a fresh
/// entity tag.
pub fn apply(
    req: &Request,
    pubs: &mut Vec<Published>,
    now: u64,
    limits: &PublishLimits,
    etag: impl FnOnce() -> String,
) -> Result<Published200, Refusal> {
    pubs.retain(|p| p.expires_at > now);
    let event = req
        .headers
        .event()
        .ok()
        .flatten()
        .map(|e| e.package.to_ascii_lowercase());
    if event.as_deref() != Some("presence") {
        let allow = Some((HeaderName::AllowEvents, "presence".to_owned()));
        return Err(refuse(StatusCode::BAD_EVENT, "Bad Event", allow));
    }
    let expires = match req.headers.expires() {
        Ok(e) => e.unwrap_or(limits.default_expires).min(limits.max_expires),
        Err(_) => return Err(refuse(StatusCode::BAD_REQUEST, "Bad Expires header", None)),
    };
    if expires > 0 && expires < limits.min_expires {
        let min = Some((HeaderName::MinExpires, limits.min_expires.to_string()));
        return Err(refuse(
            StatusCode::INTERVAL_TOO_BRIEF,
            "Interval Too Brief",
            min,
        ));
    }
    let body = if req.body.is_empty() {
        None
    } else {
        let ct = req.headers.content_type().ok().flatten();
        let pidf = ct.is_some_and(|c| {
            c.top.eq_ignore_ascii_case("application") && c.sub.eq_ignore_ascii_case("pidf+xml")
        });
        if !pidf {
            let accept = Some((HeaderName::Accept, "application/pidf+xml".to_owned()));
            return Err(refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                accept,
            ));
        }
        match parse(&req.body, &limits.pidf) {
            Ok(d) => Some(d),
            Err(e) => {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("Bad PIDF: {e}"),
                    None,
                ))
            }
        }
    };
    let if_match = req.headers.sip_if_match().ok().flatten().map(str::to_owned);
    let Some(tag) = if_match else {
        // Initial publication (§6 step 5).
        let Some(doc) = body else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Initial PUBLISH needs a body",
                None,
            ));
        };
        if expires == 0 {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Initial PUBLISH with Expires 0",
                None,
            ));
        }
        let etag = etag();
        pubs.push(Published {
            etag: etag.clone(),
            doc,
            at: now,
            expires_at: now + u64::from(expires),
        });
        return Ok(Published200::Stored { etag, expires });
    };
    let Some(i) = pubs.iter().position(|p| p.etag == tag) else {
        return Err(refuse(
            StatusCode::CONDITIONAL_REQUEST_FAILED,
            "Conditional Request Failed",
            None,
        ));
    };
    if expires == 0 {
        pubs.remove(i);
        return Ok(Published200::Removed);
    }
    let p = &mut pubs[i];
    if let Some(doc) = body {
        p.doc = doc;
        p.at = now;
    }
    p.etag = etag();
    p.expires_at = now + u64::from(expires);
    Ok(Published200::Stored {
        etag: p.etag.clone(),
        expires,
    })
}

#[cfg(test)]
mod tests;
