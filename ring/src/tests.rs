use std::collections::HashMap;

use super::*;

fn ring(n: usize, weight: impl Fn(usize) -> u32) -> Ring {
    Ring::new((0..n).map(|i| Member::new(format!("hs{i:03}"), weight(i)))).expect("ring")
}

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("sip:user{i}@example.com")).collect()
}

fn loads(r: &Ring, keys: &[String]) -> HashMap<HomeId, usize> {
    let mut m = HashMap::new();
    for k in keys {
        *m.entry(r.owner(k).expect("owner").clone()).or_default() += 1;
    }
    m
}

#[test]
fn rejects_bad_membership() {
    assert_eq!(
        Ring::new([Member::new("a", 0)]).err(),
        Some(RingError::ZeroWeight(HomeId("a".into())))
    );
    assert!(matches!(
        Ring::new([Member::new("a", 1), Member::new("a", 2)]),
        Err(RingError::DuplicateMember(_))
    ));
    assert_eq!(
        Ring::new([Member::new("", 1)]).err(),
        Some(RingError::EmptyId)
    );
    assert_eq!(Ring::new([]).expect("empty").owner("sip:a@b"), None);
}

#[test]
fn balanced_with_equal_weights() {
    let r = ring(20, |_| 1);
    let k = keys(100_000);
    let l = loads(&r, &k);
    let max = *l.values().max().expect("max") as f64;
    let avg = k.len() as f64 / 20.0;
    assert!(max / avg < 1.05, "max/avg {}", max / avg);
}

#[test]
fn weights_shift_load_proportionally() {
    let r = ring(4, |i| if i == 0 { 3 } else { 1 });
    let k = keys(60_000);
    let l = loads(&r, &k);
    let heavy = l[&HomeId("hs000".into())] as f64 / k.len() as f64;
    assert!(
        (heavy - 0.5).abs() < 0.02,
        "weight 3 of 6 should take half, took {heavy}"
    );
}

#[test]
fn join_moves_only_to_the_new_member_about_one_nth() {
    for weighted in [false, true] {
        let w = move |i: usize| if weighted { 1 + (i % 3) as u32 } else { 1 };
        let before = ring(10, w);
        let mut members = before.members().to_vec();
        members.push(Member::new("hs-new", 2));
        let after = Ring::new(members).expect("ring");
        let k = keys(50_000);
        let mut moved = 0;
        for key in &k {
            let (a, b) = (before.owner(key), after.owner(key));
            if a != b {
                moved += 1;
                assert_eq!(
                    b.map(|h| h.0.as_str()),
                    Some("hs-new"),
                    "{key} moved between old members"
                );
            }
        }
        let total_weight: u32 = after.members().iter().map(|m| m.weight).sum();
        let expected = 2.0 / total_weight as f64;
        let frac = moved as f64 / k.len() as f64;
        assert!(
            (frac - expected).abs() < 0.01,
            "moved {frac}, expected {expected}"
        );
    }
}

#[test]
fn leave_moves_only_the_leavers_keys_to_their_next_ranked() {
    let before = ring(10, |_| 1);
    let gone = HomeId("hs004".into());
    let after = Ring::new(before.members().iter().filter(|m| m.id != gone).cloned()).expect("ring");
    for key in keys(20_000) {
        let was = before.owner(&key).expect("owner");
        let now = after.owner(&key).expect("owner");
        if was == &gone {
            assert_eq!(
                now,
                before.ranked(&key)[1],
                "{key} did not go to its next-ranked member"
            );
        } else {
            assert_eq!(was, now, "{key} moved although its owner stayed");
        }
    }
}

#[test]
fn ranking_starts_with_the_owner_and_lists_everyone() {
    let r = ring(7, |i| 1 + i as u32);
    for key in keys(500) {
        let ranked = r.ranked(&key);
        assert_eq!(ranked.len(), 7);
        assert_eq!(Some(ranked[0]), r.owner(&key));
    }
}

#[test]
fn member_order_does_not_matter() {
    let a = ring(6, |i| 1 + (i % 2) as u32);
    let mut rev = a.members().to_vec();
    rev.reverse();
    let b = Ring::new(rev).expect("ring");
    for key in keys(2000) {
        assert_eq!(a.owner(&key), b.owner(&key));
    }
}
