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
for path in sorted(glob.glob("deploy/kubernetes/**/*.yaml", recursive=True)):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
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
