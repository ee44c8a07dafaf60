// Package kind holds signet's end-to-end tests on a real Kubernetes API server. By default they
// start a local control plane (etcd and kube-apiserver built by `make tools`, on loopback ports,
// with certificates made for the run); with SIGNET_E2E_KUBECONFIG set they use that cluster
// instead (run.sh does so with a kind cluster where Docker exists). Either way the registry and
// signet-webhook run on this machine, the chart's webhook configurations, CRDs and RBAC (rendered
// by `helm template` in url mode) are applied to the API server, signet-webhook reads policy files
// and the cluster's policies as the chart's ServiceAccount, and every scenario goes through the
// API server's admission chain. A failed test prints the logs of every process.
//
// The harness (this package's non-test files) starts and stops the processes; the scenarios are
// in the _test.go files.
package kind
