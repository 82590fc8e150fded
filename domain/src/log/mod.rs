//! The transparency log over every stored audit event (DESIGN.md §10): RFC 9162 Merkle
//! hashing, the RFC 8785 canonical form of a leaf, hash tiles that answer proofs without
//! rehashing the tree, and C2SP checkpoints signed as C2SP signed notes.

pub mod checkpoint;
pub mod jcs;
pub mod merkle;
pub mod note;
pub mod tiles;

pub use merkle::Hash;

/// Ascending log indexes as inclusive ranges of consecutive ones (`[0, 1, 2, 5]` is
/// `[(0, 2), (5, 5)]`): how retention records the leaves of a dropped month.
pub fn index_ranges(indexes: impl IntoIterator<Item = u64>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for i in indexes {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == i => *last = i,
            _ => out.push((i, i)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::index_ranges;

    #[test]
    fn consecutive_indexes_fold_into_ranges() {
        assert_eq!(
            index_ranges([0, 1, 2, 5, 7, 8]),
            vec![(0, 2), (5, 5), (7, 8)]
        );
        assert_eq!(index_ranges([]), vec![]);
    }
}
