//! Numbers and addresses appended to strings without the formatting machinery. Hot paths
//! (a transaction key per request, a flow reference per datagram) write these for every
//! message; `write!` costs several times more for the same bytes.

use std::net::{Ipv4Addr, SocketAddr};

/// The decimal digits of `n`, written at the end of `buf`.
pub(crate) fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut String, n: u32) {
    let mut buf = [0u8; 20];
    for &d in decimal(u64::from(n), &mut buf) {
        out.push(char::from(d));
    }
}

/// Appends an IPv4 address in dotted-decimal form.
pub fn push_ipv4(out: &mut String, ip: Ipv4Addr) {
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_decimal(out, u32::from(octet));
    }
}

/// A socket address as `Display` writes it (`1.2.3.4:5060`, `[::1]:5060`).
pub fn socket_addr(a: SocketAddr) -> String {
    match a {
        SocketAddr::V4(v4) => {
            let mut s = String::with_capacity(21);
            push_ipv4(&mut s, *v4.ip());
            s.push(':');
            push_decimal(&mut s, u32::from(v4.port()));
            s
        }
        SocketAddr::V6(_) => a.to_string(),
    }
}

/// Parses a dotted-decimal IPv4 address exactly as `str::parse::<Ipv4Addr>` does (four
/// octets of one to three digits, none above 255, no leading zero), in a fraction of its
/// time: a request carries several (Via, Contact, the flow's remote address).
pub fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let b = s.as_bytes();
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut v: u32 = 0;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            v = v * 10 + u32::from(d - b'0');
            i += 1;
            if i - start > 3 {
                return None;
            }
        }
        let len = i - start;
        if len == 0 || (len > 1 && b[start] == b'0') {
            return None;
        }
        *octet = u8::try_from(v).ok()?;
    }
    (i == b.len()).then_some(Ipv4Addr::from(octets))
}

/// Parses a socket address as `str::parse::<SocketAddr>` does; IPv4 ones (flow references
/// carry them for every message) without the standard parser.
pub fn parse_socket_addr(s: &str) -> Option<SocketAddr> {
    if let Some((ip, port)) = s.rsplit_once(':') {
        if let Some(ip) = parse_ipv4(ip) {
            let port = crate::uri::host::parse_port(port)?;
            return Some(SocketAddr::from((ip, port)));
        }
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_as_the_standard_parser_does() {
        let mut cases: Vec<String> = [
            "1.2.3.4",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            ".1.2.3",
            "1.2.3.",
            "1.2.3.4 ",
            " 1.2.3.4",
            "1.2.3.0004",
            "1.2.3.400",
            "127.000.0.1",
            "1.2.3.a",
            "",
            "....",
            "1.2.3.4:5060",
            "example.com",
            "1.2.3.-4",
            "+1.2.3.4",
            "1.2.3.4\0",
            "99.99.99.99",
            "100.200.250.255",
            "1.2.3.1000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every octet spelling from 0 to 999 with and without leading zeros.
        for v in 0..1000 {
            cases.push(format!("10.{v}.1.1"));
            cases.push(format!("10.0{v}.1.1"));
            cases.push(format!("10.1.1.{v:03}"));
        }
        for c in &cases {
            assert_eq!(parse_ipv4(c), c.parse::<Ipv4Addr>().ok(), "{c:?}");
            for port in [
                "5060", "0", "65535", "65536", "", "050", "+1", "99999", "123456", "x",
            ] {
                let a = format!("{c}:{port}");
                assert_eq!(parse_socket_addr(&a), a.parse::<SocketAddr>().ok(), "{a:?}");
            }
        }
        for v6 in [
            "[::1]:5060",
            "[2001:db8::9]:5070",
            "[::1]",
            "::1:5060",
            "[::ffff:1.2.3.4]:1",
        ] {
            assert_eq!(
                parse_socket_addr(v6),
                v6.parse::<SocketAddr>().ok(),
                "{v6:?}"
            );
        }
    }

    #[test]
    fn same_text_as_display() {
        for n in (0..=100_000u32).chain([u32::MAX, 4_294_967_295, 1_000_000_000]) {
            let mut s = String::new();
            push_decimal(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        let ips = [
            [0, 0, 0, 0],
            [127, 0, 0, 1],
            [255, 255, 255, 255],
            [10, 9, 100, 199],
        ];
        for o in ips {
            for port in [0, 1, 9, 10, 5060, 65535] {
                let a = SocketAddr::from((o, port));
                assert_eq!(socket_addr(a), a.to_string());
            }
        }
        let v6: SocketAddr = "[2001:db8::9]:5070".parse().expect("v6");
        assert_eq!(socket_addr(v6), "[2001:db8::9]:5070");
    }
}
