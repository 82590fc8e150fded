//! `log_proofs`: the transparency log's side of `scripts/bench-log.sh`.
//!
//! `tiles` builds the hash tiles of a synthetic log of `--leaves` leaves (leaf `i` is the RFC
//! 9162 leaf hash of `i` as 8 big-endian bytes) with the domain's `TileSet`, and writes them
//! to stdout as a PostgreSQL binary COPY stream of `audit_log_tiles (level, idx, hashes)`, a
//! full tile as soon as it is complete, so memory stays at the edge tiles. Beside it, the
//! roots at the asked sizes are computed independently (a stack of complete subtrees, not the
//! tiles) into a summary file; the final root must agree with the tiles' own.
//!
//! `verify` checks answers of a service serving that log: the signed checkpoint opens with the
//! service's key and carries the expected root, each inclusion proof is for the synthetic
//! leaf at its index and leads to the checkpoint's root, and each consistency proof leads from
//! a root computed here to the checkpoint's. It prints one JSON line (a `check:` row).
//!
//!     log_proofs tiles --leaves 10000000 --roots-at 1,257,5000000 --summary s.json | psql -c \
//!         "COPY audit_log_tiles (level, idx, hashes) FROM STDIN (FORMAT binary)"
//!     log_proofs verify --summary s.json --vkey vkey --checkpoint note \
//!         --inclusion proofs.jsonl --consistency consistency.jsonl

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use datastorage_domain::log::Hash;
use datastorage_domain::log::checkpoint::open_checkpoint;
use datastorage_domain::log::merkle::{
    empty_root, leaf_hash, node_hash, verify_consistency, verify_inclusion,
};
use datastorage_domain::log::note::NoteVerifier;
use datastorage_domain::log::tiles::{TILE_WIDTH, TileId, TileSet, encode, needs};
use serde_json::{Value, json};

#[derive(Debug, Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes the tiles of a synthetic log as a binary COPY stream to stdout.
    Tiles {
        #[arg(long)]
        leaves: u64,
        /// Tree sizes whose roots the summary records (for consistency proofs).
        #[arg(long, value_delimiter = ',')]
        roots_at: Vec<u64>,
        /// Where the summary goes (JSON: leaves, tiles, root, roots, seconds).
        #[arg(long)]
        summary: PathBuf,
    },
    /// Verifies a service's checkpoint and proofs against the synthetic log of a summary.
    Verify {
        #[arg(long)]
        summary: PathBuf,
        /// The service's verifier key (GET /api/v1/audit/log/vkey).
        #[arg(long)]
        vkey: PathBuf,
        /// The signed checkpoint (GET /api/v1/audit/log/checkpoint).
        #[arg(long)]
        checkpoint: PathBuf,
        /// JSON lines `{"expected_index": i, "proof": <inclusion proof answer>}`.
        #[arg(long)]
        inclusion: PathBuf,
        /// JSON lines, each a consistency proof answer whose `first` is among the summary's
        /// roots and whose `second` is the checkpoint's size.
        #[arg(long)]
        consistency: Option<PathBuf>,
    },
}

/// The synthetic leaf at `index`.
fn synthetic_leaf(index: u64) -> Hash {
    leaf_hash(&index.to_be_bytes())
}

/// The root of a growing log without its tiles: the complete subtrees of the leaves so far,
/// from the largest (leftmost) to the smallest, as RFC 9162's MTH splits them.
#[derive(Default)]
struct RootStack {
    subtrees: Vec<(Hash, u32)>,
}

impl RootStack {
    fn push(&mut self, leaf: Hash) {
        let (mut hash, mut height) = (leaf, 0);
        while let Some(&(left, h)) = self.subtrees.last() {
            if h != height {
                break;
            }
            self.subtrees.pop();
            hash = node_hash(&left, &hash);
            height += 1;
        }
        self.subtrees.push((hash, height));
    }

    fn root(&self) -> Hash {
        let mut right_to_left = self.subtrees.iter().rev();
        let Some(&(mut root, _)) = right_to_left.next() else {
            return empty_root();
        };
        for (left, _) in right_to_left {
            root = node_hash(left, &root);
        }
        root
    }
}

/// PostgreSQL's binary COPY format, for rows of (smallint, bigint, bytea).
struct CopyOut<W: Write> {
    out: W,
    rows: u64,
}

impl<W: Write> CopyOut<W> {
    fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"PGCOPY\n\xff\r\n\0")?;
        out.write_all(&0i32.to_be_bytes())?; // flags
        out.write_all(&0i32.to_be_bytes())?; // header extension length
        Ok(Self { out, rows: 0 })
    }

    fn tile(&mut self, id: TileId, hashes: &[Hash]) -> std::io::Result<()> {
        let bytes = encode(hashes);
        let index = i64::try_from(id.index).unwrap_or(i64::MAX);
        self.out.write_all(&3i16.to_be_bytes())?;
        self.out.write_all(&2i32.to_be_bytes())?;
        self.out.write_all(&i16::from(id.level).to_be_bytes())?;
        self.out.write_all(&8i32.to_be_bytes())?;
        self.out.write_all(&index.to_be_bytes())?;
        let len = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
        self.out.write_all(&len.to_be_bytes())?;
        self.out.write_all(&bytes)?;
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<u64> {
        self.out.write_all(&(-1i16).to_be_bytes())?;
        self.out.flush()?;
        Ok(self.rows)
    }
}

fn tiles(leaves: u64, roots_at: &[u64], summary: &PathBuf) -> Result<(), String> {
    let started = Instant::now();
    let io = |e: std::io::Error| format!("writing the tiles: {e}");
    let wanted: BTreeSet<u64> = roots_at
        .iter()
        .copied()
        .filter(|&s| s > 0 && s <= leaves)
        .chain([leaves])
        .collect();
    let mut roots: BTreeMap<u64, Hash> = BTreeMap::new();
    let mut stack = RootStack::default();
    let mut set = TileSet::new();
    let mut copy =
        CopyOut::new(BufWriter::with_capacity(1 << 20, std::io::stdout().lock())).map_err(io)?;
    // Chunks of whole level-0 tiles: every level-0 tile a chunk touches is complete.
    const CHUNK: u64 = 256 * TILE_WIDTH;
    let mut size = 0u64;
    while size < leaves {
        let count = CHUNK.min(leaves - size);
        let mut chunk = Vec::with_capacity(count as usize);
        for index in size..size + count {
            let leaf = synthetic_leaf(index);
            stack.push(leaf);
            if wanted.contains(&(index + 1)) {
                roots.insert(index + 1, stack.root());
            }
            chunk.push(leaf);
        }
        let changed = set.append(size, &chunk).map_err(|e| e.to_string())?;
        size += count;
        // A complete tile never changes again: out it goes. Partial ones wait for the end.
        for id in changed {
            if let Some(hashes) = set.get(&id).filter(|h| h.len() as u64 == TILE_WIDTH) {
                copy.tile(id, hashes).map_err(io)?;
            }
        }
        // Only the edge tiles are needed for the next append.
        let mut edge = TileSet::new();
        for id in needs::edge(size) {
            if let Some(hashes) = set.get(&id) {
                edge.insert(id, hashes.to_vec());
            }
        }
        set = edge;
    }
    for id in needs::edge(leaves) {
        let hashes = set.get(&id).ok_or(format!("edge tile {id:?} missing"))?;
        copy.tile(id, hashes).map_err(io)?;
    }
    let written = copy.finish().map_err(io)?;
    let root = roots.get(&leaves).copied().unwrap_or_else(empty_root);
    let from_tiles = set.root(leaves).map_err(|e| e.to_string())?;
    if from_tiles != root {
        return Err(format!(
            "the tiles' root {from_tiles:?} differs from the recomputed root {root:?}"
        ));
    }
    let roots: serde_json::Map<String, Value> = roots
        .iter()
        .map(|(s, h)| (s.to_string(), json!(h.to_base64())))
        .collect();
    let text = json!({
        "leaves": leaves,
        "tiles": written,
        "root": root.to_base64(),
        "roots": roots,
        "seconds": started.elapsed().as_secs_f64(),
    });
    std::fs::write(summary, format!("{text}\n"))
        .map_err(|e| format!("cannot write {}: {e}", summary.display()))
}

fn read(path: &PathBuf) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn hashes(value: &Value) -> Option<Vec<Hash>> {
    value
        .as_array()?
        .iter()
        .map(|h| h.as_str().and_then(Hash::from_base64))
        .collect()
}

/// What `verify` found; every failure is described in `errors` (the first few kept).
#[derive(Default)]
struct Findings {
    inclusion_checked: u64,
    inclusion_verified: u64,
    consistency_checked: u64,
    consistency_verified: u64,
    errors: Vec<String>,
}

impl Findings {
    fn fail(&mut self, what: String) {
        if self.errors.len() < 10 {
            self.errors.push(what);
        }
    }
}

fn verify_inclusions(text: &str, size: u64, root: &Hash, found: &mut Findings) {
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        found.inclusion_checked += 1;
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            found.fail(format!("not JSON: {line}"));
            continue;
        };
        let proof = &entry["proof"];
        let (Some(index), Some(tree_size), Some(leaf), Some(path)) = (
            proof["log_index"].as_u64(),
            proof["tree_size"].as_u64(),
            proof["leaf_hash"].as_str().and_then(Hash::from_base64),
            hashes(&proof["audit_path"]),
        ) else {
            found.fail(format!("not an inclusion proof: {line}"));
            continue;
        };
        if entry["expected_index"].as_u64() != Some(index) {
            found.fail(format!(
                "{}: log_index {index}, expected {}",
                proof["event_id"], entry["expected_index"]
            ));
        } else if tree_size != size {
            found.fail(format!(
                "{}: tree_size {tree_size}, expected {size}",
                proof["event_id"]
            ));
        } else if leaf != synthetic_leaf(index) {
            found.fail(format!(
                "{}: leaf hash is not the one written at {index}",
                proof["event_id"]
            ));
        } else if let Err(e) = verify_inclusion(index, size, &leaf, &path, root) {
            found.fail(format!("{}: {e}", proof["event_id"]));
        } else {
            found.inclusion_verified += 1;
        }
    }
}

fn verify_consistencies(
    text: &str,
    size: u64,
    root: &Hash,
    roots: &BTreeMap<u64, Hash>,
    found: &mut Findings,
) {
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        found.consistency_checked += 1;
        let Ok(proof) = serde_json::from_str::<Value>(line) else {
            found.fail(format!("not JSON: {line}"));
            continue;
        };
        let (Some(first), Some(second), Some(path)) = (
            proof["first"].as_u64(),
            proof["second"].as_u64(),
            hashes(&proof["consistency_path"]),
        ) else {
            found.fail(format!("not a consistency proof: {line}"));
            continue;
        };
        let Some(first_root) = roots.get(&first) else {
            found.fail(format!("no root computed for size {first}"));
            continue;
        };
        if second != size {
            found.fail(format!(
                "consistency {first}->{second}: expected second {size}"
            ));
        } else if let Err(e) = verify_consistency(first, second, first_root, root, &path) {
            found.fail(format!("consistency {first}->{second}: {e}"));
        } else {
            found.consistency_verified += 1;
        }
    }
}

fn verify(
    summary: &PathBuf,
    vkey: &PathBuf,
    checkpoint: &PathBuf,
    inclusion: &PathBuf,
    consistency: Option<&PathBuf>,
) -> Result<Value, String> {
    let summary: Value = serde_json::from_str(&read(summary)?)
        .map_err(|e| format!("the summary is not JSON: {e}"))?;
    let leaves = summary["leaves"]
        .as_u64()
        .ok_or("the summary has no leaves")?;
    let expected_root = summary["root"]
        .as_str()
        .and_then(Hash::from_base64)
        .ok_or("the summary has no root")?;
    let roots: BTreeMap<u64, Hash> = summary["roots"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(s, h)| Some((s.parse().ok()?, Hash::from_base64(h.as_str()?)?)))
                .collect()
        })
        .unwrap_or_default();
    let verifier = NoteVerifier::from_vkey(read(vkey)?.trim()).map_err(|e| e.to_string())?;
    let mut found = Findings::default();
    let (size, root, signature_ok) = match open_checkpoint(&read(checkpoint)?, &verifier, None) {
        Ok(cp) => (cp.size, cp.root, true),
        Err(e) => {
            found.fail(format!("the checkpoint does not open: {e}"));
            (0, empty_root(), false)
        }
    };
    if signature_ok && size != leaves {
        found.fail(format!("the checkpoint is of size {size}, not {leaves}"));
    }
    let root_matches = signature_ok && size == leaves && root == expected_root;
    if signature_ok && size == leaves && !root_matches {
        found.fail(format!(
            "the checkpoint's root {root:?} is not the written log's {expected_root:?}"
        ));
    }
    verify_inclusions(&read(inclusion)?, size, &root, &mut found);
    if let Some(path) = consistency {
        verify_consistencies(&read(path)?, size, &root, &roots, &mut found);
    }
    let ok = root_matches
        && found.errors.is_empty()
        && found.inclusion_verified > 0
        && found.inclusion_verified == found.inclusion_checked
        && found.consistency_verified == found.consistency_checked;
    Ok(json!({
        "figure": "check: proofs verified against the signed checkpoint",
        "tree_size": size,
        "checkpoint_signature_ok": signature_ok,
        "checkpoint_root_matches": root_matches,
        "inclusion_checked": found.inclusion_checked,
        "inclusion_verified": found.inclusion_verified,
        "consistency_checked": found.consistency_checked,
        "consistency_verified": found.consistency_verified,
        "errors": found.errors,
        "ok": ok,
    }))
}

fn main() -> ExitCode {
    let result = match Args::parse().command {
        Command::Tiles {
            leaves,
            roots_at,
            summary,
        } => tiles(leaves, &roots_at, &summary),
        Command::Verify {
            summary,
            vkey,
            checkpoint,
            inclusion,
            consistency,
        } => verify(
            &summary,
            &vkey,
            &checkpoint,
            &inclusion,
            consistency.as_ref(),
        )
        .map(|row| println!("{row}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("log_proofs: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datastorage_domain::log::merkle::root_of;

    #[test]
    fn the_stack_root_is_the_reference_root_at_every_size() {
        let leaves: Vec<Hash> = (0..600).map(synthetic_leaf).collect();
        let mut stack = RootStack::default();
        assert_eq!(stack.root(), root_of(&[]));
        for (n, leaf) in leaves.iter().enumerate() {
            stack.push(*leaf);
            assert_eq!(stack.root(), root_of(&leaves[..=n]), "size {}", n + 1);
        }
    }

    #[test]
    fn a_copy_row_is_laid_out_as_postgres_reads_it() {
        let mut written = Vec::new();
        let mut copy = CopyOut::new(&mut written).unwrap();
        copy.tile(TileId { level: 1, index: 2 }, &[Hash([7; 32])])
            .unwrap();
        assert_eq!(copy.finish().unwrap(), 1);
        let mut expected = Vec::new();
        expected.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        expected.extend_from_slice(&[0; 8]);
        expected.extend_from_slice(&[0, 3, 0, 0, 0, 2, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 2]);
        expected.extend_from_slice(&[0, 0, 0, 32]);
        expected.extend_from_slice(&[7; 32]);
        expected.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(written, expected);
    }
}
