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
