// Package publisher is the producer side of signet: it makes key pairs, builds OCI image layouts,
// publishes them to a registry and signs what it published. It knows nothing of admission.
//
// The producer pipeline is Build (a stacker-style file → images, reproducibly; BuildToLayout
// writes an OCI layout), Publish (skopeo-style locations `oci:DIR:TAG` and `docker://REF`, Docker
// media types converted to OCI), SignReference (a tag resolved to its digest, signed in the legacy
// and/or bundle format) and Release (all three). Registry access goes through pkg/resolver.
//
// Keys and signatures are cosign's: a key pair from GenerateKeyPair is the one
// `cosign generate-key-pair` makes, Sign writes the legacy `sha256-<hex>.sig` signature that
// `cosign sign --new-bundle-format=false` writes, and SignBundle the sigstore bundle referrer that
// `cosign sign` v3 writes by default, so images signed here verify with `cosign verify` and the
// other way round.
package publisher
