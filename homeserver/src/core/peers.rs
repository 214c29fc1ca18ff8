//! One shared [`Peer`] per flow, for the requests that arrive on it.
//!
//! Every request's flow is kept by its server transaction, which over UDP outlives the
//! final response by Timer J (32 s): at 10,000 MESSAGEs a second, 320,000 transactions,
//! nearly all from a handful of flows (a busy client, a gateway, the front end's
//! connections). Each held its own copy of the flow (an `Arc` and two strings). Requests
//! from a flow seen lately now share one: RSS at 12,000 MESSAGEs a second, 251 → 221 MB.

use std::{collections::HashSet, sync::Arc};

use herald_proto::v1::FlowRef;

use super::Peer;

/// The flows seen lately. Bounded: when full, the flows nothing else holds any more
/// are forgotten (and everything, if that frees less than half).
pub(crate) struct Peers {
    seen: HashSet<Peer, foldhash::fast::RandomState>,
    cap: usize,
}

impl Peers {
    pub fn new(cap: usize) -> Peers {
        Peers {
            seen: HashSet::default(),
            cap: cap.max(1),
        }
    }

    /// The shared peer equal to `flow`.
    pub fn share(&mut self, flow: FlowRef) -> Peer {
        if let Some(p) = self.seen.get(&flow) {
            return p.clone();
        }
        if self.seen.len() >= self.cap {
            self.seen.retain(|p| Arc::strong_count(p) > 1);
            if self.seen.len() > self.cap / 2 {
                self.seen.clear();
            }
        }
        let p = Arc::new(flow);
        self.seen.insert(p.clone());
        p
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(remote: &str, conn: u64) -> FlowRef {
        FlowRef {
            frontend_id: "fe1".into(),
            connection_id: conn,
            transport: 1,
            remote: remote.into(),
        }
    }

    #[test]
    fn equal_flows_share_one_peer_and_different_ones_do_not() {
        let mut peers = Peers::new(16);
        let a = peers.share(flow("127.0.0.1:5060", 0));
        let b = peers.share(flow("127.0.0.1:5060", 0));
        assert!(Arc::ptr_eq(&a, &b));
        let other_port = peers.share(flow("127.0.0.1:5061", 0));
        let other_conn = peers.share(flow("127.0.0.1:5060", 7));
        assert!(!Arc::ptr_eq(&a, &other_port));
        assert!(!Arc::ptr_eq(&a, &other_conn));
        assert_eq!(*other_conn, flow("127.0.0.1:5060", 7));
        assert_eq!(peers.len(), 3);
    }

    #[test]
    fn when_full_the_flows_nobody_holds_are_forgotten_first() {
        let mut peers = Peers::new(4);
        let held = peers.share(flow("10.0.0.1:1", 0));
        for port in 2..=4 {
            peers.share(flow(&format!("10.0.0.1:{port}"), 0));
        }
        assert_eq!(peers.len(), 4);
        // Full: the three that only the table held go, the held one stays shared.
        peers.share(flow("10.0.0.1:5", 0));
        assert_eq!(peers.len(), 2);
        assert!(Arc::ptr_eq(&held, &peers.share(flow("10.0.0.1:1", 0))));
    }

    #[test]
    fn when_every_flow_is_held_the_table_starts_over() {
        let mut peers = Peers::new(4);
        let held: Vec<Peer> = (1..=4)
            .map(|port| peers.share(flow(&format!("10.0.0.2:{port}"), 0)))
            .collect();
        let fresh = peers.share(flow("10.0.0.2:5", 0));
        assert_eq!(peers.len(), 1);
        // A flow forgotten while still held is shared anew, not wrongly: equal values.
        let again = peers.share(flow("10.0.0.2:1", 0));
        assert!(!Arc::ptr_eq(&held[0], &again));
        assert_eq!(*held[0], *again);
        assert!(Arc::ptr_eq(&fresh, &peers.share(flow("10.0.0.2:5", 0))));
    }
}
