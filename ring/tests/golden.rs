//! Placement must not change silently: if an upgrade (of this crate, siphasher, or the
//! compiler) would move users between home servers, this test fails. To accept a deliberate
//! change, run with HERALD_RING_BLESS=1 and say so in the release notes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{fmt::Write, fs, path::PathBuf};

use herald_ring::{Member, Ring};

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden_placement.tsv")
}

fn placements() -> String {
    let uniform = Ring::new((1..=5).map(|i| Member::new(format!("home-{i}"), 1))).unwrap();
    let weighted = Ring::new([
        Member::new("home-a", 1),
        Member::new("home-b", 2),
        Member::new("home-c", 5),
    ])
    .unwrap();
    let mut out = String::from("aor\tuniform5\tweighted_1_2_5\n");
    for i in 0..1000 {
        let aor = match i % 3 {
            0 => format!("sip:user{i}@example.com"),
            1 => format!("sips:{i}.person@corp.example.org"),
            _ => format!("sip:+1555{i:07}@pbx.example.net"),
        };
        writeln!(
            out,
            "{aor}\t{}\t{}",
            uniform.owner(&aor).unwrap(),
            weighted.owner(&aor).unwrap()
        )
        .unwrap();
    }
    out
}

#[test]
fn placements_match_the_committed_golden_file() {
    let now = placements();
    if std::env::var_os("HERALD_RING_BLESS").is_some() {
        fs::write(golden_path(), &now).unwrap();
    }
    let golden =
        fs::read_to_string(golden_path()).expect("golden file (run with HERALD_RING_BLESS=1 once)");
    let moved: Vec<_> = golden
        .lines()
        .zip(now.lines())
        .filter(|(a, b)| a != b)
        .take(5)
        .collect();
    assert!(
        moved.is_empty(),
        "placement changed, users would move: {moved:#?}"
    );
    assert_eq!(golden.lines().count(), now.lines().count());
}
