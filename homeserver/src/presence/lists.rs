//! Buddy lists as resource-lists documents (RFC 4826): `<list name="…">` elements are the
//! groups (nested lists name sub-groups by their innermost list), `<entry uri="…">` the
//! buddies, with an optional `<display-name>`; document order is the user's order.

use super::xml::{parse as parse_xml, Element, XmlError, XmlLimits};

/// The XCAP application of buddy lists.
pub const AUID: &str = "resource-lists";

/// One buddy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buddy {
    pub uri: String,
    pub display_name: Option<String>,
    /// The name of the list (group) it is in; empty at the top level.
    pub group: String,
}

/// The buddies of a resource-lists document, in document order (a URI listed twice is
/// kept once, at its first place).
pub fn parse(xml: &[u8]) -> Result<Vec<Buddy>, XmlError> {
    let root = parse_xml(xml, "resource-lists", &XmlLimits::default())?;
    let mut out: Vec<Buddy> = Vec::new();
    for list in root.all("list") {
        collect(list, &mut out);
    }
    Ok(out)
}

fn collect(list: &Element, out: &mut Vec<Buddy>) {
    let group = list.attr("name").unwrap_or_default();
    for child in &list.children {
        match child.name.as_str() {
            "entry" => {
                let Some(uri) = child.attr("uri") else {
                    continue;
                };
                if out.iter().any(|b| b.uri == uri) {
                    continue;
                }
                out.push(Buddy {
                    uri: uri.to_owned(),
                    display_name: child
                        .first("display-name")
                        .map(|d| d.text.clone())
                        .filter(|d| !d.is_empty()),
                    group: group.to_owned(),
                });
            }
            "list" => collect(child, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_names_and_order() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="Team">
    <entry uri="sip:bob@example.com"><display-name>Bob B.</display-name></entry>
    <entry uri="sip:carol@example.com"/>
    <list name="Managers"><entry uri="sip:dave@example.com"/></list>
  </list>
  <list name="Friends"><entry uri="sip:bob@example.com"/><entry uri="sip:erin@example.com"/></list>
</resource-lists>"#;
        let b = parse(doc).unwrap();
        let uris: Vec<&str> = b.iter().map(|b| b.uri.as_str()).collect();
        assert_eq!(
            uris,
            [
                "sip:bob@example.com",
                "sip:carol@example.com",
                "sip:dave@example.com",
                "sip:erin@example.com"
            ]
        );
        assert_eq!(b[0].display_name.as_deref(), Some("Bob B."));
        assert_eq!(
            (
                b[0].group.as_str(),
                b[2].group.as_str(),
                b[3].group.as_str()
            ),
            ("Team", "Managers", "Friends")
        );
        assert!(parse(b"<pidf/>").is_err());
    }
}
