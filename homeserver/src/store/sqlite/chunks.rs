//! Multi-row statements in sizes that repeat.
//!
//! A statement with one placeholder group per row is new SQL for every row count, and
//! SQLite parses and plans new SQL each time (sqlx caches prepared statements by their
//! text). Write-behind batches vary in size from one to hundreds of rows, so cutting
//! them into powers of two (300 rows: 256 + 32 + 8 + 4) leaves a handful of statement
//! texts per table, each prepared once per connection and then reused.

use std::{borrow::Cow, sync::OnceLock};

/// The most rows in one statement: 13 columns × 256 rows stays far below SQLite's
/// 32,766 variables, and a bigger statement would save no round trip worth having.
pub(super) const MAX_ROWS: usize = 256;

/// `items` cut into runs whose lengths are powers of two, largest first, none above
/// [`MAX_ROWS`].
pub(super) fn pow2_chunks<T>(mut items: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let n = prev_power_of_two(items.len()).min(MAX_ROWS);
        let (head, rest) = items.split_at(n);
        items = rest;
        Some(head)
    })
}

fn prev_power_of_two(n: usize) -> usize {
    1 << (usize::BITS - 1 - n.leading_zeros())
}

/// A statement's text for each chunk size, built once. Building it for every chunk (a
/// 256-row archive insert is ~7 KB of placeholders, grown piece by piece) took ~1.5 %
/// of the server's time at 10,000 MESSAGEs a second, mostly first touches of fresh
/// memory as the string grew.
pub(super) struct BySize {
    build: fn(usize) -> String,
    texts: OnceLock<Vec<String>>,
}

impl BySize {
    /// `build(rows)` is the statement for that many rows.
    pub const fn new(build: fn(usize) -> String) -> BySize {
        BySize {
            build,
            texts: OnceLock::new(),
        }
    }

    /// The text for `rows` rows: kept for the sizes [`pow2_chunks`] cuts, built for
    /// any other.
    pub fn get(&self, rows: usize) -> Cow<'_, str> {
        if !rows.is_power_of_two() || rows > MAX_ROWS {
            return Cow::Owned((self.build)(rows));
        }
        let texts = self.texts.get_or_init(|| {
            (0..=MAX_ROWS.trailing_zeros())
                .map(|k| (self.build)(1 << k))
                .collect()
        });
        Cow::Borrowed(&texts[rows.trailing_zeros() as usize])
    }
}

/// `n` placeholders: `?, ?, ?`.
pub(super) fn list(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `rows` groups of `cols` placeholders: `(?, ?), (?, ?)`.
pub(super) fn placeholders(cols: usize, rows: usize) -> String {
    vec![format!("({})", list(cols)); rows].join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(n: usize) -> Vec<usize> {
        let v: Vec<usize> = (0..n).collect();
        let chunks: Vec<&[usize]> = pow2_chunks(&v).collect();
        // Every item once, in order.
        assert_eq!(chunks.concat(), v);
        chunks.iter().map(|c| c.len()).collect()
    }

    #[test]
    fn a_batch_is_cut_into_descending_powers_of_two() {
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(3), [2, 1]);
        assert_eq!(sizes(300), [256, 32, 8, 4]);
        assert_eq!(sizes(511), [256, 128, 64, 32, 16, 8, 4, 2, 1]);
        assert_eq!(sizes(1000), [256, 256, 256, 128, 64, 32, 8]);
    }

    #[test]
    fn statement_texts_are_kept_per_size_and_built_for_others() {
        static TEXTS: BySize = BySize::new(|n| format!("VALUES {}", placeholders(2, n)));
        assert_eq!(TEXTS.get(1), "VALUES (?, ?)");
        assert_eq!(TEXTS.get(4), "VALUES (?, ?), (?, ?), (?, ?), (?, ?)");
        assert!(matches!(TEXTS.get(MAX_ROWS), Cow::Borrowed(_)));
        let odd = TEXTS.get(3);
        assert!(matches!(odd, Cow::Owned(_)));
        assert_eq!(odd, "VALUES (?, ?), (?, ?), (?, ?)");
        assert_eq!(TEXTS.get(MAX_ROWS).matches('?').count(), 2 * MAX_ROWS);
    }

    #[test]
    fn only_a_few_statement_sizes_occur() {
        let mut seen = std::collections::BTreeSet::new();
        for n in 1..=2000 {
            seen.extend(sizes(n));
        }
        assert_eq!(seen.len(), 9, "sizes seen: {seen:?}");
        assert!(seen.iter().all(|s| s.is_power_of_two() && *s <= MAX_ROWS));
    }
}
