// Package interop proves that signet and the real cosign CLI agree, against the real registry
// process: what `cosign sign` writes (sigstore bundle referrers by default, the legacy `.sig` tag
// with --new-bundle-format=false) verifies in pkg/verify, and what pkg/publisher signs verifies with
// `cosign verify`. Everything stays on loopback: cosign signs offline (no signing config, no
// transparency log) and verifies offline (--insecure-ignore-tlog).
package interop
