//! Criterion: parse + typed access, and serialize, for each crate on each message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use herald_bench_parsers::{herald, messages, rsip_crate, sipx};

fn bench(c: &mut Criterion) {
    for (name, bytes) in messages() {
        let mut g = c.benchmark_group(format!("parse_typed/{name}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("herald-sip", |b| b.iter(|| herald::parse_typed(black_box(&bytes)).1));
        g.bench_function("sipx-sip", |b| b.iter(|| sipx::parse_typed(black_box(&bytes)).1));
        g.bench_function("rsip", |b| b.iter(|| rsip_crate::parse_typed(black_box(&bytes)).1));
        g.finish();

        let mut g = c.benchmark_group(format!("serialize/{name}"));
        let (hm, _) = herald::parse_typed(&bytes);
        let (sm, _) = sipx::parse_typed(&bytes);
        let (rm, _) = rsip_crate::parse_typed(&bytes);
        g.bench_function("herald-sip", |b| b.iter(|| herald::serialize(black_box(&hm))));
        g.bench_function("sipx-sip", |b| b.iter(|| sipx::serialize(black_box(&sm))));
        g.bench_function("rsip", |b| b.iter(|| rsip_crate::serialize(black_box(&rm))));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
