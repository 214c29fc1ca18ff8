use prost::Message;
use tonic::{Request, Response, Status};

use crate::v1::{
    edge_server::Edge, home_server::Home, Accepted, FlowRef, Inbound, Outbound, Sent, Transport,
};

fn flow() -> FlowRef {
    FlowRef {
        frontend_id: "fe-1".into(),
        connection_id: 42,
        transport: Transport::Tcp as i32,
        remote: "[2001:db8::7]:50600".into(),
    }
}

#[test]
fn messages_round_trip_on_the_wire() {
    let m = Inbound {
        flow: Some(flow()),
        raw: b"OPTIONS sip:a@b SIP/2.0\r\n\r\n".to_vec().into(),
        received_at_us: 7,
    };
    let bytes = m.encode_to_vec();
    assert_eq!(Inbound::decode(bytes.as_slice()).expect("decode"), m);
}

/// An edge that refuses flows it does not hold, as the contract says.
struct OneFlowEdge;

#[tonic::async_trait]
impl Edge for OneFlowEdge {
    async fn send(&self, req: Request<Outbound>) -> Result<Response<Sent>, Status> {
        match req.into_inner().flow {
            Some(f) if f.connection_id == 42 => Ok(Response::new(Sent {})),
            _ => Err(Status::not_found("flow gone")),
        }
    }
    async fn send_batch(
        &self,
        req: Request<crate::v1::OutboundBatch>,
    ) -> Result<Response<crate::v1::SentBatch>, Status> {
        Ok(Response::new(
            crate::send_each(self, req.into_inner()).await,
        ))
    }
}

struct CountingHome(std::sync::atomic::AtomicUsize);

#[tonic::async_trait]
impl Home for CountingHome {
    async fn handle_request(&self, req: Request<Inbound>) -> Result<Response<Accepted>, Status> {
        if req.get_ref().raw.is_empty() {
            return Err(Status::invalid_argument("empty message"));
        }
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Response::new(Accepted {}))
    }
    async fn handle_response(&self, _: Request<Inbound>) -> Result<Response<Accepted>, Status> {
        Ok(Response::new(Accepted {}))
    }
    async fn handle_batch(
        &self,
        req: Request<crate::v1::InboundBatch>,
    ) -> Result<Response<crate::v1::AcceptedBatch>, Status> {
        Ok(Response::new(
            crate::handle_each(self, req.into_inner()).await,
        ))
    }
}

/// The single-process edition calls the generated traits directly: no network in between.
#[tokio::test]
async fn generated_traits_work_in_process() {
    let edge = OneFlowEdge;
    let ok = edge
        .send(Request::new(Outbound {
            flow: Some(flow()),
            raw: Default::default(),
        }))
        .await;
    assert!(ok.is_ok());
    let mut other = flow();
    other.connection_id = 9;
    let gone = edge
        .send(Request::new(Outbound {
            flow: Some(other),
            raw: Default::default(),
        }))
        .await;
    assert_eq!(gone.expect_err("flow gone").code(), tonic::Code::NotFound);

    let home = CountingHome(Default::default());
    let inbound = Inbound {
        flow: Some(flow()),
        raw: b"x".to_vec().into(),
        received_at_us: 0,
    };
    home.handle_request(Request::new(inbound))
        .await
        .expect("accepted");
    let empty = home.handle_request(Request::new(Inbound::default())).await;
    assert_eq!(
        empty.expect_err("empty").code(),
        tonic::Code::InvalidArgument
    );
    assert_eq!(home.0.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_batch_reports_the_messages_whose_flow_is_gone_by_index() {
    let mut gone = flow();
    gone.connection_id = 9;
    let out = |f: FlowRef| Outbound {
        flow: Some(f),
        raw: Default::default(),
    };
    let batch = crate::v1::OutboundBatch {
        messages: vec![out(flow()), out(gone.clone()), out(flow()), out(gone)],
    };
    let sent = OneFlowEdge
        .send_batch(Request::new(batch))
        .await
        .expect("batch taken")
        .into_inner();
    let failed: Vec<(u32, i32)> = sent.failures.iter().map(|f| (f.index, f.code)).collect();
    let not_found = tonic::Code::NotFound as i32;
    assert_eq!(failed, vec![(1, not_found), (3, not_found)]);
}

#[tokio::test]
async fn a_home_batch_takes_requests_and_responses_and_names_what_it_refused() {
    let home = CountingHome(Default::default());
    let received = |raw: &'static [u8], response: bool| crate::v1::Received {
        inbound: Some(Inbound {
            flow: Some(flow()),
            raw: raw.to_vec().into(),
            received_at_us: 0,
        }),
        response,
    };
    let batch = crate::v1::InboundBatch {
        messages: vec![
            received(b"x", false),
            received(b"", false),
            received(b"", true),
            received(b"y", false),
        ],
    };
    let r = home
        .handle_batch(Request::new(batch))
        .await
        .expect("batch taken")
        .into_inner();
    let refused: Vec<u32> = r.refused.iter().map(|f| f.index).collect();
    assert_eq!(refused, vec![1]);
    assert_eq!(home.0.load(std::sync::atomic::Ordering::Relaxed), 2);
}
