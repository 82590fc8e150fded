#!/usr/bin/env bash
# Supply-chain check: cargo-deny over the dependency graph (deny.toml): security advisories
# from the RustSec snapshot, licences, duplicate crates, sources. Offline: these machines cannot
# fetch the advisory database, so it reads the dated snapshot at
# ${DS_ADVISORY_DB:-<repo>/../shared/advisory-db}, else the copy of that snapshot committed in
# supply-chain/, and fails when none is there (never a silent skip). cargo-deny is built once (pinned, --locked) into the tools directory and reused.
# Exits non-zero on any finding deny.toml does not allow.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh

CARGO_DENY_VERSION=0.20.2
# The directory name cargo-deny gives the default RustSec database (a hash of its URL) under
# its db-path.
DENY_DB_DIR=advisory-db-3157b0e258782691

tools="$(ds_tools_dir)/cargo"
deny="$tools/bin/cargo-deny"
if ! "$deny" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
  echo "[supply-chain] building cargo-deny $CARGO_DENY_VERSION into $tools (once; ~3-4 min)" >&2
  # Its own scratch target: the workspace's shared target dir is for the workspace.
  env -u CARGO_TARGET_DIR cargo install --quiet --locked --root "$tools" \
    "cargo-deny@$CARGO_DENY_VERSION"
fi

# The snapshot: DS_ADVISORY_DB, else the team's shared one beside the checkout, else the copy
# committed under supply-chain/ (the same dated snapshot, so CI does not depend on where the
# checkout is). Named either way; a missing or unreadable one fails.
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
snapshot="${DS_ADVISORY_DB:-$(pwd)/../shared/advisory-db}"
if [ -z "${DS_ADVISORY_DB:-}" ] && [ ! -d "$snapshot/crates" ]; then
  bundled="$(ls supply-chain/rustsec-advisory-db-*.tar.gz 2>/dev/null | sort | tail -1)"
  if [ -n "$bundled" ]; then
    mkdir -p "$root/bundled"
    tar xzf "$bundled" -C "$root/bundled"
    snapshot="$root/bundled/advisory-db"
  fi
fi
if [ ! -d "$snapshot/crates" ]; then
  echo "[supply-chain] FAILED: no RustSec advisory snapshot at $snapshot (expected crates/ in it)." >&2
  echo "[supply-chain] Set DS_ADVISORY_DB to the snapshot's directory (shared/advisory-db)." >&2
  exit 1
fi
# The snapshot's date, from its SNAPSHOT.md ("... (YYYY-MM-DD)"): cargo-deny reads the
# database's age from its git HEAD, and the snapshot is a plain directory.
snapshot_date="$(grep -oE '\(20[0-9]{2}-[0-9]{2}-[0-9]{2}\)' "$snapshot/SNAPSHOT.md" 2>/dev/null |
  head -n1 | tr -d '()')" || true
if [ -z "$snapshot_date" ]; then
  echo "[supply-chain] FAILED: $snapshot/SNAPSHOT.md names no date (YYYY-MM-DD)" >&2
  exit 1
fi

# cargo-deny wants its database as a git checkout under db-path: a scratch copy (8 MB) committed
# with the snapshot's date.
cp -R "$snapshot" "$root/$DENY_DB_DIR"
chmod -R u+w "$root/$DENY_DB_DIR"
(
  cd "$root/$DENY_DB_DIR"
  export GIT_AUTHOR_DATE="${snapshot_date}T00:00:00Z" GIT_COMMITTER_DATE="${snapshot_date}T00:00:00Z"
  git init -q
  git add -A
  git -c user.name=snapshot -c user.email=snapshot@localhost -c commit.gpgsign=false \
    commit -q -m "RustSec advisory-db snapshot of $snapshot_date"
)
# Every crate of the lockfile, every target's (cargo-deny reads their manifests offline; a build
# downloads only this platform's).
cargo fetch --locked --quiet
echo "[supply-chain] cargo-deny $CARGO_DENY_VERSION, advisories as of $snapshot_date ($snapshot)" >&2
DS_DENY_DB_ROOT="$root" "$deny" deny --offline --locked --color never check \
  --hide-inclusion-graph advisories licenses bans sources
