// Package chart tests the Helm chart in deploy/helm/signet: it runs the real helm (built by
// hack/tools.sh from tools/helm) to lint and render the chart across value combinations, decodes
// the rendered objects into the Kubernetes API types, and checks what a cluster admin relies on:
// every workload kind reaches the webhook, the right namespaces are excluded, the pods are
// hardened, TLS is wired in each mode, and values.schema.json rejects typos and wrong types.
// Applying the rendered chart to a real API server is the end-to-end suite's job (test/kind).
package chart
