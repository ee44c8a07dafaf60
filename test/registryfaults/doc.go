// Package registryfaults holds tests only: registry faults, flights and caches seen through the
// webhook's decision (pkg/admission's Reviewer with the real pkg/resolver and pkg/verify) against
// go-containerregistry's in-process registry behind a fault-injecting handler, and against the real
// registry server process (internal/testregistry).
package registryfaults
