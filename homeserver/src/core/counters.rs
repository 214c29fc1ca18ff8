//! The engine's per-message counters, looked up once. `metrics::counter!` finds its
//! counter in the recorder's registry (hashing the name and labels) on every call; for
//! counters bumped on every REGISTER, MESSAGE and NOTIFY the engine keeps the handles.

use metrics::Counter;

pub(super) struct Counters {
    /// `herald_registrations_total`
    pub registrations: Counter,
    /// `herald_notifies_total`
    pub notifies: Counter,
    /// `herald_messages_total{outcome="delivered" | "refused" | "other"}`
    pub messages_delivered: Counter,
    pub messages_refused: Counter,
    pub messages_other: Counter,
}

impl Counters {
    pub fn new() -> Counters {
        Counters {
            registrations: metrics::counter!("herald_registrations_total"),
            notifies: metrics::counter!("herald_notifies_total"),
            messages_delivered: messages("delivered"),
            messages_refused: messages("refused"),
            messages_other: messages("other"),
        }
    }
}

/// `herald_messages_total` with its outcome.
fn messages(outcome: &'static str) -> Counter {
    metrics::counter!("herald_messages_total", "outcome" => outcome)
}
