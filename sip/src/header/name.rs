//! Header names: the ones Herald reads by type, compact forms (RFC 3261 §7.3.3, RFC 3265,
//! RFC 3515), and any other name kept as written.

use std::fmt;

use crate::bytestr::ByteStr;

macro_rules! header_names {
    ($( $variant:ident => $canon:literal $(, $compact:literal)? ;)*) => {
        /// A header field name. Comparison is case-insensitive, as in RFC 3261 §7.3.1.
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum HeaderName {
            $( $variant, )*
            /// Any other header; the name as written, serialized byte-exact.
            Other(ByteStr),
        }

        impl HeaderName {
            /// The canonical spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( HeaderName::$variant => $canon, )*
                    HeaderName::Other(s) => s.as_str(),
                }
            }

            /// Classifies a name given in any case or in compact form. `raw` is called
            /// only for names that are not known.
            pub(crate) fn classify(name: &str, raw: impl FnOnce() -> ByteStr) -> HeaderName {
                let mut buf = [0u8; 24];
                if name.len() <= buf.len() {
                    let lower = &mut buf[..name.len()];
                    lower.copy_from_slice(name.as_bytes());
                    lower.make_ascii_lowercase();
                    match &*lower {
                        b"via" | b"v" => return HeaderName::Via,
                        b"from" | b"f" => return HeaderName::From,
                        b"to" | b"t" => return HeaderName::To,
                        b"call-id" | b"i" => return HeaderName::CallId,
                        b"cseq" => return HeaderName::CSeq,
                        b"contact" | b"m" => return HeaderName::Contact,
                        b"max-forwards" => return HeaderName::MaxForwards,
                        b"route" => return HeaderName::Route,
                        b"record-route" => return HeaderName::RecordRoute,
                        b"path" => return HeaderName::Path,
                        b"expires" => return HeaderName::Expires,
                        b"min-expires" => return HeaderName::MinExpires,
                        b"content-type" | b"c" => return HeaderName::ContentType,
                        b"content-length" | b"l" => return HeaderName::ContentLength,
                        b"content-encoding" | b"e" => return HeaderName::ContentEncoding,
                        b"event" | b"o" => return HeaderName::Event,
                        b"allow-events" | b"u" => return HeaderName::AllowEvents,
                        b"subscription-state" => return HeaderName::SubscriptionState,
                        b"sip-etag" => return HeaderName::SipETag,
                        b"sip-if-match" => return HeaderName::SipIfMatch,
                        b"authorization" => return HeaderName::Authorization,
                        b"proxy-authorization" => return HeaderName::ProxyAuthorization,
                        b"www-authenticate" => return HeaderName::WwwAuthenticate,
                        b"proxy-authenticate" => return HeaderName::ProxyAuthenticate,
                        b"authentication-info" => return HeaderName::AuthenticationInfo,
                        b"supported" | b"k" => return HeaderName::Supported,
                        b"require" => return HeaderName::Require,
                        b"proxy-require" => return HeaderName::ProxyRequire,
                        b"unsupported" => return HeaderName::Unsupported,
                        b"accept" => return HeaderName::Accept,
                        b"allow" => return HeaderName::Allow,
                        b"user-agent" => return HeaderName::UserAgent,
                        b"server" => return HeaderName::Server,
                        b"retry-after" => return HeaderName::RetryAfter,
                        b"date" => return HeaderName::Date,
                        b"subject" | b"s" => return HeaderName::Subject,
                        b"refer-to" | b"r" => return HeaderName::ReferTo,
                        b"referred-by" | b"b" => return HeaderName::ReferredBy,
                        b"warning" => return HeaderName::Warning,
                        _ => {}
                    }
                }
                HeaderName::Other(raw())
            }
        }
    };
}

header_names! {
    Via => "via", "v";
    From => "from", "f";
    To => "to", "t";
    CallId => "call-id", "i";
    CSeq => "cseq";
    Contact => "contact", "m";
    MaxForwards => "max-forwards";
    Route => "route";
    RecordRoute => "record-route";
    Path => "path";
    Expires => "expires";
    MinExpires => "min-expires";
    ContentType => "content-type", "c";
    ContentLength => "content-length", "l";
    ContentEncoding => "content-encoding", "e";
    Event => "event", "o";
    AllowEvents => "allow-events", "u";
    SubscriptionState => "subscription-state";
    SipETag => "sip-etag";
    SipIfMatch => "sip-if-match";
    Authorization => "authorization";
    ProxyAuthorization => "proxy-authorization";
    WwwAuthenticate => "www-authenticate";
    ProxyAuthenticate => "proxy-authenticate";
    AuthenticationInfo => "authentication-info";
    Supported => "supported", "k";
    Require => "require";
    ProxyRequire => "proxy-require";
    Unsupported => "unsupported";
    Accept => "accept";
    Allow => "allow";
    UserAgent => "user-agent";
    Server => "server";
    RetryAfter => "retry-after";
    Date => "date";
    Subject => "subject", "s";
    ReferTo => "refer-to", "r";
    ReferredBy => "referred-by", "b";
    Warning => "warning";
}

impl HeaderName {
    /// The name as it is written on the wire (proper case for the known ones).
    pub fn wire_name(&self) -> &str {
        match self {
            HeaderName::Via => "Via",
            HeaderName::From => "From",
            HeaderName::To => "To",
            HeaderName::CallId => "Call-ID",
            HeaderName::CSeq => "CSeq",
            HeaderName::Contact => "Contact",
            HeaderName::MaxForwards => "Max-Forwards",
            HeaderName::Route => "Route",
            HeaderName::RecordRoute => "Record-Route",
            HeaderName::Path => "Path",
            HeaderName::Expires => "Expires",
            HeaderName::MinExpires => "Min-Expires",
            HeaderName::ContentType => "Content-Type",
            HeaderName::ContentLength => "Content-Length",
            HeaderName::ContentEncoding => "Content-Encoding",
            HeaderName::Event => "Event",
            HeaderName::AllowEvents => "Allow-Events",
            HeaderName::SubscriptionState => "Subscription-State",
            HeaderName::SipETag => "SIP-ETag",
            HeaderName::SipIfMatch => "SIP-If-Match",
            HeaderName::Authorization => "Authorization",
            HeaderName::ProxyAuthorization => "Proxy-Authorization",
            HeaderName::WwwAuthenticate => "WWW-Authenticate",
            HeaderName::ProxyAuthenticate => "Proxy-Authenticate",
            HeaderName::AuthenticationInfo => "Authentication-Info",
            HeaderName::Supported => "Supported",
            HeaderName::Require => "Require",
            HeaderName::ProxyRequire => "Proxy-Require",
            HeaderName::Unsupported => "Unsupported",
            HeaderName::Accept => "Accept",
            HeaderName::Allow => "Allow",
            HeaderName::UserAgent => "User-Agent",
            HeaderName::Server => "Server",
            HeaderName::RetryAfter => "Retry-After",
            HeaderName::Date => "Date",
            HeaderName::Subject => "Subject",
            HeaderName::ReferTo => "Refer-To",
            HeaderName::ReferredBy => "Referred-By",
            HeaderName::Warning => "Warning",
            HeaderName::Other(s) => s.as_str(),
        }
    }

    /// Parses a name from text (a header name typed by a user or a config).
    pub fn from_name(name: &str) -> HeaderName {
        HeaderName::classify(name, || ByteStr::from(name.to_owned()))
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}
impl Eq for HeaderName {}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.wire_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_case_insensitive() {
        assert_eq!(HeaderName::from_name("v"), HeaderName::Via);
        assert_eq!(
            HeaderName::from_name("MaX-fOrWaRdS"),
            HeaderName::MaxForwards
        );
        assert_eq!(HeaderName::from_name("l"), HeaderName::ContentLength);
        assert_eq!(
            HeaderName::from_name("X-Foo"),
            HeaderName::from_name("x-foo")
        );
        assert_ne!(HeaderName::from_name("X-Foo"), HeaderName::Via);
        assert_eq!(
            HeaderName::from_name("WWW-Authenticate").wire_name(),
            "WWW-Authenticate"
        );
    }

    #[test]
    fn canonical_names_are_lower_case_and_round_trip() {
        for n in [
            "via",
            "call-id",
            "sip-etag",
            "subscription-state",
            "proxy-authorization",
        ] {
            let h = HeaderName::from_name(n);
            assert!(!matches!(h, HeaderName::Other(_)), "{n}");
            assert_eq!(h.as_str(), n);
            assert_eq!(HeaderName::from_name(h.wire_name()), h);
        }
    }
}
