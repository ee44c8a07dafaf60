//go:build tools

// Package tools pins controller-gen, which generates the policy CRDs and deepcopy code from the Go
// types in pkg/policy (make generate).
package tools

import _ "sigs.k8s.io/controller-tools/cmd/controller-gen"
