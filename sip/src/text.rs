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

#[cfg(test)]
mod tests {
    use super::*;

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
