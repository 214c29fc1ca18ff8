//! A parse-only loop for `valgrind --tool=callgrind` (instruction counts do not depend on
//! machine noise: compare before/after of an optimisation).
#![allow(clippy::unwrap_used)]
use std::hint::black_box;

use herald_bench_parsers::messages;
use herald_sip::{parse_datagram, Limits};

fn main() {
    let (_, b) = messages().remove(0);
    let l = Limits::default();
    for _ in 0..20_000 {
        black_box(parse_datagram(black_box(b.clone()), &l).unwrap());
    }
}
