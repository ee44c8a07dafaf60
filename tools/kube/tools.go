//go:build tools

// Package tools pins kube-apiserver and kubectl for the end-to-end tests on a real API server.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
