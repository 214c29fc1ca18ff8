//! A small element tree for the XCAP documents (resource lists, presence rules), read
//! with the same guards as presence documents: quick-xml's reader (no entity expansion
//! beyond the predefined five, nothing external), DOCTYPE refused, size and depth capped.

use quick_xml::{events::Event, Reader};

/// Caps on a document.
#[derive(Debug, Clone, Copy)]
pub struct XmlLimits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits {
            max_bytes: 256 * 1024,
            max_depth: 16,
            max_elements: 20_000,
        }
    }
}

/// Why a document was refused (the message goes into the 400 / 409 answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    #[error("document larger than {0} bytes")]
    TooLarge(usize),
    #[error("document nested deeper than {0} elements")]
    TooDeep(usize),
    #[error("more than {0} elements")]
    TooMany(usize),
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    #[error("root element is {found:?}, expected {expected:?}")]
    Root { found: String, expected: String },
    #[error("malformed XML: {0}")]
    Malformed(String),
}

/// An element: local name (namespace prefix dropped), attributes, text, children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Children named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn first(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Parses `xml`, whose root must be named `root`.
pub fn parse(xml: &[u8], root: &str, limits: &XmlLimits) -> Result<Element, XmlError> {
    if xml.len() > limits.max_bytes {
        return Err(XmlError::TooLarge(limits.max_bytes));
    }
    let text = std::str::from_utf8(xml).map_err(|_| XmlError::Malformed("not UTF-8".into()))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0usize;
    let mut done: Option<Element> = None;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        match ev {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Start(ref e) | Event::Empty(ref e) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooMany(limits.max_elements));
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if stack.is_empty() && (done.is_some() || name != root) {
                    return Err(XmlError::Root {
                        found: name,
                        expected: root.to_owned(),
                    });
                }
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|e| XmlError::Malformed(e.to_string()))?;
                    let v = a
                        .unescape_value()
                        .map_err(|e| XmlError::Malformed(e.to_string()))?;
                    let k = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                    attrs.push((k, v.into_owned()));
                }
                let el = Element {
                    name,
                    attrs,
                    ..Element::default()
                };
                if matches!(ev, Event::Empty(_)) {
                    close(&mut stack, &mut done, el);
                } else {
                    stack.push(el);
                    if stack.len() > limits.max_depth {
                        return Err(XmlError::TooDeep(limits.max_depth));
                    }
                }
            }
            Event::End(_) => {
                if let Some(el) = stack.pop() {
                    close(&mut stack, &mut done, el);
                }
            }
            Event::Text(t) => {
                let v = t
                    .unescape()
                    .map_err(|e| XmlError::Malformed(e.to_string()))?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(v.trim());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("unclosed element".into()));
    }
    done.ok_or_else(|| XmlError::Root {
        found: String::new(),
        expected: root.to_owned(),
    })
}

fn close(stack: &mut [Element], done: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *done = Some(el),
    }
}

/// Escapes text for an XML attribute or element.
pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_tree_and_refuses_what_it_must() {
        let doc =
            br#"<?xml version="1.0"?><a:root xmlns:a="urn:x" k="v"><b>t &amp; u</b><c/></a:root>"#;
        let root = parse(doc, "root", &XmlLimits::default()).unwrap();
        assert_eq!(root.attr("k"), Some("v"));
        assert_eq!(root.first("b").unwrap().text, "t & u");
        assert!(root.first("c").is_some());
        let bomb = br#"<!DOCTYPE r [<!ENTITY a "aaaa">]><root>&a;</root>"#;
        assert_eq!(
            parse(bomb, "root", &XmlLimits::default()),
            Err(XmlError::Doctype)
        );
        let deep = format!("{}{}", "<root>".repeat(100), "</root>".repeat(100));
        assert_eq!(
            parse(deep.as_bytes(), "root", &XmlLimits::default()),
            Err(XmlError::TooDeep(16))
        );
        assert!(matches!(
            parse(b"<other/>", "root", &XmlLimits::default()),
            Err(XmlError::Root { .. })
        ));
        assert!(parse(b"<root><x></root>", "root", &XmlLimits::default()).is_err());
    }
}
