//! Event (RFC 6665 §8.2.1) and Subscription-State (RFC 6665 §8.2.3).

use crate::{
    error::{ParseError, Result},
    params::Params,
    scan::Scanner,
};

/// `Event: presence;id=1` — the package (with template, e.g. `presence.winfo`) and params.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    pub package: &'a str,
    pub params: Params<'a>,
}

impl<'a> Event<'a> {
    pub fn parse(s: &'a str) -> Result<Event<'a>> {
        let (package, params) = token_and_params(s).ok_or_else(|| ParseError::header("Event"))?;
        Ok(Event { package, params })
    }

    pub fn id(&self) -> Option<&'a str> {
        self.params.get("id").flatten()
    }
}

/// `Subscription-State: active;expires=3600` and friends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState<'a> {
    /// `active`, `pending`, `terminated` or an extension.
    pub state: &'a str,
    pub params: Params<'a>,
}

impl<'a> SubscriptionState<'a> {
    pub fn parse(s: &'a str) -> Result<SubscriptionState<'a>> {
        let (state, params) =
            token_and_params(s).ok_or_else(|| ParseError::header("Subscription-State"))?;
        Ok(SubscriptionState { state, params })
    }

    pub fn expires(&self) -> Option<u32> {
        self.params
            .get("expires")
            .flatten()
            .and_then(super::numeric::parse_delta)
    }

    pub fn reason(&self) -> Option<&'a str> {
        self.params.get("reason").flatten()
    }
}

fn token_and_params(s: &str) -> Option<(&str, Params<'_>)> {
    let mut sc = Scanner::new(s);
    sc.skip_lws();
    let t = sc.token()?;
    let p = Params::parse(&mut sc)?;
    sc.skip_lws();
    sc.is_empty().then_some((t, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_and_state() {
        let e = Event::parse("presence.winfo ; id=7").expect("event");
        assert_eq!((e.package, e.id()), ("presence.winfo", Some("7")));
        let s = SubscriptionState::parse("terminated;reason=timeout;expires=0").expect("state");
        assert_eq!(
            (s.state, s.reason(), s.expires()),
            ("terminated", Some("timeout"), Some(0))
        );
        assert!(Event::parse("").is_err());
        assert!(Event::parse("a b").is_err());
    }
}
