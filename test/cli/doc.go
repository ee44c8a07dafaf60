// Package cli holds the integration tests of the signet CLI: the binary, built by the tests, run
// against the real registry process (TLS and basic auth) next to the real cosign and skopeo, at
// every step of the producer pipeline in both directions (signet writes, the other tool reads, and
// the other way round).
package cli
