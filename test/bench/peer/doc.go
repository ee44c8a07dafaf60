// Package peer verifies an image the way signet's peers do, for the side-by-side figures in
// docs/benchmarks.md: a GET of the tag's manifest to learn its digest, then the cosign library's
// VerifyImageSignatures with a public key, as policy-controller does for key authorities. It is
// the one package outside pkg/verify and pkg/publisher allowed to import cosign (see
// internal/depcheck): measuring cosign is its whole point.
package peer
