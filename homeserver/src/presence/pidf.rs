//! PIDF (RFC 3863) with the RPID activities (RFC 4480) and notes that clients show:
//! parsing what a PUBLISH carries, and writing what a NOTIFY sends.
//!
//! The parser is quick-xml's event reader, which never expands entities other than the
//! five predefined ones and never loads external resources. On top of that a document
//! with a DOCTYPE is refused outright (that is where entity bombs and external entities
//! would be declared), and the size and element depth are capped.

use quick_xml::{events::Event, Reader};

/// Caps on a presence document.
#[derive(Debug, Clone, Copy)]
pub struct PidfLimits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_tuples: usize,
}

impl Default for PidfLimits {
    fn default() -> Self {
        PidfLimits {
            max_bytes: 16 * 1024,
            max_depth: 16,
            max_tuples: 32,
        }
    }
}

/// Why a presence document was refused; the message names the problem (for the 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PidfError {
    #[error("presence document larger than {0} bytes")]
    TooLarge(usize),
    #[error("presence document nested deeper than {0} elements")]
    TooDeep(usize),
    #[error("more than {0} tuples")]
    TooManyTuples(usize),
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    #[error("not a PIDF document (root element is {0:?})")]
    NotPidf(String),
    #[error("malformed XML: {0}")]
    Xml(String),
}

/// `basic` status of a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basic {
    Open,
    Closed,
}

/// One tuple: a device or service of the presentity.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tuple {
    pub id: String,
    pub basic: Option<Basic>,
    pub contact: Option<String>,
    /// `priority` of the contact, 0.0 to 1.0.
    pub priority: Option<f32>,
    pub timestamp: Option<String>,
    pub notes: Vec<String>,
}

/// A presence document, as far as Herald uses it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pidf {
    pub entity: String,
    pub tuples: Vec<Tuple>,
    /// RPID activities of the person (`away`, `busy`, `on-the-phone`, `meeting`, …).
    pub activities: Vec<String>,
    /// Notes of the person or the document.
    pub notes: Vec<String>,
}

impl Pidf {
    /// Whether any tuple is open.
    pub fn is_open(&self) -> bool {
        self.tuples.iter().any(|t| t.basic == Some(Basic::Open))
    }
}

/// Where a `note` or `activities` child belongs.
#[derive(Clone, Copy, PartialEq)]
enum Scope {
    Document,
    Tuple,
    Person,
}

/// Parses a PIDF document.
pub fn parse(xml: &[u8], limits: &PidfLimits) -> Result<Pidf, PidfError> {
    if xml.len() > limits.max_bytes {
        return Err(PidfError::TooLarge(limits.max_bytes));
    }
    let text = std::str::from_utf8(xml).map_err(|_| PidfError::Xml("not UTF-8".into()))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut doc = Pidf::default();
    let mut stack: Vec<String> = Vec::new();
    let mut scope = Scope::Document;
    let mut in_activities = false;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| PidfError::Xml(e.to_string()))?;
        let empty = matches!(ev, Event::Empty(_));
        match ev {
            Event::DocType(_) => return Err(PidfError::Doctype),
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if stack.is_empty() {
                    if name != "presence" {
                        return Err(PidfError::NotPidf(name));
                    }
                    doc.entity = attr(&e, "entity").unwrap_or_default();
                }
                match name.as_str() {
                    "tuple" => {
                        if doc.tuples.len() >= limits.max_tuples {
                            return Err(PidfError::TooManyTuples(limits.max_tuples));
                        }
                        doc.tuples.push(Tuple {
                            id: attr(&e, "id").unwrap_or_default(),
                            ..Tuple::default()
                        });
                        scope = Scope::Tuple;
                    }
                    "person" => scope = Scope::Person,
                    "activities" => in_activities = true,
                    "contact" if scope == Scope::Tuple => {
                        if let Some(t) = doc.tuples.last_mut() {
                            t.priority = attr(&e, "priority").and_then(|p| p.parse().ok());
                        }
                    }
                    other if in_activities && other != "other" => {
                        doc.activities.push(other.to_owned());
                    }
                    _ => {}
                }
                if !empty {
                    stack.push(name);
                    if stack.len() > limits.max_depth {
                        return Err(PidfError::TooDeep(limits.max_depth));
                    }
                } else if name == "activities" {
                    in_activities = false;
                }
            }
            Event::End(_) => match stack.pop().as_deref() {
                Some("tuple" | "person") => scope = Scope::Document,
                Some("activities") => in_activities = false,
                _ => {}
            },
            Event::Text(t) => {
                let value = t.unescape().map_err(|e| PidfError::Xml(e.to_string()))?;
                let value = value.trim().to_owned();
                let Some(element) = stack.last().map(String::as_str) else {
                    continue;
                };
                match (element, scope) {
                    ("basic", Scope::Tuple) => {
                        if let Some(t) = doc.tuples.last_mut() {
                            t.basic = match value.as_str() {
                                "open" => Some(Basic::Open),
                                "closed" => Some(Basic::Closed),
                                _ => None,
                            };
                        }
                    }
                    ("contact", Scope::Tuple) => {
                        if let Some(t) = doc.tuples.last_mut() {
                            t.contact = Some(value);
                        }
                    }
                    ("timestamp", Scope::Tuple) => {
                        if let Some(t) = doc.tuples.last_mut() {
                            t.timestamp = Some(value);
                        }
                    }
                    ("note", Scope::Tuple) => {
                        if let Some(t) = doc.tuples.last_mut() {
                            t.notes.push(value);
                        }
                    }
                    ("note", _) => doc.notes.push(value),
                    ("other", _) if in_activities => doc.activities.push(value),
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if doc.entity.is_empty() && doc.tuples.is_empty() {
        return Err(PidfError::NotPidf(String::new()));
    }
    Ok(doc)
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Writes a document (PIDF with the RPID namespace for activities).
pub fn to_xml(doc: &Pidf) -> String {
    let mut s = String::with_capacity(512);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" \
         xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" \
         xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"{}\">\n",
        escape(&doc.entity)
    ));
    for t in &doc.tuples {
        s.push_str(&format!("  <tuple id=\"{}\">\n", escape(&t.id)));
        if let Some(b) = t.basic {
            let b = if b == Basic::Open { "open" } else { "closed" };
            s.push_str(&format!("    <status><basic>{b}</basic></status>\n"));
        }
        if let Some(c) = &t.contact {
            match t.priority {
                Some(p) => s.push_str(&format!(
                    "    <contact priority=\"{p}\">{}</contact>\n",
                    escape(c)
                )),
                None => s.push_str(&format!("    <contact>{}</contact>\n", escape(c))),
            }
        }
        for n in &t.notes {
            s.push_str(&format!("    <note>{}</note>\n", escape(n)));
        }
        if let Some(ts) = &t.timestamp {
            s.push_str(&format!("    <timestamp>{}</timestamp>\n", escape(ts)));
        }
        s.push_str("  </tuple>\n");
    }
    if !doc.activities.is_empty() {
        s.push_str("  <dm:person id=\"p\">\n    <rpid:activities>");
        for a in &doc.activities {
            if is_registered_activity(a) {
                s.push_str(&format!("<rpid:{a}/>"));
            } else {
                s.push_str(&format!("<rpid:other>{}</rpid:other>", escape(a)));
            }
        }
        s.push_str("</rpid:activities>\n  </dm:person>\n");
    }
    for n in &doc.notes {
        s.push_str(&format!("  <note>{}</note>\n", escape(n)));
    }
    s.push_str("</presence>\n");
    s
}

/// The activity names of RFC 4480 §3.2 (written as elements; others as `<other>`).
fn is_registered_activity(a: &str) -> bool {
    matches!(
        a,
        "appointment"
            | "away"
            | "breakfast"
            | "busy"
            | "dinner"
            | "holiday"
            | "in-transit"
            | "looking-for-work"
            | "lunch"
            | "meal"
            | "meeting"
            | "on-the-phone"
            | "performance"
            | "permanent-absence"
            | "playing"
            | "presentation"
            | "shopping"
            | "sleeping"
            | "spectator"
            | "steering"
            | "travel"
            | "tv"
            | "unknown"
            | "vacation"
            | "working"
            | "worship"
    )
}

fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

#[cfg(test)]
mod tests;
