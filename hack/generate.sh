#!/usr/bin/env bash
# Generates the policy CRDs and deepcopy code from the Go types in pkg/policy with controller-gen
# (built by hack/tools.sh from tools/controller-gen).
# Usage: hack/generate.sh          write deploy/helm/signet/crds and pkg/policy/zz_generated.deepcopy.go
#        hack/generate.sh --check  generate into a temporary directory and fail if the committed files differ
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
hack/tools.sh controller-gen >&2
gen="$root/.tools/bin/controller-gen"
crds=deploy/helm/signet/crds
obj=pkg/policy

run() { # run OBJECT_DIR CRD_DIR
  mkdir -p "$1" "$2"
  "$gen" object paths=./pkg/policy/ output:object:dir="$1" \
    crd:crdVersions=v1 output:crd:dir="$2"
}

if [ "${1:-}" != "--check" ]; then
  rm -f "$crds"/policy.signet.dev_*.yaml
  run "$obj" "$crds"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run "$tmp/obj" "$tmp/crds"
status=0
diff -u "$obj/zz_generated.deepcopy.go" "$tmp/obj/zz_generated.deepcopy.go" || status=1
# Only the generated CRD files: the crds/ folder may hold nothing else, but say so if it does.
diff -ru "$crds" "$tmp/crds" || status=1
if [ $status != 0 ]; then
  echo "generated files are out of date with pkg/policy/types.go: run make generate and commit the result" >&2
  exit 1
fi
echo "generated files are up to date"
