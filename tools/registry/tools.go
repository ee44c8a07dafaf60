//go:build tools

// Package tools pins the CNCF distribution registry, the real registry server integration tests run.
package tools

import _ "github.com/distribution/distribution/v3/cmd/registry"
