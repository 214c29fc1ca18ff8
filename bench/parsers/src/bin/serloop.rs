//! A serialize-only loop for `valgrind --tool=callgrind`.
#![allow(clippy::unwrap_used)]
use std::hint::black_box;

use herald_bench_parsers::messages;
use herald_sip::{parse_datagram, Limits};

fn main() {
    let (_, b) = messages().remove(0);
    let m = parse_datagram(b, &Limits::default()).unwrap();
    for _ in 0..20_000 {
        black_box(black_box(&m).to_bytes());
    }
}
