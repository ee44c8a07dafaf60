#!/usr/bin/env bash
# Runs signet's end-to-end suite against a kind cluster, on a Linux machine with Docker and kind.
#  1. builds the tools, signet-webhook's image (`make image`) and loads it into a new kind cluster;
#  2. installs the chart with helm and runs `helm test` (the in-cluster webhook admits its own image);
#  3. uninstalls it and runs the Go scenarios of test/kind against the cluster: the registry and
#     signet-webhook run on this machine, and the kind API server calls the webhook at the address
#     of this machine on kind's Docker network.
# Usage: test/kind/run.sh [go test flags...]
# Environment: KIND_CLUSTER (default signet-e2e), KEEP_CLUSTER=1 keeps the cluster afterwards.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cluster=${KIND_CLUSTER:-signet-e2e}
helm="$root/.tools/bin/helm"

for tool in docker kind skopeo go; do
  command -v "$tool" >/dev/null 2>&1 || { echo "run.sh: $tool is required on PATH" >&2; exit 2; }
done

make -C "$root" tools image

work=$(mktemp -d)
cleanup() {
  if [ "${KEEP_CLUSTER:-}" != 1 ]; then kind delete cluster --name "$cluster" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export KUBECONFIG="$work/kubeconfig"
kind create cluster --name "$cluster" --kubeconfig "$KUBECONFIG" --wait 180s

image=signet.local/signet-webhook:e2e
skopeo copy "oci:$root/out/image:signet-webhook" "docker-archive:$work/image.tar:$image"
kind load image-archive "$work/image.tar" --name "$cluster"

repo=${image%:*}
"$helm" install signet "$root/deploy/helm/signet" --namespace signet-system --create-namespace \
  --set image.repository="$repo" --set image.tag=e2e --set image.pullPolicy=Never \
  --set replicaCount=1 --wait --timeout 5m
"$helm" test signet --namespace signet-system --logs
"$helm" uninstall signet --namespace signet-system --wait

# The API server (in kind's node container) reaches this machine at the gateway of kind's network.
gateway=$(docker network inspect kind --format '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -m1 -F .)
cd "$root"
SIGNET_E2E_KUBECONFIG="$KUBECONFIG" SIGNET_E2E_WEBHOOK_HOST="$gateway" SIGNET_TOOLS_BIN="$root/.tools/bin" \
  go test -count=1 -timeout 20m "$@" ./test/kind/...
