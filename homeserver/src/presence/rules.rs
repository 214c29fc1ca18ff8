//! Who may see whom: presence authorization rules (RFC 5025 on RFC 4745 common policy)
//! and the server's default when no rule matches.
//!
//! A rule's conditions are identities (`<one id>`, `<many domain>` with `<except>`), or
//! nothing (it matches everyone); its action is a `sub-handling` of block, confirm,
//! polite-block or allow. When several rules match, the most permissive wins (RFC 4745
//! §10). When none does, the configured default applies: everyone in the owner's domain,
//! or only the owner's buddies; other watchers wait for approval (confirm). A user always
//! sees their own presence.

use super::{
    lists::Buddy,
    xml::{parse as parse_xml, Element, XmlError, XmlLimits},
};
use crate::store::Aor;

/// The XCAP application of presence rules.
pub const AUID: &str = "pres-rules";

/// What a watcher gets, ordered from least to most permissive (RFC 5025 §3.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Handling {
    /// Refused (403).
    Block,
    /// Pending until the owner decides (watcher information tells them).
    Confirm,
    /// Accepted, but always shown offline.
    PoliteBlock,
    Allow,
}

impl Handling {
    /// The `sub-handling` value (RFC 5025 §3.2.1).
    pub fn name(self) -> &'static str {
        match self {
            Handling::Allow => "allow",
            Handling::PoliteBlock => "polite-block",
            Handling::Confirm => "confirm",
            Handling::Block => "block",
        }
    }

    pub fn from_name(name: &str) -> Option<Handling> {
        [
            Handling::Allow,
            Handling::PoliteBlock,
            Handling::Confirm,
            Handling::Block,
        ]
        .into_iter()
        .find(|h| h.name() == name)
    }
}

/// Who is allowed when no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultPolicy {
    /// Everyone in the owner's domain.
    SameDomain,
    /// Only the owner's buddies.
    Buddies,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    /// `None`: no identity condition (matches everyone).
    pub identities: Option<Vec<Identity>>,
    pub handling: Handling,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    One(String),
    Many {
        domain: Option<String>,
        except: Vec<String>,
    },
}

/// Parses a pres-rules document.
pub fn parse(xml: &[u8]) -> Result<Vec<Rule>, XmlError> {
    let root = parse_xml(xml, "ruleset", &XmlLimits::default())?;
    Ok(root.all("rule").map(rule).collect())
}

fn rule(r: &Element) -> Rule {
    let conditions = r.first("conditions");
    // A condition this server does not evaluate (validity, sphere, external lists, …)
    // must not widen the rule to everyone: such a rule matches nobody (RFC 4745 §10
    // combines only rules whose every condition holds).
    let unknown = conditions.is_some_and(|c| c.children.iter().any(|k| k.name != "identity"));
    let identities = if unknown {
        Some(Vec::new())
    } else {
        conditions.and_then(|c| c.first("identity")).map(|id| {
            id.children
                .iter()
                .filter_map(|i| match i.name.as_str() {
                    "one" => i.attr("id").map(|s| Identity::One(normalise(s))),
                    "many" => Some(Identity::Many {
                        domain: i.attr("domain").map(str::to_ascii_lowercase),
                        except: i
                            .all("except")
                            .filter_map(|e| {
                                e.attr("id").map(normalise).or_else(|| {
                                    e.attr("domain")
                                        .map(|d| format!("@{}", d.to_ascii_lowercase()))
                                })
                            })
                            .collect(),
                    }),
                    _ => None,
                })
                .collect()
        })
    };
    let handling = r
        .first("actions")
        .and_then(|a| a.first("sub-handling"))
        .and_then(|s| Handling::from_name(&s.text))
        .unwrap_or(Handling::Block);
    Rule {
        id: r.attr("id").unwrap_or_default().to_owned(),
        identities,
        handling,
    }
}

/// `sip:Bob@Example.com` → `bob@example.com` (how AORs compare).
fn normalise(uri: &str) -> String {
    let s = uri.trim();
    let s = s
        .strip_prefix("sip:")
        .or_else(|| s.strip_prefix("sips:"))
        .or_else(|| s.strip_prefix("pres:"))
        .unwrap_or(s);
    s.split(';').next().unwrap_or(s).to_ascii_lowercase()
}

fn matches(rule: &Rule, watcher: &Aor) -> bool {
    let Some(ids) = &rule.identities else {
        return true;
    };
    let w = watcher.as_str().to_ascii_lowercase();
    ids.iter().any(|i| match i {
        Identity::One(id) => *id == w,
        Identity::Many { domain, except } => {
            let excluded = except.iter().any(|e| match e.strip_prefix('@') {
                Some(d) => d.eq_ignore_ascii_case(watcher.domain()),
                None => *e == w,
            });
            domain
                .as_deref()
                .is_none_or(|d| d.eq_ignore_ascii_case(watcher.domain()))
                && !excluded
        }
    })
}

/// The handling of `watcher` subscribing to `owner`'s presence.
pub fn decide(
    rules: &[Rule],
    buddies: &[Buddy],
    owner: &Aor,
    watcher: &Aor,
    policy: DefaultPolicy,
) -> Handling {
    if owner == watcher {
        return Handling::Allow;
    }
    if let Some(h) = rules
        .iter()
        .filter(|r| matches(r, watcher))
        .map(|r| r.handling)
        .max()
    {
        return h;
    }
    let allowed = match policy {
        DefaultPolicy::SameDomain => watcher.domain().eq_ignore_ascii_case(owner.domain()),
        DefaultPolicy::Buddies => buddies
            .iter()
            .any(|b| normalise(&b.uri) == watcher.as_str().to_ascii_lowercase()),
    };
    if allowed {
        Handling::Allow
    } else {
        Handling::Confirm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aor(s: &str) -> Aor {
        Aor::parse(s).unwrap()
    }

    const RULES: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">
  <cr:rule id="block-mallory"><cr:conditions><cr:identity><cr:one id="sip:mallory@example.com"/></cr:identity></cr:conditions>
    <cr:actions><sub-handling>block</sub-handling></cr:actions><cr:transformations/></cr:rule>
  <cr:rule id="hide-from-eve"><cr:conditions><cr:identity><cr:one id="sip:Eve@Example.com"/></cr:identity></cr:conditions>
    <cr:actions><sub-handling>polite-block</sub-handling></cr:actions></cr:rule>
  <cr:rule id="partners"><cr:conditions><cr:identity><cr:many domain="partner.example"><cr:except id="sip:spy@partner.example"/></cr:many></cr:identity></cr:conditions>
    <cr:actions><sub-handling>allow</sub-handling></cr:actions></cr:rule>
</cr:ruleset>"#;

    #[test]
    fn rules_then_the_default() {
        let rules = parse(RULES).unwrap();
        let owner = aor("alice@example.com");
        let d = |w: &str, p| decide(&rules, &[], &owner, &aor(w), p);
        assert_eq!(
            d("mallory@example.com", DefaultPolicy::SameDomain),
            Handling::Block
        );
        assert_eq!(
            d("eve@example.com", DefaultPolicy::SameDomain),
            Handling::PoliteBlock
        );
        assert_eq!(
            d("joe@partner.example", DefaultPolicy::SameDomain),
            Handling::Allow
        );
        assert_eq!(
            d("spy@partner.example", DefaultPolicy::SameDomain),
            Handling::Confirm
        );
        assert_eq!(
            d("bob@example.com", DefaultPolicy::SameDomain),
            Handling::Allow
        );
        assert_eq!(
            d("bob@example.com", DefaultPolicy::Buddies),
            Handling::Confirm
        );
        assert_eq!(
            d("alice@example.com", DefaultPolicy::Buddies),
            Handling::Allow
        );
        let buddies = [Buddy {
            uri: "sip:bob@example.com".into(),
            display_name: None,
            group: String::new(),
        }];
        assert_eq!(
            decide(
                &rules,
                &buddies,
                &owner,
                &aor("bob@example.com"),
                DefaultPolicy::Buddies
            ),
            Handling::Allow
        );
    }

    #[test]
    fn unknown_conditions_and_domain_exceptions_do_not_widen_a_rule() {
        let doc = br#"<ruleset><rule id="buddies"><conditions><external-list><entry anc="http://x/buddies"/></external-list></conditions><actions><sub-handling>allow</sub-handling></actions></rule>
<rule id="all-but"><conditions><identity><many><except domain="rival.example"/></many></identity></conditions><actions><sub-handling>allow</sub-handling></actions></rule></ruleset>"#;
        let rules = parse(doc).unwrap();
        let owner = aor("alice@example.com");
        let d = |w: &str| decide(&rules, &[], &owner, &aor(w), DefaultPolicy::Buddies);
        assert_eq!(
            d("joe@rival.example"),
            Handling::Confirm,
            "excepted domain, and the external-list rule matches nobody"
        );
        assert_eq!(d("joe@partner.example"), Handling::Allow);
    }

    #[test]
    fn the_most_permissive_matching_rule_wins() {
        let doc = br#"<ruleset><rule id="a"><conditions/><actions><sub-handling>confirm</sub-handling></actions></rule>
<rule id="b"><conditions><identity><one id="sip:bob@example.com"/></identity></conditions><actions><sub-handling>allow</sub-handling></actions></rule></ruleset>"#;
        let rules = parse(doc).unwrap();
        let owner = aor("alice@example.com");
        assert_eq!(
            decide(
                &rules,
                &[],
                &owner,
                &aor("bob@example.com"),
                DefaultPolicy::SameDomain
            ),
            Handling::Allow
        );
        assert_eq!(
            decide(
                &rules,
                &[],
                &owner,
                &aor("carl@example.com"),
                DefaultPolicy::SameDomain
            ),
            Handling::Confirm
        );
    }
}
