package registryfaults

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/resolver"
)

func TestOneHeadPerDistinctImageInAReview(t *testing.T) {
	t.Parallel()
	fr := newFaultyRegistry(t)
	k := newKeys(t)
	opts := []remote.Option{remote.WithTransport(fr.srv.Client().Transport)}
	pushSigned(t, fr.host, "apps/a:v1", k, opts...)
	pushSigned(t, fr.host, "apps/b:v1", k, opts...)
	s := newStack(t, policies(t, fr.host, k.pub, policy.FailClosed), resolver.WithCABundle(fr.caPEM))
	fr.arm(nil)

	a, b := fr.host+"/apps/a:v1", fr.host+"/apps/b:v1"
	resp, text := review(t, s, admission.Validate, request("Pod", "apps", podJSON("apps", nil, a, b, a, a)), defaultDeadline)
	if !resp.Allowed {
		t.Fatalf("denied: %s", text)
	}
	for _, key := range []string{"HEAD manifest apps/a:v1", "HEAD manifest apps/b:v1"} {
		if n := fr.count(key); n != 1 {
			t.Errorf("%s: %d requests, want 1 (all: %v)", key, n, fr.requests())
		}
	}
}

// enteringResolver counts the reviews that have reached the resolver.
type enteringResolver struct {
	admission.Resolver
	wg *sync.WaitGroup
}

func (e enteringResolver) Resolve(ctx context.Context, ref name.Reference, a admission.PullAuth) (name.Digest, error) {
	e.wg.Done()
	return e.Resolver.Resolve(ctx, ref, a)
}

func TestConcurrentReviewsOfOneImageShareOneFlight(t *testing.T) {
	t.Parallel()
	const reviews = 10
	fr := newFaultyRegistry(t)
	k := newKeys(t)
	pushSigned(t, fr.host, "apps/app:v1", k, remote.WithTransport(fr.srv.Client().Transport))
	s := newStack(t, policies(t, fr.host, k.pub, policy.FailClosed), resolver.WithCABundle(fr.caPEM))

	// The manifest HEAD is held until every review has reached the resolver.
	var entered sync.WaitGroup
	entered.Add(reviews)
	s.reviewer.Resolver = enteringResolver{Resolver: s.reviewer.Resolver, wg: &entered}
	fr.arm(func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if keyOf(r) == "HEAD "+appManifest {
			entered.Wait()
		}
		return false
	})

	var wg sync.WaitGroup
	allowed := make(chan bool, reviews)
	for range reviews {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := review(t, s, admission.Validate, request("Pod", "apps", podJSON("apps", nil, fr.host+"/apps/app:v1")), defaultDeadline)
			allowed <- resp.Allowed
		}()
	}
	wg.Wait()
	close(allowed)
	for ok := range allowed {
		if !ok {
			t.Fatal("a review was denied")
		}
	}
	if n := fr.count("HEAD " + appManifest); n != 1 {
		t.Errorf("%d reviews made %d manifest HEADs, want 1 (all: %v)", reviews, n, fr.requests())
	}
	if n := s.verifier.Stats().SignatureFetches; n != 1 {
		t.Errorf("%d reviews read the signatures %d times, want 1", reviews, n)
	}
}
