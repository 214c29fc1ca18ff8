//! Presence without I/O: presence documents (PIDF/RPID), the composition policy, the
//! PUBLISH rules, subscription dialogs and their NOTIFYs, buddy lists (resource-lists),
//! authorization rules (pres-rules), and the documents sent to watchers (watcher
//! information, RLMI). The engine (`core/`) drives them.

pub mod compose;
pub mod documents;
pub mod lists;
pub mod pidf;
pub mod publish;
pub mod rules;
pub mod subscription;
pub mod xml;

/// Checks a document of an XCAP application (`resource-lists` or `pres-rules`) before it
/// is stored, whoever writes it (XCAP clients, the admin API).
pub fn check_document(auid: &str, body: &[u8]) -> Result<(), xml::XmlError> {
    match auid {
        lists::AUID => lists::parse(body).map(|_| ()),
        _ => rules::parse(body).map(|_| ()),
    }
}
