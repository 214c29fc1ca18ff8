//! The home server's way to the front ends of a pool: the `Edge` service, implemented by
//! sending each message to the front end that holds its flow (named in the flow), over
//! gRPC. Front end addresses come from membership in Redis.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use herald_proto::v1::{
    edge_client::EdgeClient, edge_server::Edge, Outbound, OutboundBatch, Sent, SentBatch,
};
use tonic::{transport::Channel, Request, Response, Status};

use super::members::Members;

const DEADLINE: Duration = Duration::from_secs(2);

/// A client per front end, made when first needed.
pub struct Edges {
    members: Members,
    clients: Mutex<HashMap<String, (String, EdgeClient<Channel>)>>,
}

impl Edges {
    pub fn new(members: Members) -> Arc<Edges> {
        Arc::new(Edges {
            members,
            clients: Mutex::new(HashMap::new()),
        })
    }

    async fn client(&self, frontend: &str) -> Result<EdgeClient<Channel>, Status> {
        if let Some((_, c)) = self.lock().get(frontend) {
            return Ok(c.clone());
        }
        let live = self
            .members
            .list("fe")
            .await
            .map_err(|e| Status::unavailable(format!("membership: {e}")))?;
        let addr = live
            .members
            .get(frontend)
            .map(|n| &n.addr)
            .ok_or_else(|| Status::not_found(format!("front end {frontend} is gone")))?;
        let ch = Channel::from_shared(format!("http://{addr}"))
            .map_err(|e| Status::internal(e.to_string()))?
            .connect_lazy();
        let c = EdgeClient::new(ch);
        self.lock()
            .insert(frontend.to_owned(), (addr.clone(), c.clone()));
        Ok(c)
    }

    /// After a call to `frontend`: its latency and failures; an unreachable front end's
    /// address may have changed (a restart), so it is looked up again next time.
    fn after<T>(&self, call: &'static str, frontend: &str, t: Instant, r: &Result<T, Status>) {
        super::homes::observe(call, t, r);
        if let Err(s) = r {
            if s.code() == tonic::Code::Unavailable {
                self.lock().remove(frontend);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, EdgeClient<Channel>)>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[tonic::async_trait]
impl Edge for Edges {
    async fn send(&self, req: Request<Outbound>) -> Result<Response<Sent>, Status> {
        let out = req.into_inner();
        let frontend = out
            .flow
            .as_ref()
            .map(|f| f.frontend_id.clone())
            .ok_or_else(|| Status::invalid_argument("no flow"))?;
        let mut client = self.client(&frontend).await?;
        let mut call = Request::new(out);
        call.set_timeout(DEADLINE);
        let t = Instant::now();
        let r = client.send(call).await;
        self.after("send", &frontend, t, &r);
        r
    }

    /// A batch goes to the front end of its first message (the engine's sender groups
    /// them by front end).
    async fn send_batch(&self, req: Request<OutboundBatch>) -> Result<Response<SentBatch>, Status> {
        let batch = req.into_inner();
        let frontend = batch
            .messages
            .first()
            .and_then(|m| m.flow.as_ref())
            .map(|f| f.frontend_id.clone())
            .ok_or_else(|| Status::invalid_argument("empty batch"))?;
        let mut client = self.client(&frontend).await?;
        let mut call = Request::new(batch);
        call.set_timeout(DEADLINE);
        let t = Instant::now();
        let r = client.send_batch(call).await;
        self.after("send_batch", &frontend, t, &r);
        r
    }
}
