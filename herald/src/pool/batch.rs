//! A front end's way of calling one home server: messages queue, and a task of their own
//! sends what gathered as one `Home::handle_batch` call while the previous call is on its
//! way. Under load one call carries hundreds of messages (a unary call per message cost
//! more CPU than the SIP work it carried); when idle, a message goes alone at once.
//! Each caller still learns whether its own message was taken.

use std::{collections::HashMap, time::Instant};

use herald_proto::v1::{home_client::HomeClient, Inbound, InboundBatch, Received};
use tokio::sync::{mpsc, oneshot};
use tonic::{transport::Channel, Request, Status};

use super::homes::{observe, DEADLINE};

/// Messages that may wait for the batch task (beyond that, callers wait for room).
const QUEUE: usize = 8192;
/// Most messages in one call.
const BATCH: usize = 512;

type Item = (Received, oneshot::Sender<Result<(), Status>>);

/// The queue to one home server. Cloning shares it; the task ends with the last clone.
#[derive(Clone)]
pub(super) struct Batcher {
    tx: mpsc::Sender<Item>,
}

impl Batcher {
    pub(super) fn new(client: HomeClient<Channel>) -> Batcher {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(client, rx));
        Batcher { tx }
    }

    /// Hands `inbound` to the home server; `Ok` once it took it.
    pub(super) async fn submit(&self, inbound: Inbound, response: bool) -> Result<(), Status> {
        let (done, result) = oneshot::channel();
        let received = Received {
            inbound: Some(inbound),
            response,
        };
        self.tx
            .send((received, done))
            .await
            .map_err(|_| Status::unavailable("home server queue closed"))?;
        result
            .await
            .unwrap_or_else(|_| Err(Status::unavailable("home server call dropped")))
    }
}

async fn run(mut client: HomeClient<Channel>, mut rx: mpsc::Receiver<Item>) {
    let mut items = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut items, BATCH).await > 0 {
        let (messages, waiters): (Vec<_>, Vec<_>) = items.drain(..).unzip();
        let mut req = Request::new(InboundBatch { messages });
        req.set_timeout(DEADLINE);
        let t = Instant::now();
        let r = client.handle_batch(req).await;
        observe("handle_batch", t, &r);
        match r {
            Ok(accepted) => {
                let mut refused: HashMap<usize, Status> = accepted
                    .into_inner()
                    .refused
                    .into_iter()
                    .map(|f| (f.index as usize, Status::new(f.code.into(), f.message)))
                    .collect();
                for (i, w) in waiters.into_iter().enumerate() {
                    let _ = w.send(refused.remove(&i).map_or(Ok(()), Err));
                }
            }
            Err(s) => {
                for w in waiters {
                    let _ = w.send(Err(s.clone()));
                }
            }
        }
    }
}
