//! Which home server a message goes to (the pool): a request by the address-of-record it
//! is about — REGISTER and SUBSCRIBE by their To (a `<user>-list` by its owner), anything
//! else by its Request-URI when that names a user, else by its From — placed on the ring; a response by the home server named in the
//! branch of its top Via (`z9hG4bK-<home>-<random>`, put there by that home server).

use herald_sip::{HeaderName, Message, Method, Uri};

/// Where a message should go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A request: the ring key (a canonical `user@host`).
    Key(String),
    /// A response: the home server that sent the request.
    Home(String),
    /// Neither could be read (the caller picks any home server).
    Any,
}

/// The route of a parsed message.
pub fn route(msg: &Message) -> Route {
    match msg {
        Message::Request(req) => {
            let key_of = |uri: Option<Uri<'_>>| match uri {
                Some(Uri::Sip(u)) if u.user.is_some() => Some(u.user_host()),
                _ => None,
            };
            let to = || key_of(req.headers.to().ok().map(|t| t.uri));
            let from = || key_of(req.headers.from().ok().map(|f| f.uri));
            let key = if req.method == Method::Register {
                to()
            } else if req.method == Method::Subscribe {
                // By the presentity, in and out of dialog (a refresh's Request-URI is our
                // Contact); a buddy-list subscription (`<user>-list`) by its owner.
                to().map(|k| match k.split_once('@') {
                    Some((u, d)) if u.ends_with("-list") => {
                        format!("{}@{d}", u.trim_end_matches("-list"))
                    }
                    _ => k,
                })
            } else {
                key_of(req.parse_uri().ok()).or_else(from)
            };
            key.map_or(Route::Any, Route::Key)
        }
        Message::Response(resp) => resp
            .headers
            .get(&HeaderName::Via)
            .and_then(home_of_via)
            .map_or(Route::Any, Route::Home),
    }
}

/// The home server named in a Via value's branch (the first Via of a header line).
pub fn home_of_via(via: &str) -> Option<String> {
    let first = via.split(',').next()?;
    let branch = first
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("branch="))?;
    let rest = branch.strip_prefix("z9hG4bK-")?;
    let (home, random) = rest.rsplit_once('-')?;
    (!home.is_empty() && random.len() == 16 && random.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| home.to_owned())
}

#[cfg(test)]
mod tests {
    use herald_sip::{parse, Limits, Transport};

    use super::*;

    fn msg(text: &str) -> Message {
        parse(
            bytes::Bytes::from(text.replace('\n', "\r\n")),
            &Limits::default(),
            Transport::Datagram,
        )
        .unwrap()
    }

    #[test]
    fn requests_by_user_responses_by_branch() {
        let reg = msg("REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa\nTo: <sip:Bob@Example.com>\nFrom: <sip:bob@example.com>;tag=1\nCall-ID: c\nCSeq: 1 REGISTER\nMax-Forwards: 70\nContent-Length: 0\n\n");
        assert_eq!(route(&reg), Route::Key("Bob@example.com".into()));
        let m = msg("MESSAGE sip:carol@example.com SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKb\nTo: <sip:carol@example.com>\nFrom: <sip:alice@example.com>;tag=1\nCall-ID: c\nCSeq: 1 MESSAGE\nMax-Forwards: 70\nContent-Length: 0\n\n");
        assert_eq!(route(&m), Route::Key("carol@example.com".into()));
        let sub = msg("SUBSCRIBE sip:herald@10.0.0.5;transport=udp SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKd\nTo: <sip:alice-list@example.com>;tag=9\nFrom: <sip:bob@example.com>;tag=1\nCall-ID: c\nCSeq: 2 SUBSCRIBE\nMax-Forwards: 70\nEvent: presence\nContent-Length: 0\n\n");
        assert_eq!(route(&sub), Route::Key("alice@example.com".into()));
        let opt = msg("OPTIONS sip:example.com SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKc\nTo: <sip:example.com>\nFrom: <sip:alice@example.com>;tag=1\nCall-ID: c\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n");
        assert_eq!(route(&opt), Route::Key("alice@example.com".into()));
        let resp = msg("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK-home-2-00000000000000ab\nTo: <sip:carol@example.com>;tag=2\nFrom: <sip:alice@example.com>;tag=1\nCall-ID: c\nCSeq: 1 MESSAGE\nContent-Length: 0\n\n");
        assert_eq!(route(&resp), Route::Home("home-2".into()));
    }

    #[test]
    fn branches_not_ours_name_no_home() {
        assert_eq!(
            home_of_via("SIP/2.0/UDP h;branch=z9hG4bK-hs1-0123456789abcdef"),
            Some("hs1".into())
        );
        for v in [
            "SIP/2.0/UDP h;branch=z9hG4bKabc",
            "SIP/2.0/UDP h;branch=z9hG4bK-x-12",
            "SIP/2.0/UDP h",
        ] {
            assert_eq!(home_of_via(v), None, "{v}");
        }
    }
}
