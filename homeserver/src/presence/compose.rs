//! One view of a presentity from what its devices published and what the server knows
//! (registrations, calls). The policy, in order:
//! 1. Nothing published: the server's own view (automatic presence) — open if the user
//!    has a registered device, closed if not.
//! 2. Something published: every tuple of every live publication is kept (a tuple id
//!    published twice keeps the newest); the basic status is open if any tuple is open
//!    (the most available device wins).
//! 3. Activities and notes come from the newest publication that has any; a tie in time
//!    goes to the publication whose open tuple has the highest contact priority.
//! 4. A call through the server adds `on-the-phone` whatever was published (what LCS did
//!    through PBX coupling).

use super::pidf::{Basic, Pidf, Tuple};

/// One live publication (RFC 3903) of a presentity.
#[derive(Debug, Clone)]
pub struct Publication {
    pub doc: Pidf,
    /// When it was published or last modified (seconds).
    pub at: u64,
}

/// What the server knows of the presentity besides publications.
#[derive(Debug, Clone, Copy, Default)]
pub struct Observed {
    pub registered: bool,
    pub in_call: bool,
}

/// The composed document for `entity`.
pub fn compose(entity: &str, pubs: &[Publication], seen: Observed) -> Pidf {
    let mut out = Pidf {
        entity: entity.to_owned(),
        ..Pidf::default()
    };
    if pubs.is_empty() {
        out.tuples.push(Tuple {
            id: "herald".into(),
            basic: Some(if seen.registered {
                Basic::Open
            } else {
                Basic::Closed
            }),
            ..Tuple::default()
        });
    } else {
        let mut newest_first: Vec<&Publication> = pubs.iter().collect();
        newest_first.sort_by(|a, b| {
            b.at.cmp(&a.at).then(
                top_priority(&b.doc)
                    .partial_cmp(&top_priority(&a.doc))
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
        });
        for p in &newest_first {
            for t in &p.doc.tuples {
                if !out.tuples.iter().any(|o| o.id == t.id) {
                    out.tuples.push(t.clone());
                }
            }
        }
        if let Some(p) = newest_first.iter().find(|p| !p.doc.activities.is_empty()) {
            out.activities = p.doc.activities.clone();
        }
        if let Some(p) = newest_first.iter().find(|p| !p.doc.notes.is_empty()) {
            out.notes = p.doc.notes.clone();
        }
    }
    if seen.in_call && !out.activities.iter().any(|a| a == "on-the-phone") {
        out.activities.push("on-the-phone".into());
    }
    out
}

/// The highest contact priority among the open tuples (0 when none says).
fn top_priority(doc: &Pidf) -> f32 {
    doc.tuples
        .iter()
        .filter(|t| t.basic == Some(Basic::Open))
        .map(|t| t.priority.unwrap_or(0.0))
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(tuple: &str, basic: Basic, activities: &[&str], note: &str, priority: f32) -> Pidf {
        Pidf {
            entity: "sip:a@example.com".into(),
            tuples: vec![Tuple {
                id: tuple.into(),
                basic: Some(basic),
                priority: Some(priority),
                ..Tuple::default()
            }],
            activities: activities.iter().map(|a| (*a).to_owned()).collect(),
            notes: if note.is_empty() {
                vec![]
            } else {
                vec![note.into()]
            },
        }
    }

    #[test]
    fn automatic_presence_without_publications() {
        let on = compose(
            "sip:a@example.com",
            &[],
            Observed {
                registered: true,
                in_call: false,
            },
        );
        assert!(on.is_open());
        let off = compose("sip:a@example.com", &[], Observed::default());
        assert!(!off.is_open());
        let calling = compose(
            "sip:a@example.com",
            &[],
            Observed {
                registered: true,
                in_call: true,
            },
        );
        assert_eq!(calling.activities, vec!["on-the-phone".to_owned()]);
    }

    #[test]
    fn most_available_wins_and_newest_activities_and_notes() {
        let phone = Publication {
            doc: doc("phone", Basic::Closed, &["meeting"], "In a meeting", 0.5),
            at: 100,
        };
        let pc = Publication {
            doc: doc("pc", Basic::Open, &["away"], "", 0.9),
            at: 200,
        };
        let v = compose(
            "sip:a@example.com",
            &[phone.clone(), pc.clone()],
            Observed::default(),
        );
        assert!(v.is_open(), "one open device makes the person open");
        assert_eq!(v.tuples.len(), 2);
        assert_eq!(
            v.activities,
            vec!["away".to_owned()],
            "newest publication with activities"
        );
        assert_eq!(
            v.notes,
            vec!["In a meeting".to_owned()],
            "newest publication with notes"
        );
        // Same time: the higher-priority open device decides.
        let phone_now = Publication {
            at: 200,
            doc: doc("phone", Basic::Open, &["busy"], "", 0.2),
        };
        let v = compose("sip:a@example.com", &[phone_now, pc], Observed::default());
        assert_eq!(v.activities, vec!["away".to_owned()]);
    }

    #[test]
    fn a_call_adds_on_the_phone_to_what_was_published() {
        let p = Publication {
            doc: doc("pc", Basic::Open, &["away"], "", 1.0),
            at: 1,
        };
        let v = compose(
            "sip:a@example.com",
            &[p],
            Observed {
                registered: true,
                in_call: true,
            },
        );
        assert_eq!(
            v.activities,
            vec!["away".to_owned(), "on-the-phone".to_owned()]
        );
    }
}
