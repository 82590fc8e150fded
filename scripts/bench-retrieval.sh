#!/usr/bin/env bash
# Retrieval quality of workflow search (issue 28): label-only, lexical-only, semantic-only and
# hybrid scoring over eval/retrieval/ with the local all-MiniLM-L6-v2 (nDCG@5, recall@5, MRR,
# top-1), and the leave-one-signal-type-out cross-validation of the fusion weights. About a
# minute once built; deterministic (no timing in it).
#
#   scripts/fetch-model.sh && scripts/bench-retrieval.sh
#   scripts/bench-retrieval.sh --lexical-weight 0.5 --label-weight 1   # other weights
#
# Table: bench/results/latest/retrieval.md and the "retrieval" block of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${OUT_DIR:-bench/results/latest}"
TARGET="${CARGO_TARGET_DIR:-target}"
mkdir -p "$OUT_DIR"
cargo build --release --locked -q -p datastorage-bench --bin retrieval-eval
"$TARGET/release/retrieval-eval" eval/retrieval --markdown "$OUT_DIR/retrieval.md.part" "$@"
{
    printf '```sh\nscripts/fetch-model.sh && scripts/bench-retrieval.sh\n```\n\n'
    printf 'Over `eval/retrieval/` (67 workflows across 10 signal types, 70 incident descriptions written\n'
    printf 'as alerts and on-call notes, graded 3/2/1), every mode searching the same catalog through the\n'
    printf 'real use-case (hard filters first). top-1: the best-graded workflow comes first. Before\n'
    printf 'lexical evidence (issue 28) hybrid was cosine + boost − penalty: nDCG@5 0.862, top-1 49/70.\n\n'
    cat "$OUT_DIR/retrieval.md.part"
} > "$OUT_DIR/retrieval.md"
rm -f "$OUT_DIR/retrieval.md.part"
python3 bench/report.py --section retrieval "Retrieval quality (scripts/bench-retrieval.sh, $(date -u +%Y-%m-%d))" "$OUT_DIR/retrieval.md"
