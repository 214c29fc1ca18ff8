//! An XCAP client for the tests (RFC 4825 over HTTP/1.1 with Digest), as a presence
//! client such as Jitsi or Bria would use it to keep its buddy list on the server.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
};

use herald_sip::auth::Challenge;

/// One HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct XcapClient {
    pub addr: SocketAddr,
    pub user: String,
    password: String,
    nc: u32,
}

/// The document path of `user`'s `auid` document (`index`).
pub fn path(auid: &str, user: &str, domain: &str) -> String {
    format!("/xcap-root/{auid}/users/sip:{user}@{domain}/index")
}

impl XcapClient {
    pub fn new(addr: SocketAddr, user: &str, password: &str) -> XcapClient {
        XcapClient {
            addr,
            user: user.to_owned(),
            password: password.to_owned(),
            nc: 0,
        }
    }

    /// Sends a request; a 401 is answered once with Digest credentials.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> HttpResponse {
        let first = self.raw(method, path, headers, body, None);
        if first.status != 401 {
            return first;
        }
        let ch = Challenge::parse(first.header("www-authenticate").expect("a challenge"))
            .expect("valid challenge");
        self.nc += 1;
        let auth = ch.answer(
            &self.user,
            &self.password,
            method,
            path,
            self.nc,
            "xcapclient",
        );
        self.raw(method, path, headers, body, Some(&auth))
    }

    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
        auth: Option<&str>,
    ) -> HttpResponse {
        let mut s = TcpStream::connect(self.addr).expect("connect to XCAP");
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(a) = auth {
            req.push_str(&format!("Authorization: {a}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|c| c.parse().ok())
            .expect("an HTTP status line");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        HttpResponse {
            status,
            headers,
            body: body.to_owned(),
        }
    }
}
