//! Documents sent to watchers besides PIDF: watcher information (RFC 3858) for
//! `presence.winfo` subscribers, and the multipart/related body of a resource list
//! NOTIFY (RFC 4662 §5: an RLMI document first, then one PIDF part per resource).

use super::xml::escape;

/// One watcher of a presentity, as watcher information shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatcherEntry {
    pub id: String,
    pub uri: String,
    /// `active`, `pending` or `terminated`.
    pub status: &'static str,
    /// `subscribe`, `approved`, `timeout`, … (RFC 3857 §3.3).
    pub event: &'static str,
}

/// A full-state watcherinfo document for `resource`.
pub fn watcherinfo(resource: &str, version: u32, watchers: &[WatcherEntry]) -> String {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" version=\"{version}\" state=\"full\">\n\
         <watcher-list resource=\"{}\" package=\"presence\">\n",
        escape(resource)
    );
    for w in watchers {
        s.push_str(&format!(
            "<watcher id=\"{}\" event=\"{}\" status=\"{}\">{}</watcher>\n",
            escape(&w.id),
            w.event,
            w.status,
            escape(&w.uri)
        ));
    }
    s.push_str("</watcher-list>\n</watcherinfo>\n");
    s
}

/// The state of one resource of a list subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instance {
    /// Active, with its PIDF document.
    Active(String),
    Pending,
    /// Terminated with a reason (`rejected`, `noresource`).
    Terminated(&'static str),
}

/// One resource of a list NOTIFY.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub uri: String,
    pub name: Option<String>,
    pub instance: Instance,
}

/// The boundary between parts (it never occurs in the XML parts, whose text is escaped).
pub const BOUNDARY: &str = "herald-rlmi-boundary-7f3a";

/// The Content-Type of a list NOTIFY body.
pub fn rlmi_content_type() -> String {
    format!(
        "multipart/related;type=\"application/rlmi+xml\";start=\"<rlmi@herald>\";boundary=\"{BOUNDARY}\""
    )
}

/// A list NOTIFY body: `resources` are all of them (`full`) or those that changed.
pub fn rlmi(
    list_uri: &str,
    list_name: &str,
    version: u32,
    full: bool,
    resources: &[Resource],
) -> String {
    let mut rlmi = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <list xmlns=\"urn:ietf:params:xml:ns:rlmi\" uri=\"{}\" version=\"{version}\" fullState=\"{full}\">\n\
         <name>{}</name>\n",
        escape(list_uri),
        escape(list_name)
    );
    let mut parts = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        rlmi.push_str(&format!("<resource uri=\"{}\">", escape(&r.uri)));
        if let Some(n) = &r.name {
            rlmi.push_str(&format!("<name>{}</name>", escape(n)));
        }
        let id = format!("r{i}");
        match &r.instance {
            Instance::Active(doc) => {
                let cid = format!("{id}.{version}@herald");
                rlmi.push_str(&format!(
                    "<instance id=\"{id}\" state=\"active\" cid=\"{cid}\"/>"
                ));
                parts.push((cid, doc));
            }
            Instance::Pending => {
                rlmi.push_str(&format!("<instance id=\"{id}\" state=\"pending\"/>"));
            }
            Instance::Terminated(reason) => rlmi.push_str(&format!(
                "<instance id=\"{id}\" state=\"terminated\" reason=\"{reason}\"/>"
            )),
        }
        rlmi.push_str("</resource>\n");
    }
    rlmi.push_str("</list>\n");
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <rlmi@herald>\r\n\
         Content-Type: application/rlmi+xml;charset=\"UTF-8\"\r\n\r\n{rlmi}\r\n"
    );
    for (cid, doc) in parts {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{cid}>\r\n\
             Content-Type: application/pidf+xml;charset=\"UTF-8\"\r\n\r\n{doc}\r\n"
        ));
    }
    body.push_str(&format!("--{BOUNDARY}--\r\n"));
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watcherinfo_lists_watchers() {
        let doc = watcherinfo(
            "sip:alice@example.com",
            3,
            &[WatcherEntry {
                id: "w1".into(),
                uri: "sip:bob@example.com".into(),
                status: "pending",
                event: "subscribe",
            }],
        );
        let root = crate::presence::xml::parse(doc.as_bytes(), "watcherinfo", &Default::default())
            .unwrap();
        assert_eq!(root.attr("version"), Some("3"));
        let w = root
            .first("watcher-list")
            .unwrap()
            .first("watcher")
            .unwrap();
        assert_eq!(
            (w.attr("status"), w.text.as_str()),
            (Some("pending"), "sip:bob@example.com")
        );
    }

    #[test]
    fn rlmi_has_one_part_per_active_resource() {
        let body = rlmi(
            "sip:alice-list@example.com",
            "Buddies",
            1,
            true,
            &[
                Resource {
                    uri: "sip:bob@example.com".into(),
                    name: Some("Bob".into()),
                    instance: Instance::Active("<presence/>".into()),
                },
                Resource {
                    uri: "sip:carol@example.com".into(),
                    name: None,
                    instance: Instance::Pending,
                },
            ],
        );
        assert_eq!(body.matches(&format!("--{BOUNDARY}\r\n")).count(), 2);
        assert!(body.contains("Content-ID: <r0.1@herald>") && body.contains("cid=\"r0.1@herald\""));
        assert!(body.contains("fullState=\"true\"") && body.contains("state=\"pending\""));
        assert!(body.ends_with(&format!("--{BOUNDARY}--\r\n")));
    }
}
