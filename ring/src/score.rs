//! Scores for weighted rendezvous hashing, in integers only.
//!
//! For a key and a member with weight `w` and hash `h`, the classic score is
//! `-w / ln(u)` with `u = (h + 1) / 2^64` uniform in (0, 1]; the highest score wins and each
//! member wins a share of keys proportional to its weight. `ln` and `log2` differ only by
//! a constant factor, which cancels in comparisons, so we use a fixed-point `-log2(u)` with
//! 32 fractional bits computed by repeated squaring: deterministic on every platform.

use std::cmp::Ordering;

use siphasher::sip::SipHasher13;

/// The ring's hash key. Changing it moves every user: never change it.
const KEY: (u64, u64) = (0x6865_7261_6c64_2d72, 0x696e_672d_7631_0000);

/// The hash of one (member, key) pair.
pub fn score_hash(member: &str, aor: &str) -> u64 {
    let mut bytes = Vec::with_capacity(member.len() + aor.len() + 1);
    bytes.extend_from_slice(member.as_bytes());
    bytes.push(0xff); // cannot occur in UTF-8, so ("ab","c") and ("a","bc") differ
    bytes.extend_from_slice(aor.as_bytes());
    SipHasher13::new_with_keys(KEY.0, KEY.1).hash(&bytes)
}

/// `-log2((h + 1) / 2^64)` in 32.32 fixed point; 0 for `h = u64::MAX`.
pub(crate) fn neg_log2_fixed(h: u64) -> u64 {
    let x = h as u128 + 1; // 1 ..= 2^64
    let int = 127 - x.leading_zeros() as u64; // floor(log2 x), 0..=64
                                              // Mantissa in [1, 2) with 62 fractional bits.
    let mut m: u128 = if int >= 62 {
        x >> (int - 62)
    } else {
        x << (62 - int)
    };
    let mut frac = 0u64;
    for _ in 0..32 {
        m = (m * m) >> 62;
        frac <<= 1;
        if m >= 2u128 << 62 {
            m >>= 1;
            frac |= 1;
        }
    }
    let log2_x = (int << 32) | frac;
    (64u64 << 32) - log2_x
}

/// Compares the scores `wa / La` and `wb / Lb` (a zero `L` is an infinite score).
pub(crate) fn compare_weighted(wa: u32, ha: u64, wb: u32, hb: u64) -> Ordering {
    let (la, lb) = (neg_log2_fixed(ha) as u128, neg_log2_fixed(hb) as u128);
    match (la, lb) {
        (0, 0) => Ordering::Equal,
        (0, _) => Ordering::Greater,
        (_, 0) => Ordering::Less,
        _ => (wa as u128 * lb).cmp(&(wb as u128 * la)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_log_matches_known_values() {
        assert_eq!(neg_log2_fixed(u64::MAX), 0);
        assert_eq!(neg_log2_fixed((1u64 << 63) - 1), 1 << 32); // u = 1/2
        assert_eq!(neg_log2_fixed((1u64 << 62) - 1), 2 << 32); // u = 1/4
        assert_eq!(neg_log2_fixed(0), 64 << 32); // u = 2^-64
                                                 // u = 3/4: -log2(0.75) = 0.4150374992788438
        let v = neg_log2_fixed((3u64 << 62) - 1) as f64 / (1u64 << 32) as f64;
        assert!((v - 0.415_037_499_278_843_8).abs() < 1e-8, "{v}");
    }

    #[test]
    fn log_is_monotonic() {
        let mut prev = u64::MAX;
        for h in (0..64).map(|s| 1u64 << s).chain([u64::MAX]) {
            let l = neg_log2_fixed(h);
            assert!(l <= prev, "not monotonic at {h}");
            prev = l;
        }
    }

    #[test]
    fn hash_is_pinned() {
        // If this changes, every user moves: see the golden placement test.
        assert_eq!(
            score_hash("hs1", "sip:alice@example.com"),
            0x4faf_d8a1_5026_efaf
        );
        assert_ne!(score_hash("ab", "c"), score_hash("a", "bc"));
    }
}
