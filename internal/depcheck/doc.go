// Package depcheck holds only a test: the import rules of DESIGN.md, checked with `go list -deps`.
package depcheck
