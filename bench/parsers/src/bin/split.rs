//! Where herald-sip's parse time goes: parse only vs each typed accessor (loop timing).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::{hint::black_box, time::Instant};

use herald_bench_parsers::messages;
use herald_sip::{parse_datagram, Limits};

fn time(label: &str, n: u32, mut f: impl FnMut()) {
    for _ in 0..n / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!("{label:<28}{:>8.0} ns", t.elapsed().as_nanos() as f64 / n as f64);
}

fn main() {
    let (_, b) = messages().remove(0);
    let l = Limits::default();
    let n = 300_000;
    time("parse_datagram", n, || { black_box(parse_datagram(black_box(b.clone()), &l).unwrap()); });
    let m = parse_datagram(b.clone(), &l).unwrap();
    let h = m.headers();
    time("top_via", n, || { black_box(h.top_via().unwrap()); });
    time("from", n, || { black_box(h.from().unwrap()); });
    time("to", n, || { black_box(h.to().unwrap()); });
    time("call_id", n, || { black_box(h.call_id().unwrap()); });
    time("cseq", n, || { black_box(h.cseq().unwrap()); });
    time("contact", n, || { black_box(h.contact().unwrap()); });
    time("validate", n, || { black_box(m.validate().unwrap()); });
    time("to_bytes", n, || { black_box(m.to_bytes()); });
}
