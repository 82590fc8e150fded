//! The log's hashes stored as tiles, as C2SP tlog-tiles lays them out: a tile at level `L`
//! holds up to 256 consecutive hashes of tree level `8·L` (level 0: leaf hashes). A full tile's
//! root is one hash of the tile above. Any hash a proof needs is then a fold of at most 128
//! hashes of one tile, so a proof reads a handful of tiles at any size instead of rehashing
//! the tree.

use std::collections::{BTreeSet, HashMap};

use super::merkle::{Hash, empty_root, node_hash};

/// Hashes per full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels a tile spans (`2^TILE_HEIGHT == TILE_WIDTH`).
pub const TILE_HEIGHT: u8 = 8;

/// Where a tile sits: its level and its index among the tiles of that level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub level: u8,
    pub index: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// A hash was needed from a tile that was not supplied or is too narrow: the tiles read do
    /// not belong to a log of the size asked about.
    #[error("tile {level}/{index} is missing or holds fewer than {needed} hashes")]
    Missing { level: u8, index: u64, needed: u64 },
    #[error("tree size {size} is out of range for {what}")]
    OutOfRange { what: &'static str, size: u64 },
}

/// Tiles in hand, by id; each holds its hashes in order (a partial tile fewer than 256).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TileSet {
    tiles: HashMap<TileId, Vec<Hash>>,
}

impl TileSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, id: TileId, hashes: Vec<Hash>) {
        self.tiles.insert(id, hashes);
    }

    pub fn get(&self, id: &TileId) -> Option<&[Hash]> {
        self.tiles.get(id).map(Vec::as_slice)
    }

    /// Hash of the complete subtree of `2^level` leaves starting at leaf `index << level`.
    fn subtree(&self, level: u8, index: u64) -> Result<Hash, TileError> {
        let tile_level = level / TILE_HEIGHT;
        let rest = level % TILE_HEIGHT;
        let first = index << rest;
        let count = 1u64 << rest;
        let id = TileId {
            level: tile_level,
            index: first / TILE_WIDTH,
        };
        let offset = (first % TILE_WIDTH) as usize;
        let needed = offset as u64 + count;
        let hashes = self
            .tiles
            .get(&id)
            .filter(|t| t.len() as u64 >= needed)
            .ok_or(TileError::Missing {
                level: id.level,
                index: id.index,
                needed,
            })?;
        Ok(fold(&hashes[offset..offset + count as usize]))
    }
}

/// Root of a power-of-two run of hashes of one level.
fn fold(hashes: &[Hash]) -> Hash {
    let mut layer: Vec<Hash> = hashes.to_vec();
    while layer.len() > 1 {
        layer = layer.chunks(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    layer[0]
}

/// Largest power of two strictly below `n` (n ≥ 2), RFC 9162's split point.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Something that answers complete-subtree hashes: the tiles, or a recorder of which tiles
/// a computation would read.
trait Subtrees {
    fn subtree(&mut self, level: u8, index: u64) -> Result<Hash, TileError>;
}

impl Subtrees for &TileSet {
    fn subtree(&mut self, level: u8, index: u64) -> Result<Hash, TileError> {
        TileSet::subtree(self, level, index)
    }
}

/// Records the tiles a computation reads and answers a placeholder.
#[derive(Default)]
struct Recorder(BTreeSet<TileId>);

impl Subtrees for Recorder {
    fn subtree(&mut self, level: u8, index: u64) -> Result<Hash, TileError> {
        let first = index << (level % TILE_HEIGHT);
        self.0.insert(TileId {
            level: level / TILE_HEIGHT,
            index: first / TILE_WIDTH,
        });
        Ok(Hash([0; 32]))
    }
}

/// MTH of the leaves `[start, start + size)`, `start` a multiple of the largest power of two
/// not above `size` (as every range of RFC 9162's recursion is).
fn range_hash(src: &mut impl Subtrees, start: u64, size: u64) -> Result<Hash, TileError> {
    if size.is_power_of_two() {
        let level = size.trailing_zeros() as u8;
        return src.subtree(level, start >> level);
    }
    let k = split(size);
    let left = range_hash(src, start, k)?;
    let right = range_hash(src, start + k, size - k)?;
    Ok(node_hash(&left, &right))
}

fn root_from(src: &mut impl Subtrees, size: u64) -> Result<Hash, TileError> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(src, 0, size)
}

/// RFC 9162 §2.1.3.1 PATH(m, D[start:start+n]).
fn path_from(
    src: &mut impl Subtrees,
    m: u64,
    start: u64,
    n: u64,
    out: &mut Vec<Hash>,
) -> Result<(), TileError> {
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path_from(src, m, start, k, out)?;
        out.push(range_hash(src, start + k, n - k)?);
    } else {
        path_from(src, m - k, start + k, n - k, out)?;
        out.push(range_hash(src, start, k)?);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.1 SUBPROOF(m, D[start:start+n], b).
fn subproof_from(
    src: &mut impl Subtrees,
    m: u64,
    start: u64,
    n: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), TileError> {
    if m == n {
        if !complete {
            out.push(range_hash(src, start, n)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof_from(src, m, start, k, complete, out)?;
        out.push(range_hash(src, start + k, n - k)?);
    } else {
        subproof_from(src, m - k, start + k, n - k, false, out)?;
        out.push(range_hash(src, start, k)?);
    }
    Ok(())
}

fn inclusion_from(src: &mut impl Subtrees, index: u64, size: u64) -> Result<Vec<Hash>, TileError> {
    if index >= size {
        return Err(TileError::OutOfRange {
            what: "an inclusion proof",
            size,
        });
    }
    let mut out = Vec::new();
    path_from(src, index, 0, size, &mut out)?;
    Ok(out)
}

fn consistency_from(
    src: &mut impl Subtrees,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, TileError> {
    if first == 0 || first > second {
        return Err(TileError::OutOfRange {
            what: "a consistency proof",
            size: first,
        });
    }
    let mut out = Vec::new();
    if first < second {
        subproof_from(src, first, 0, second, true, &mut out)?;
    }
    Ok(out)
}

/// What a proof or root will read, so that an adapter fetches exactly those tiles first.
pub mod needs {
    use super::*;

    pub fn root(size: u64) -> BTreeSet<TileId> {
        let mut r = Recorder::default();
        let _ = root_from(&mut r, size);
        r.0
    }

    pub fn inclusion(index: u64, size: u64) -> BTreeSet<TileId> {
        let mut r = Recorder::default();
        let _ = inclusion_from(&mut r, index, size);
        r.0.insert(TileId {
            level: 0,
            index: index / TILE_WIDTH,
        });
        r.0
    }

    pub fn consistency(first: u64, second: u64) -> BTreeSet<TileId> {
        let mut r = Recorder::default();
        let _ = consistency_from(&mut r, first, second);
        r.0
    }

    /// The partial tile of each level, which an append extends.
    pub fn edge(size: u64) -> BTreeSet<TileId> {
        let mut out = BTreeSet::new();
        let mut count = size;
        let mut level = 0u8;
        while count > 0 {
            if !count.is_multiple_of(TILE_WIDTH) {
                out.insert(TileId {
                    level,
                    index: count / TILE_WIDTH,
                });
            }
            count /= TILE_WIDTH;
            level += 1;
        }
        out
    }
}

impl TileSet {
    /// Root of the log's first `size` leaves.
    ///
    /// # Errors
    /// [`TileError::Missing`] when a tile of [`needs::root`] is not here.
    pub fn root(&self, size: u64) -> Result<Hash, TileError> {
        root_from(&mut &*self, size)
    }

    /// Leaf hash at `index`.
    ///
    /// # Errors
    /// [`TileError::Missing`].
    pub fn leaf(&self, index: u64) -> Result<Hash, TileError> {
        TileSet::subtree(self, 0, index)
    }

    /// RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves.
    ///
    /// # Errors
    /// [`TileError::OutOfRange`] unless `index < size`; [`TileError::Missing`].
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TileError> {
        inclusion_from(&mut &*self, index, size)
    }

    /// RFC 9162 consistency proof from the tree of `first` leaves to that of `second`.
    ///
    /// # Errors
    /// [`TileError::OutOfRange`] unless `0 < first <= second`; [`TileError::Missing`].
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, TileError> {
        consistency_from(&mut &*self, first, second)
    }

    /// Appends `leaves` to a log of `size` leaves whose edge tiles ([`needs::edge`]) are in
    /// this set, and returns every tile that changed, with its whole new content. The set is
    /// updated too, so it can answer for the new size.
    ///
    /// # Errors
    /// [`TileError::Missing`] when an edge tile is not here.
    pub fn append(&mut self, size: u64, leaves: &[Hash]) -> Result<Vec<TileId>, TileError> {
        let mut changed = Vec::new();
        let mut incoming: Vec<Hash> = leaves.to_vec();
        let mut count = size;
        let mut level = 0u8;
        while !incoming.is_empty() {
            let mut index = count / TILE_WIDTH;
            let width = count % TILE_WIDTH;
            let mut tile: Vec<Hash> = if width == 0 {
                Vec::new()
            } else {
                let id = TileId { level, index };
                let have = self
                    .tiles
                    .get(&id)
                    .filter(|t| t.len() as u64 >= width)
                    .ok_or(TileError::Missing {
                        level,
                        index,
                        needed: width,
                    })?;
                have[..width as usize].to_vec()
            };
            let mut completed = Vec::new();
            for hash in incoming {
                tile.push(hash);
                if tile.len() as u64 == TILE_WIDTH {
                    completed.push(fold(&tile));
                    let id = TileId { level, index };
                    self.tiles.insert(id, std::mem::take(&mut tile));
                    changed.push(id);
                    index += 1;
                }
            }
            if !tile.is_empty() {
                let id = TileId { level, index };
                self.tiles.insert(id, tile);
                changed.push(id);
            }
            incoming = completed;
            count /= TILE_WIDTH;
            level += 1;
        }
        Ok(changed)
    }
}

/// Tile content as stored: the hashes back to back.
pub fn encode(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

/// The inverse of [`encode`]; `None` when the length is not a multiple of 32 or over a tile.
pub fn decode(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(32) || bytes.len() as u64 > TILE_WIDTH * 32 {
        return None;
    }
    bytes
        .chunks(32)
        .map(|c| c.try_into().ok().map(Hash))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::log::merkle::{
        consistency_path, inclusion_path, leaf_hash, root_of, verify_consistency, verify_inclusion,
    };

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// Builds the tiles by appending in uneven chunks, as the sequencer would.
    fn tiled(all: &[Hash], chunk: usize) -> TileSet {
        let mut set = TileSet::new();
        let mut size = 0u64;
        for part in all.chunks(chunk.max(1)) {
            set.append(size, part).unwrap();
            size += part.len() as u64;
        }
        set
    }

    #[test]
    fn roots_and_proofs_from_tiles_equal_the_reference_at_sizes_around_tile_edges() {
        let all = leaves(66_000);
        let set = tiled(&all, 997);
        for size in [
            1u64, 2, 3, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537, 66_000,
        ] {
            let prefix = &all[..size as usize];
            let root = set.root(size).unwrap();
            assert_eq!(root, root_of(prefix), "root at {size}");
            for index in [0, size / 2, size - 1] {
                let path = set.inclusion_proof(index, size).unwrap();
                if size <= 513 {
                    assert_eq!(path, inclusion_path(prefix, index));
                }
                verify_inclusion(index, size, &all[index as usize], &path, &root).unwrap();
            }
            for first in [1, size / 3, size - 1] {
                if first == 0 {
                    continue;
                }
                let path = set.consistency_proof(first, size).unwrap();
                if size <= 513 {
                    assert_eq!(path, consistency_path(prefix, first));
                }
                let first_root = set.root(first).unwrap();
                verify_consistency(first, size, &first_root, &root, &path).unwrap();
            }
        }
    }

    #[test]
    fn only_the_tiles_named_by_needs_are_read() {
        let all = leaves(70_000);
        let full = tiled(&all, 4096);
        let only = |ids: BTreeSet<TileId>| {
            let mut set = TileSet::new();
            for id in ids {
                set.insert(id, full.get(&id).unwrap().to_vec());
            }
            set
        };
        assert_eq!(only(needs::root(69_999)).root(69_999), full.root(69_999));
        assert_eq!(
            only(needs::inclusion(12_345, 69_000)).inclusion_proof(12_345, 69_000),
            full.inclusion_proof(12_345, 69_000)
        );
        assert_eq!(
            only(needs::consistency(300, 69_000)).consistency_proof(300, 69_000),
            full.consistency_proof(300, 69_000)
        );
        let mut edge = only(needs::edge(69_999));
        let mut whole = full.clone();
        let next = [leaf_hash(b"next")];
        let _ = edge.append(69_999, &next).unwrap();
        whole.append(69_999, &next).unwrap();
        assert_eq!(edge.root(70_000).unwrap(), whole.root(70_000).unwrap());
    }

    #[test]
    fn a_missing_or_short_tile_is_reported_not_guessed() {
        let set = tiled(&leaves(300), 300);
        let mut short = TileSet::new();
        short.insert(
            TileId { level: 0, index: 0 },
            set.get(&TileId { level: 0, index: 0 }).unwrap().to_vec(),
        );
        assert!(matches!(short.root(300), Err(TileError::Missing { .. })));
        assert!(matches!(
            set.inclusion_proof(300, 300),
            Err(TileError::OutOfRange { .. })
        ));
        assert!(matches!(
            set.consistency_proof(0, 300),
            Err(TileError::OutOfRange { .. })
        ));
    }

    #[test]
    fn append_reports_each_changed_tile_once_with_full_tiles_promoted() {
        let mut set = TileSet::new();
        let changed = set.append(0, &leaves(600)).unwrap();
        assert_eq!(
            changed,
            vec![
                TileId { level: 0, index: 0 },
                TileId { level: 0, index: 1 },
                TileId { level: 0, index: 2 },
                TileId { level: 1, index: 0 },
            ]
        );
        assert_eq!(set.get(&TileId { level: 1, index: 0 }).unwrap().len(), 2);
        assert_eq!(set.get(&TileId { level: 0, index: 2 }).unwrap().len(), 88);
    }

    #[test]
    fn tile_bytes_round_trip() {
        let hashes = leaves(3);
        assert_eq!(decode(&encode(&hashes)).unwrap(), hashes);
        assert_eq!(decode(&[0; 33]), None);
    }
}
