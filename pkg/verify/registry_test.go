package verify_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/reason"
	"github.com/signet-dev/signet/pkg/verify"
)

// noRetries keeps fault-injection tests fast: the resolver's own retry policy is not under test.
func noRetries(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithRetryStatusCodes(),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	}
}

func TestVerifyRegistryFailures(t *testing.T) {
	t.Parallel()
	a := newKey(t, "p256")
	cases := map[string]struct {
		status int
		want   reason.Code
	}{
		"A server error on the signature tag is registry unreachable, not unsigned.": {http.StatusInternalServerError, reason.RegistryUnreachable},
		"A bad gateway on the signature tag is registry unreachable.":                {http.StatusBadGateway, reason.RegistryUnreachable},
		"Unauthorized on the signature tag is an auth failure.":                      {http.StatusUnauthorized, reason.AuthFailed},
		"Forbidden on the signature tag is an auth failure.":                         {http.StatusForbidden, reason.AuthFailed},
		"Too many requests on the signature tag is rate limiting.":                   {http.StatusTooManyRequests, reason.RateLimited},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			reg := newRegistry(t)
			img := reg.push(t, "app")
			sign(t, img, a, nil)
			p := newPolicy("fp", 1, nil, authority("a", a))
			v := verify.New(verify.WithRemoteOptions(noRetries))

			reg.failSig.Store(int32(tc.status))
			_, err := v.Verify(context.Background(), img, p)
			if got := reason.Of(err); got != tc.want {
				t.Fatalf("Verify() = %q (%v), want %q", got, err, tc.want)
			}
			if !reason.Of(err).IsRegistry() {
				t.Errorf("%q is not a registry code", reason.Of(err))
			}

			// Registry failures are not cached: once the registry recovers, the image passes.
			reg.failSig.Store(0)
			res, err := v.Verify(context.Background(), img, p)
			if err != nil {
				t.Fatalf("Verify() after recovery = %v", err)
			}
			if res.Cached {
				t.Error("the verdict after recovery came from the cache")
			}
		})
	}
}

func TestVerifyTimesOutWithTheCallersDeadline(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	img := reg.push(t, "app")
	a := newKey(t, "p256")
	sign(t, img, a, nil)
	hold := make(chan struct{})
	reg.block.Store(&hold)
	t.Cleanup(func() { close(hold) })

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := verify.New(verify.WithRemoteOptions(noRetries)).Verify(ctx, img, newPolicy("fp", 1, nil, authority("a", a)))
	if got := reason.Of(err); got != reason.TimedOut {
		t.Fatalf("Verify() = %q (%v), want %q", got, err, reason.TimedOut)
	}
}

func TestVerifySharedFetchOutlivesAGoneCaller(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	img := reg.push(t, "app")
	a := newKey(t, "p256")
	sign(t, img, a, nil)
	hold := make(chan struct{})
	reg.block.Store(&hold)
	before := reg.sigManifestGets.Load()

	v := verify.New(verify.WithRemoteOptions(noRetries))
	p := newPolicy("fp", 1, nil, authority("a", a))

	// The first caller starts the shared fetch and gives up.
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	leaderDone := make(chan error, 1)
	go func() {
		_, err := v.Verify(short, img, p)
		leaderDone <- err
	}()
	for reg.sigManifestGets.Load() == before {
		time.Sleep(5 * time.Millisecond)
	}
	// The second caller joins the fetch in flight, with time to spare.
	followerDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := v.Verify(ctx, img, p)
		followerDone <- err
	}()

	if err := <-leaderDone; reason.Of(err) != reason.TimedOut {
		t.Fatalf("first caller: Verify() = %v, want %q", err, reason.TimedOut)
	}
	close(hold)
	if err := <-followerDone; err != nil {
		t.Fatalf("second caller: Verify() = %v, want a pass", err)
	}
}
