// Package faults holds tests only: the fault matrix seen end to end through the webhook's HTTP
// handler (pkg/admission's Handler and Reviewer with the real pkg/resolver and pkg/verify) for the
// network faults that are not registry answers: TLS handshake failures, redirect loops, a registry
// that stalls mid-body, and DNS failure. Registry answers (401/403/404/429/5xx, resets, truncated,
// wrong-digest and oversized manifests) are in test/registryfaults. Every case checks the decision,
// its reason, that it came before the API server's timeout, and that no goroutine outlives it.
package faults
