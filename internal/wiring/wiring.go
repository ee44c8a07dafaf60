// Package wiring adapts pkg/resolver and pkg/verify to the small interfaces pkg/admission declares,
// which must not import them. cmd/webhook and tests that drive the Reviewer with the real parts use
// it, so that both wire the same way.
package wiring

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/resolver"
	"github.com/signet-dev/signet/pkg/verify"
)

// PullAuth converts the admission request's pull credentials into the resolver's.
func PullAuth(a admission.PullAuth) resolver.PullAuth {
	return resolver.PullAuth{Namespace: a.Namespace, ServiceAccount: a.ServiceAccount, PullSecrets: a.PullSecrets}
}

// Resolver adapts r to admission.Resolver: tags resolve with the pod's pull secrets first.
func Resolver(r *resolver.Registry) admission.Resolver { return resolverAdapter{r} }

type resolverAdapter struct{ r *resolver.Registry }

func (a resolverAdapter) Resolve(ctx context.Context, ref name.Reference, auth admission.PullAuth) (name.Digest, error) {
	return a.r.ResolveFor(ctx, ref, PullAuth(auth))
}

// Verifier adapts v to admission.Verifier. v should be built with verify.WithRemoteOptions(
// r.RemoteOptions) so that signatures travel the resolver's transport, CA pool and credentials; a
// review's signature reads also get the pod's pull secrets (r.RemoteOptionsFor).
func Verifier(v *verify.Verifier, r *resolver.Registry) admission.Verifier {
	return verifierAdapter{v: v, r: r}
}

type verifierAdapter struct {
	v *verify.Verifier
	r *resolver.Registry
}

func (a verifierAdapter) Verify(ctx context.Context, d name.Digest, p *policy.Policy, auth admission.PullAuth) error {
	v := a.v
	if auth.Namespace != "" {
		ra := PullAuth(auth)
		v = v.For(func(ctx context.Context) []remote.Option { return a.r.RemoteOptionsFor(ctx, ra) })
	}
	_, err := v.Verify(ctx, d, p)
	return err
}
