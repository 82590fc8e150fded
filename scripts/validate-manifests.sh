#!/usr/bin/env bash
# Validates every Kubernetes manifest under deploy/kubernetes offline: core kinds against the
# Kubernetes JSON schemas bundled in the PyPI package kubernetes-validate (strict: unknown
# fields fail), the ServiceMonitor CRD against deploy/kubernetes/schemas, and every
# kustomization's references (resources and generator files). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/services.sh
. scripts/lib/services.sh
KUBERNETES_VERSION="${KUBERNETES_VERSION:-1.30.0}"
venv="$(ds_tools_dir)/validate-venv"
if ! "$venv/bin/python" -c "import kubernetes_validate" 2>/dev/null; then
  echo "[manifests] installing kubernetes-validate from PyPI" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "kubernetes-validate==1.37.0"
fi
"$venv/bin/python" - "$KUBERNETES_VERSION" <<'PY'
import glob, json, os, sys
import jsonschema, yaml
import kubernetes_validate

version = sys.argv[1]
passed, failed = 0, []
crds = {"ServiceMonitor": json.load(open("deploy/kubernetes/schemas/servicemonitor-monitoring-v1.json"))}
def merge(base, patch):
    """A strategic merge as kustomize does it for these manifests: maps merged key by key,
    lists of named items merged by name, anything else replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base[k], v) if k in base else v
        return out
    if isinstance(base, list) and isinstance(patch, list) and all(
            isinstance(i, dict) and "name" in i for i in base + patch):
        out = list(base)
        for item in patch:
            at = next((n for n, b in enumerate(out) if b["name"] == item["name"]), None)
            if at is None:
                out.append(item)
            else:
                out[at] = merge(out[at], item)
        return out
    return patch

def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]

# A kustomization's patches are partial documents: each is validated merged onto the resource
# of the base it names (kind and name), not on its own.
patches = {}
for path in glob.glob("deploy/kubernetes/**/kustomization.yaml", recursive=True):
    for doc in load(path):
        base = os.path.dirname(path)
        for patch in doc.get("patches", []):
            if "path" in patch:
                patches[os.path.normpath(os.path.join(base, patch["path"]))] = [
                    os.path.normpath(os.path.join(base, r)) for r in doc.get("resources", [])]
def base_docs(dirs):
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, "*.yaml"))):
            if os.path.basename(path) != "kustomization.yaml":
                yield from load(path)

for path in sorted(glob.glob("deploy/kubernetes/**/*.yaml", recursive=True)):
    docs = load(path)
    if os.path.normpath(path) in patches:
        merged = []
        for doc in docs:
            target = next((b for b in base_docs(patches[os.path.normpath(path)])
                           if b.get("kind") == doc.get("kind")
                           and b.get("metadata", {}).get("name") == doc.get("metadata", {}).get("name")), None)
            if target is None:
                failed.append(f"{path}: patches {doc.get('kind')} {doc.get('metadata', {}).get('name')}, which no base resource is")
                continue
            merged.append(merge(target, doc))
        docs = merged
    for doc in docs:
        what = f"{path}: {doc.get('kind')} {doc.get('metadata', {}).get('name', '')}"
        try:
            if doc.get("kind") == "Kustomization":
                base = os.path.dirname(path)
                for ref in doc.get("resources", []):
                    if not os.path.exists(os.path.join(base, ref)):
                        raise ValueError(f"resource {ref} does not exist")
                for gen in doc.get("configMapGenerator", []):
                    for ref in gen.get("files", []):
                        if not os.path.exists(os.path.join(base, ref.split("=")[-1])):
                            raise ValueError(f"configMapGenerator file {ref} does not exist")
            elif doc.get("kind") in crds:
                jsonschema.validate(doc, crds[doc["kind"]])
            else:
                kubernetes_validate.validate(doc, version, strict=True)
            passed += 1
        except Exception as e:  # every failure is reported, not just the first
            failed.append(f"{what}: {e}")
for f in failed:
    print(f"FAILED {f}")
print(f"manifests: {passed} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
PY
