//! The engine's way out to the front ends.
//!
//! In-process (the single-process edition) a send is a call on the front end's flow table
//! that only queues the bytes onto a socket: the engine awaits it. Across a network (the
//! pool) a round trip per message would hold the engine, and with it every other user,
//! for as long as the front end takes to answer; so there sends are queued, and a task of
//! their own ([`deliver`]) sends what gathered as one `Edge::send_batch` per front end,
//! in order, while the engine goes on. Sends that failed (the flow is gone) come back to
//! the engine on a channel, as the transaction they belong to.

use std::sync::Arc;

use herald_proto::v1::{edge_server::Edge, FlowRef, Outbound, OutboundBatch};
use herald_sip::transactions::TxId;
use tokio::sync::mpsc;
use tonic::{Request, Status};

/// Messages that may wait for the sender task before the engine waits for room.
const QUEUE: usize = 65_536;
/// Most messages in one batch.
const BATCH: usize = 512;

/// One message to send, and the transaction to tell if it cannot be.
pub(super) struct Item {
    out: Outbound,
    tx: Option<TxId>,
}

pub(super) enum Outbox {
    Direct(Arc<dyn Edge>),
    Queued(mpsc::Sender<Item>),
}

impl Outbox {
    /// An outbox for `edge`; when `remote`, also the sender task and the channel on
    /// which it reports the transactions whose message could not be sent.
    pub(super) fn new(
        edge: Arc<dyn Edge>,
        remote: bool,
    ) -> (Outbox, Option<mpsc::UnboundedReceiver<TxId>>) {
        if !remote {
            return (Outbox::Direct(edge), None);
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let (failed, failures) = mpsc::unbounded_channel();
        tokio::spawn(deliver(edge, rx, failed));
        (Outbox::Queued(tx), Some(failures))
    }

    /// Sends `raw` down `flow`. Queued, an error only means the sender task is gone; a
    /// failure to send is reported later, for `tx`.
    pub(super) async fn send(
        &self,
        flow: FlowRef,
        raw: bytes::Bytes,
        tx: Option<TxId>,
    ) -> Result<(), Status> {
        let out = Outbound {
            flow: Some(flow),
            raw,
        };
        match self {
            Outbox::Direct(edge) => edge.send(Request::new(out)).await.map(|_| ()),
            Outbox::Queued(q) => q
                .send(Item { out, tx })
                .await
                .map_err(|_| Status::unavailable("sender stopped")),
        }
    }
}

/// Sends queued messages in batches, one call per front end at a time, until the engine
/// drops its outbox. Messages to one front end leave in the order they were queued.
async fn deliver(
    edge: Arc<dyn Edge>,
    mut rx: mpsc::Receiver<Item>,
    failed: mpsc::UnboundedSender<TxId>,
) {
    let mut items = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut items, BATCH).await > 0 {
        let groups = by_frontend(items.drain(..));
        let calls = groups.into_iter().map(|(frontend, group)| {
            let edge = edge.clone();
            async move {
                let (messages, txs): (Vec<_>, Vec<_>) =
                    group.into_iter().map(|i| (i.out, i.tx)).unzip();
                let r = edge
                    .send_batch(Request::new(OutboundBatch { messages }))
                    .await;
                (frontend, txs, r)
            }
        });
        for (frontend, txs, r) in futures_util::future::join_all(calls).await {
            let failures: Vec<(usize, String)> = match r {
                Ok(sent) => sent
                    .into_inner()
                    .failures
                    .into_iter()
                    .map(|f| (f.index as usize, f.message))
                    .collect(),
                Err(s) => {
                    tracing::warn!(%frontend, status = %s, messages = txs.len(), "batch not sent to the front end");
                    (0..txs.len())
                        .map(|i| (i, s.message().to_owned()))
                        .collect()
                }
            };
            metrics::counter!("herald_edge_send_failures_total").increment(failures.len() as u64);
            for (i, why) in failures {
                tracing::debug!(%frontend, %why, "message not sent");
                if let Some(Some(tx)) = txs.get(i) {
                    let _ = failed.send(*tx);
                }
            }
        }
    }
}

/// Items grouped by the front end holding their flow, each group in queue order.
fn by_frontend(items: impl Iterator<Item = Item>) -> Vec<(String, Vec<Item>)> {
    let mut groups: Vec<(String, Vec<Item>)> = Vec::new();
    for item in items {
        let fe = item
            .out
            .flow
            .as_ref()
            .map(|f| f.frontend_id.as_str())
            .unwrap_or_default();
        match groups.iter_mut().find(|(id, _)| id == fe) {
            Some((_, g)) => g.push(item),
            None => groups.push((fe.to_owned(), vec![item])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(fe: &str, n: u64) -> Item {
        Item {
            out: Outbound {
                flow: Some(FlowRef {
                    frontend_id: fe.into(),
                    connection_id: n,
                    ..FlowRef::default()
                }),
                raw: bytes::Bytes::new(),
            },
            tx: None,
        }
    }

    #[test]
    fn batches_keep_each_front_ends_order() {
        let items =
            [("a", 1), ("b", 2), ("a", 3), ("c", 4), ("b", 5), ("a", 6)].map(|(fe, n)| item(fe, n));
        let groups = by_frontend(items.into_iter());
        let seen: Vec<(String, Vec<u64>)> = groups
            .into_iter()
            .map(|(fe, g)| {
                let ids = g
                    .iter()
                    .map(|i| i.out.flow.as_ref().map_or(0, |f| f.connection_id))
                    .collect();
                (fe, ids)
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                ("a".into(), vec![1, 3, 6]),
                ("b".into(), vec![2, 5]),
                ("c".into(), vec![4])
            ]
        );
    }
}
