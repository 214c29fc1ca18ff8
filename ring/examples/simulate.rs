//! Load and movement on a large ring:
//! `cargo run --release -p herald-ring --example simulate -- 100 10000000`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use herald_ring::{HomeId, Member, Ring};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let (nodes, addrs) = (
        args.first().copied().unwrap_or(100),
        args.get(1).copied().unwrap_or(1_000_000),
    );
    let base = Ring::new((0..nodes).map(|i| Member::new(format!("home-{i:03}"), 1))).unwrap();
    let mut joined_members = base.members().to_vec();
    joined_members.push(Member::new("home-new", 1));
    let joined = Ring::new(joined_members).unwrap();
    let left = Ring::new(base.members()[1..].to_vec()).unwrap();

    let mut load: HashMap<&HomeId, u64> = HashMap::new();
    let (mut moved_join, mut moved_leave) = (0u64, 0u64);
    let start = std::time::Instant::now();
    for i in 0..addrs {
        let aor = format!("sip:user{i}@example.com");
        let owner = base.owner(&aor).unwrap();
        *load.entry(owner).or_default() += 1;
        if joined.owner(&aor) != Some(owner) {
            moved_join += 1;
        }
        if left.owner(&aor) != Some(owner) {
            moved_leave += 1;
        }
    }
    let max = *load.values().max().unwrap() as f64;
    let min = *load.values().min().unwrap() as f64;
    let avg = addrs as f64 / nodes as f64;
    println!(
        "nodes={nodes} addresses={addrs} elapsed={:.1}s",
        start.elapsed().as_secs_f64()
    );
    println!("load max/avg={:.4} min/avg={:.4}", max / avg, min / avg);
    println!(
        "join 1 node: moved {:.4}% (ideal {:.4}%)",
        100.0 * moved_join as f64 / addrs as f64,
        100.0 / (nodes + 1) as f64
    );
    println!(
        "leave 1 node: moved {:.4}% (ideal {:.4}%)",
        100.0 * moved_leave as f64 / addrs as f64,
        100.0 / nodes as f64
    );
}
