//! The WebSocket wire of a test device (RFC 7118): sipp has no WebSocket transport, so
//! this plays the browser client — real WebSocket framing over a real socket.

use std::{
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use bytes::Bytes;
use herald_sip::{parse_datagram, Limits, Message};
use tungstenite::{client::IntoClientRequest, http::HeaderValue, Message as Ws, WebSocket};

use crate::device::{Device, Wire};

/// A device over WebSocket.
pub type WsDevice = Device<WsWire>;

pub struct WsWire {
    ws: WebSocket<TcpStream>,
}

/// Opens a WebSocket with the `sip` subprotocol and the given Origin; the server's
/// refusal comes back as the error.
pub fn connect(
    addr: SocketAddr,
    origin: Option<&str>,
) -> Result<WebSocket<TcpStream>, tungstenite::Error> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let mut req = format!("ws://{addr}/").into_client_request()?;
    req.headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("sip"));
    if let Some(o) = origin {
        req.headers_mut()
            .insert("origin", HeaderValue::from_str(o).unwrap());
    }
    tungstenite::client(req, stream)
        .map(|(ws, _)| ws)
        .map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => e,
            tungstenite::HandshakeError::Interrupted(_) => tungstenite::Error::ConnectionClosed,
        })
}

impl Device<WsWire> {
    pub fn connect(addr: SocketAddr, user: &str, password: &str) -> WsDevice {
        let ws = connect(addr, None).expect("WebSocket connect");
        Device::new(WsWire { ws }, user, password)
    }
}

impl Wire for WsWire {
    fn send(&mut self, text: &str) {
        self.ws
            .send(Ws::Text(text.to_owned().into()))
            .expect("WebSocket send");
    }

    fn recv(&mut self, timeout: Duration) -> Option<Message> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let raw = match self.ws.read() {
                Ok(Ws::Text(t)) => Bytes::from(t.as_str().to_owned()),
                Ok(Ws::Binary(b)) => b,
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(e) => panic!("WebSocket read: {e}"),
            };
            return Some(parse_datagram(raw, &Limits::default()).expect("server sent valid SIP"));
        }
        None
    }

    fn via(&self) -> String {
        "WS df7jal23ls0d.invalid".into()
    }

    fn contact(&self, user: &str) -> String {
        format!("sip:{user}@df7jal23ls0d.invalid;transport=ws")
    }
}
