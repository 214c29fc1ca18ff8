//! The UDP wire of a test device, bound to a chosen loopback address: the attacker tests
//! play several sources (127.0.0.2, 127.0.0.3, …) against one server.

use std::{
    net::{IpAddr, SocketAddr, UdpSocket},
    time::Duration,
};

use bytes::Bytes;
use herald_sip::{parse_datagram, Limits, Message};

use crate::device::{Device, Wire};

/// A device over UDP.
pub type UdpDevice = Device<UdpWire>;

pub struct UdpWire {
    socket: UdpSocket,
    server: SocketAddr,
}

impl UdpWire {
    pub fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Sends raw bytes (for messages no device would build).
    pub fn send_raw(&self, bytes: &[u8]) {
        self.socket.send_to(bytes, self.server).unwrap();
    }
}

impl Device<UdpWire> {
    /// A device on `source` (any 127.x.y.z address) talking to `server`.
    pub fn udp(source: IpAddr, server: SocketAddr, user: &str, password: &str) -> UdpDevice {
        let socket = UdpSocket::bind((source, 0)).expect("bind a loopback source address");
        Device::new(UdpWire { socket, server }, user, password)
    }
}

impl Wire for UdpWire {
    fn send(&mut self, text: &str) {
        self.send_raw(text.as_bytes());
    }

    fn recv(&mut self, timeout: Duration) -> Option<Message> {
        self.socket
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .unwrap();
        let mut buf = vec![0u8; 65_535];
        loop {
            let (n, from) = match self.socket.recv_from(&mut buf) {
                Ok(x) => x,
                Err(_) => return None,
            };
            if from != self.server {
                continue;
            }
            let raw = Bytes::copy_from_slice(&buf[..n]);
            return Some(parse_datagram(raw, &Limits::default()).expect("server sent valid SIP"));
        }
    }

    fn via(&self) -> String {
        format!("UDP {}", self.local_addr())
    }

    fn contact(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.local_addr())
    }
}
