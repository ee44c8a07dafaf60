// Package admission owns the Kubernetes side of signet: AdmissionReview v1 over HTTP, the walk that
// finds every container image in every pod-owning kind, the decision (allow, deny, warn, audit) with
// messages that name the field, and RFC 6902 patches that pin images to digests.
//
// It never talks to a registry or imports cosign: resolution and verification arrive through the
// small Resolver and Verifier interfaces, injected by cmd/webhook.
package admission
