//! RFC 9162 §2.1 Merkle tree hashing with SHA-256.

use sha2::{Digest, Sha256};

/// A SHA-256 hash of the log: a leaf hash, a node hash or a root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Hash {
    /// Standard base64 (with padding), as checkpoints and proofs carry hashes.
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// The inverse of [`Hash::to_base64`]; `None` unless it decodes to exactly 32 bytes.
    pub fn from_base64(text: &str) -> Option<Self> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?;
        Some(Self(bytes.try_into().ok()?))
    }
}

/// `MTH({d0}) = SHA-256(0x00 || d0)`.
pub fn leaf_hash(leaf_input: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf_input);
    Hash(h.finalize().into())
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The hash of the empty tree, `SHA-256()`.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// Why a proof failed to verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// An inclusion proof named a leaf that is not in the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A consistency proof needs `0 < first <= second`.
    #[error("tree size {first} cannot be proven consistent with tree size {second}")]
    InvalidSizes { first: u64, second: u64 },
    /// The path has more hashes than the tree sizes allow.
    #[error("the proof path is too long for the tree size")]
    PathTooLong,
    /// The path ran out before reaching the root.
    #[error("the proof path is too short for the tree size")]
    PathTooShort,
    /// The path does not lead from the leaf (or the older tree) to the claimed root.
    #[error("the proof does not lead to the claimed root")]
    RootMismatch,
    /// A consistency proof does not rebuild the root of the older tree.
    #[error("the proof does not lead to the root of the first tree")]
    FirstRootMismatch,
    /// A consistency proof does not rebuild the root of the newer tree.
    #[error("the proof does not lead to the root of the second tree")]
    SecondRootMismatch,
}

/// The largest power of two strictly below `n`, the split point `k` of RFC 9162 §2.1.1;
/// `n` must be at least 2.
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// `MTH(D[n])` of RFC 9162 §2.1.1, over leaf hashes rather than leaf inputs.
///
/// This is the plain recursive definition: the reference the tile-based code is tested
/// against, and cheap enough for the small trees held in memory.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let k = split_point(leaves.len());
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// `PATH(m, D[n])` of RFC 9162 §2.1.3.1, the inclusion proof of leaf `index`.
///
/// An index outside the tree has no proof; it gets an empty path, which
/// [`verify_inclusion`] rejects for such an index whatever the root.
pub fn inclusion_path(leaves: &[Hash], index: u64) -> Vec<Hash> {
    let mut path = Vec::new();
    if let Ok(m) = usize::try_from(index)
        && m < leaves.len()
    {
        push_inclusion_path(&mut path, leaves, m);
    }
    path
}

/// Appends `PATH(m, leaves)` leaf-side first, so the recursion adds its sibling afterwards.
fn push_inclusion_path(path: &mut Vec<Hash>, leaves: &[Hash], m: usize) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len());
    if m < k {
        push_inclusion_path(path, &leaves[..k], m);
        path.push(root_of(&leaves[k..]));
    } else {
        push_inclusion_path(path, &leaves[k..], m - k);
        path.push(root_of(&leaves[..k]));
    }
}

/// `PROOF(m, D[n])` of RFC 9162 §2.1.4.1, proving the first `first` leaves are a prefix.
///
/// Sizes with nothing to prove (`first` of 0, or not below the tree size) get an empty path.
pub fn consistency_path(leaves: &[Hash], first: u64) -> Vec<Hash> {
    let mut path = Vec::new();
    if let Ok(m) = usize::try_from(first)
        && 0 < m
        && m < leaves.len()
    {
        push_subproof(&mut path, leaves, m, true);
    }
    path
}

/// `SUBPROOF(m, D[n], b)`, where `b` says whether `D[0:m]` is the whole older tree, whose
/// root the verifier already holds and so need not be sent.
fn push_subproof(path: &mut Vec<Hash>, leaves: &[Hash], m: usize, b: bool) {
    if m == leaves.len() {
        if !b {
            path.push(root_of(leaves));
        }
        return;
    }
    let k = split_point(leaves.len());
    if m <= k {
        push_subproof(path, &leaves[..k], m, b);
        path.push(root_of(&leaves[k..]));
    } else {
        push_subproof(path, &leaves[k..], m - k, false);
        path.push(root_of(&leaves[..k]));
    }
}

/// Right-shifts `fnode` and `snode` together while `fnode` is a right child that is not the
/// last node of its level (the RFC's "until either LSB(fn) is set or fn is 0").
fn skip_to_right_child(fnode: &mut u64, snode: &mut u64) {
    while *fnode != 0 && *fnode & 1 == 0 {
        *fnode >>= 1;
        *snode >>= 1;
    }
}

/// Verifies an inclusion proof as RFC 9162 §2.1.3.2 describes.
pub fn verify_inclusion(
    leaf_index: u64,
    tree_size: u64,
    leaf: &Hash,
    path: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if leaf_index >= tree_size {
        return Err(ProofError::IndexOutOfRange {
            index: leaf_index,
            size: tree_size,
        });
    }
    // `fnode` walks up from the leaf and `snode` from the last leaf; once they meet, the
    // remaining siblings are all on the left.
    let mut fnode = leaf_index;
    let mut snode = tree_size - 1;
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return Err(ProofError::PathTooLong);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            skip_to_right_child(&mut fnode, &mut snode);
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::PathTooShort);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies a consistency proof as RFC 9162 §2.1.4.2 describes.
///
/// Equal sizes are consistent exactly when the roots agree and the path is empty, which the
/// RFC leaves to the caller; a first size of 0 is not provable.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    path: &[Hash],
) -> Result<(), ProofError> {
    if first == 0 || first > second {
        return Err(ProofError::InvalidSizes { first, second });
    }
    if first == second {
        if !path.is_empty() {
            return Err(ProofError::PathTooLong);
        }
        if first_root != second_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    let Some((head, tail)) = path.split_first() else {
        return Err(ProofError::PathTooShort);
    };
    // When the older tree is a complete subtree its root is the proof's implicit first
    // element, so the iteration starts there and consumes the whole sent path.
    let (start, rest) = if first.is_power_of_two() {
        (first_root, path)
    } else {
        (head, tail)
    };
    let mut fnode = first - 1;
    let mut snode = second - 1;
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let mut fr = *start;
    let mut sr = *start;
    for c in rest {
        if snode == 0 {
            return Err(ProofError::PathTooLong);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            skip_to_right_child(&mut fnode, &mut snode);
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::PathTooShort);
    }
    if fr != *first_root {
        return Err(ProofError::FirstRootMismatch);
    }
    if sr != *second_root {
        return Err(ProofError::SecondRootMismatch);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn h(text: &str) -> Hash {
        Hash(unhex(text).try_into().unwrap())
    }

    /// The leaf inputs of the RFC 6962 reference test data used by CT's Merkle tree tests.
    fn ct_leaves() -> Vec<Hash> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|input| leaf_hash(&unhex(input)))
        .collect()
    }

    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn ct_roots() {
        assert_eq!(
            root_of(&[]),
            h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        let leaves = ct_leaves();
        for (n, expected) in CT_ROOTS.iter().enumerate() {
            assert_eq!(root_of(&leaves[..=n]), h(expected), "size {}", n + 1);
        }
    }

    #[test]
    fn ct_inclusion_proofs() {
        let leaves = ct_leaves();
        let vectors: [(u64, u64, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, expected) in vectors {
            let expected: Vec<Hash> = expected.iter().map(|x| h(x)).collect();
            let tree = &leaves[..size as usize];
            assert_eq!(inclusion_path(tree, index), expected, "({index}, {size})");
            let root = h(CT_ROOTS[size as usize - 1]);
            assert_eq!(
                verify_inclusion(index, size, &leaves[index as usize], &expected, &root),
                Ok(())
            );
        }
    }

    #[test]
    fn ct_consistency_proofs() {
        let leaves = ct_leaves();
        let vectors: [(u64, u64, &[&str]); 3] = [
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (first, second, expected) in vectors {
            let expected: Vec<Hash> = expected.iter().map(|x| h(x)).collect();
            let tree = &leaves[..second as usize];
            assert_eq!(
                consistency_path(tree, first),
                expected,
                "({first}, {second})"
            );
            let first_root = h(CT_ROOTS[first as usize - 1]);
            let second_root = h(CT_ROOTS[second as usize - 1]);
            assert_eq!(
                verify_consistency(first, second, &first_root, &second_root, &expected),
                Ok(())
            );
        }
    }

    /// Distinct leaves, so that no two subtrees share a hash.
    fn numbered_leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    fn flipped(hash: &Hash) -> Hash {
        let mut bytes = hash.0;
        bytes[7] ^= 0x10;
        Hash(bytes)
    }

    const MAX: u64 = 40;

    #[test]
    fn every_inclusion_proof_verifies_and_tampering_fails() {
        let all = numbered_leaves(MAX + 1);
        let roots: Vec<Hash> = (0..=MAX + 1).map(|n| root_of(&all[..n as usize])).collect();
        // paths[n][m] is PATH(m, D[n]), computed once: the debug-build hashing is slow.
        let paths: Vec<Vec<Vec<Hash>>> = (0..=MAX + 1)
            .map(|n| {
                (0..n)
                    .map(|m| inclusion_path(&all[..n as usize], m))
                    .collect()
            })
            .collect();
        for size in 1..=MAX {
            let tree = &all[..size as usize];
            let root = roots[size as usize];
            for index in 0..size {
                let leaf = tree[index as usize];
                let path = paths[size as usize][index as usize].clone();
                assert_eq!(verify_inclusion(index, size, &leaf, &path, &root), Ok(()));

                assert!(verify_inclusion(index, size, &flipped(&leaf), &path, &root).is_err());
                assert!(verify_inclusion(index, size, &leaf, &path, &flipped(&root)).is_err());
                for i in 0..path.len() {
                    let mut bad = path.clone();
                    bad[i] = flipped(&bad[i]);
                    assert!(verify_inclusion(index, size, &leaf, &bad, &root).is_err());
                }
                let mut longer = path.clone();
                longer.push(root);
                assert_eq!(
                    verify_inclusion(index, size, &leaf, &longer, &root),
                    Err(ProofError::PathTooLong)
                );
                if !path.is_empty() {
                    assert_eq!(
                        verify_inclusion(index, size, &leaf, &path[..path.len() - 1], &root),
                        Err(ProofError::PathTooShort)
                    );
                }
                for other in 0..=size {
                    if other != index {
                        assert!(verify_inclusion(other, size, &leaf, &path, &root).is_err());
                    }
                }
                // Claiming another size, with that tree's true root, verifies only where the
                // path happens to be that tree's proof too.
                for other in 1..=MAX + 1 {
                    if other != size {
                        let result =
                            verify_inclusion(index, other, &leaf, &path, &roots[other as usize]);
                        let other_path = paths[other as usize].get(index as usize);
                        assert_eq!(
                            result.is_ok(),
                            other_path == Some(&path),
                            "({index}, {size}→{other})"
                        );
                    }
                }
            }
        }
        assert_eq!(
            verify_inclusion(0, 0, &all[0], &[], &empty_root()),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert!(inclusion_path(&all[..3], 3).is_empty());
    }

    #[test]
    fn every_consistency_proof_verifies_and_tampering_fails() {
        let all = numbered_leaves(MAX + 1);
        let roots: Vec<Hash> = (0..=MAX + 1).map(|n| root_of(&all[..n as usize])).collect();
        // paths[n][m] is PROOF(m, D[n]), computed once: the debug-build hashing is slow.
        let paths: Vec<Vec<Vec<Hash>>> = (0..=MAX + 1)
            .map(|n| {
                (0..=n)
                    .map(|m| consistency_path(&all[..n as usize], m))
                    .collect()
            })
            .collect();
        for second in 1..=MAX {
            let second_root = roots[second as usize];
            for first in 1..=second {
                let first_root = roots[first as usize];
                let path = paths[second as usize][first as usize].clone();
                assert_eq!(
                    verify_consistency(first, second, &first_root, &second_root, &path),
                    Ok(()),
                    "({first}, {second})"
                );

                assert!(
                    verify_consistency(first, second, &flipped(&first_root), &second_root, &path)
                        .is_err()
                );
                assert!(
                    verify_consistency(first, second, &first_root, &flipped(&second_root), &path)
                        .is_err()
                );
                for i in 0..path.len() {
                    let mut bad = path.clone();
                    bad[i] = flipped(&bad[i]);
                    assert!(
                        verify_consistency(first, second, &first_root, &second_root, &bad).is_err()
                    );
                }
                let mut longer = path.clone();
                longer.push(second_root);
                assert!(
                    verify_consistency(first, second, &first_root, &second_root, &longer).is_err()
                );
                if !path.is_empty() {
                    assert!(
                        verify_consistency(
                            first,
                            second,
                            &first_root,
                            &second_root,
                            &path[..path.len() - 1]
                        )
                        .is_err()
                    );
                }
                // Claiming other sizes, with those sizes' true roots, verifies only where the
                // path happens to be the true proof for them too.
                let mut claims = vec![(first - 1, second - 1), (first + 1, second + 1)];
                for other in 0..=MAX + 1 {
                    claims.push((other, second));
                    claims.push((first, other));
                }
                for (other_first, other_second) in claims {
                    if (other_first, other_second) == (first, second) {
                        continue;
                    }
                    let result = verify_consistency(
                        other_first,
                        other_second,
                        &roots[other_first as usize],
                        &roots[other_second as usize],
                        &path,
                    );
                    let valid = 0 < other_first
                        && other_first <= other_second
                        && paths[other_second as usize][other_first as usize] == path;
                    assert_eq!(
                        result.is_ok(),
                        valid,
                        "({first}, {second}) as ({other_first}, {other_second})"
                    );
                }
            }
        }
        let root = roots[3];
        assert_eq!(
            verify_consistency(0, 3, &empty_root(), &root, &[]),
            Err(ProofError::InvalidSizes {
                first: 0,
                second: 3
            })
        );
        assert_eq!(
            verify_consistency(4, 3, &roots[4], &root, &[]),
            Err(ProofError::InvalidSizes {
                first: 4,
                second: 3
            })
        );
        assert_eq!(
            verify_consistency(3, 3, &root, &root, &[root]),
            Err(ProofError::PathTooLong)
        );
        assert_eq!(
            verify_consistency(3, 3, &root, &roots[2], &[]),
            Err(ProofError::RootMismatch)
        );
        assert_eq!(
            verify_consistency(2, 3, &roots[2], &root, &[]),
            Err(ProofError::PathTooShort)
        );
        assert!(consistency_path(&all[..3], 0).is_empty());
        assert!(consistency_path(&all[..3], 3).is_empty());
    }
}
