//go:build tools

// Package tools pins the real cosign CLI, used by the interoperability tests.
package tools

import _ "github.com/sigstore/cosign/v3/cmd/cosign"
