// Package trust holds tests only: the webhook's limits (containers per object, signatures per
// image), that an internal error denies even under a fail-open policy (which covers registry
// errors only), and that nothing the submitter controls (labels, annotations, owner references)
// counts as proof; all through pkg/admission's Reviewer with the real pkg/resolver and pkg/verify
// against go-containerregistry's in-process registry.
package trust
