package verify_test

import (
	"context"
	"sync"
	"testing"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/reason"
	"github.com/signet-dev/signet/pkg/verify"
)

func TestVerifyFetchesSignaturesOncePerDigest(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	img := reg.push(t, "app")
	a, b := newKey(t, "p256"), newKey(t, "p256")
	sign(t, img, a, nil)
	sign(t, img, b, nil)
	policies := []*policy.Policy{
		newPolicy("fp-a", 1, nil, authority("a", a)),
		newPolicy("fp-b", 1, nil, authority("b", b)),
		newPolicy("fp-ab", 2, nil, authority("a", a), authority("b", b)),
	}
	before := reg.sigManifestGets.Load() // signing read the tag too

	v := verify.New()
	var wg sync.WaitGroup
	for _, p := range policies {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), img, p); err != nil {
				t.Errorf("Verify(%s) = %v", p.Fingerprint, err)
			}
		})
	}
	wg.Wait()
	if got := reg.sigManifestGets.Load() - before; got != 1 {
		t.Errorf("signature manifest fetched %d times for 3 policies, want 1", got)
	}
	if got := v.Stats().SignatureFetches; got != 1 {
		t.Errorf("Stats().SignatureFetches = %d, want 1", got)
	}
}

func TestVerifyCachesVerdicts(t *testing.T) {
	t.Parallel()
	a := newKey(t, "p256")
	cases := map[string]struct {
		signed      bool
		opts        []verify.Option
		fingerprint string
		wantCached  bool
		want        reason.Code
	}{
		"A pass is served from the cache the second time.":           {signed: true, fingerprint: "fp", wantCached: true},
		"A failure is served from the cache within the failure TTL.": {fingerprint: "fp", wantCached: true, want: reason.NoSignatures},
		"A failure is not cached when the failure TTL is zero.":      {fingerprint: "fp", opts: []verify.Option{verify.WithVerdictTTL(verify.DefaultPassTTL, 0)}, want: reason.NoSignatures},
		"A pass is not cached when the pass TTL is zero.":            {signed: true, fingerprint: "fp", opts: []verify.Option{verify.WithVerdictTTL(0, 0)}},
		"A policy without a fingerprint is never cached.":            {signed: true},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			reg := newRegistry(t)
			img := reg.push(t, "app")
			if tc.signed {
				sign(t, img, a, nil)
			}
			p := newPolicy(tc.fingerprint, 1, nil, authority("a", a))
			v := verify.New(tc.opts...)
			first, err := v.Verify(context.Background(), img, p)
			if reason.Of(err) != tc.want {
				t.Fatalf("first Verify() = %v, want %q", err, tc.want)
			}
			second, err := v.Verify(context.Background(), img, p)
			if reason.Of(err) != tc.want {
				t.Fatalf("second Verify() = %v, want %q", err, tc.want)
			}
			if first.Cached {
				t.Error("the first verdict came from the cache")
			}
			if second.Cached != tc.wantCached {
				t.Errorf("second Result.Cached = %v, want %v", second.Cached, tc.wantCached)
			}
			wantHits := int64(0)
			if tc.wantCached {
				wantHits = 1
			}
			if got := v.Stats().VerdictHits; got != wantHits {
				t.Errorf("Stats().VerdictHits = %d, want %d", got, wantHits)
			}
			if tc.wantCached && (second.Signatures != first.Signatures || len(second.Authorities) != len(first.Authorities)) {
				t.Errorf("cached Result %+v differs from the first %+v", second, first)
			}
			// Whether or not the verdict was cached, the signatures were read from the registry once.
			if got := v.Stats().SignatureFetches; got != 1 {
				t.Errorf("Stats().SignatureFetches = %d, want 1", got)
			}
		})
	}
}

func TestVerifyKeysVerdictsByPolicyFingerprint(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	img := reg.push(t, "app")
	a, b := newKey(t, "p256"), newKey(t, "p256")
	sign(t, img, a, nil)
	v := verify.New()
	if _, err := v.Verify(context.Background(), img, newPolicy("fp-a", 1, nil, authority("a", a))); err != nil {
		t.Fatalf("Verify(policy a) = %v", err)
	}
	res, err := v.Verify(context.Background(), img, newPolicy("fp-b", 1, nil, authority("b", b)))
	if reason.Of(err) != reason.NoMatchingSignatures {
		t.Fatalf("Verify(policy b) = %v, want %q", err, reason.NoMatchingSignatures)
	}
	if res.Cached {
		t.Error("a policy with another fingerprint was answered from the cache")
	}
}
