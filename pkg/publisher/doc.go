// Package publisher is the producer side of signet: it makes key pairs, builds OCI image layouts,
// publishes them to a registry and signs what it published. It knows nothing of admission.
//
// Keys and signatures are cosign's: a key pair from GenerateKeyPair is the one
// `cosign generate-key-pair` makes, and Sign writes the legacy `sha256-<hex>.sig` signature that
// `cosign sign` writes, so images signed here verify with `cosign verify` and the other way round.
package publisher
