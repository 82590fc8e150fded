//! Whether a proof answer is the proof that was asked for.

/// An inclusion proof of event `id` (when known) at `tree_size` (when not 0), with a leaf hash
/// and a path. Whether the path leads to the signed root is for `log_proofs verify`.
pub(crate) fn proves_inclusion(body: &[u8], id: Option<&str>, tree_size: u64) -> bool {
    let Ok(proof) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let size = proof["tree_size"].as_u64().unwrap_or(0);
    id.is_none_or(|id| proof["event_id"].as_str() == Some(id))
        && (tree_size == 0 || size == tree_size)
        && proof["log_index"].as_u64().is_some_and(|i| i < size)
        && proof["leaf_hash"].is_string()
        && proof["audit_path"]
            .as_array()
            .is_some_and(|p| size == 1 || !p.is_empty())
}

/// A consistency proof from `first` to `second`, with a path unless the sizes are equal.
pub(crate) fn proves_consistency(body: &[u8], first: u64, second: u64) -> bool {
    let Ok(proof) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    proof["first"].as_u64() == Some(first)
        && proof["second"].as_u64() == Some(second)
        && proof["consistency_path"]
            .as_array()
            .is_some_and(|p| (first == second) == p.is_empty())
}
