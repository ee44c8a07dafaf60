package resolver

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestResolveTag(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	img := tr.pushImage(t, "app:v1")
	idx := tr.pushIndex(t, "multi:v1")
	tests := map[string]struct {
		ref  string
		want v1.Hash
	}{
		"An image tag resolves to the digest of the image manifest.": {ref: "app:v1", want: mustDigest(t, img.Digest)},
		"A multi-arch tag resolves to the digest of the index, not of a platform's image.": {
			ref: "multi:v1", want: mustDigest(t, idx.Digest),
		},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			r := newResolver(t, tr)
			tr.arm(nil)
			ref := tr.ref(t, tc.ref)
			got, err := r.Resolve(timeoutContext(t, 0), ref)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if want := ref.Context().Digest(tc.want.String()); got.String() != want.String() {
				t.Errorf("Resolve = %s, want %s", got, want)
			}
			if got.Context() != ref.Context() {
				t.Errorf("repository = %#v, want %#v", got.Context(), ref.Context())
			}
			if h, g := tr.count("HEAD", "manifest"), tr.count("GET", "manifest"); h != 1 || g != 0 {
				t.Errorf("manifest requests: %d HEAD, %d GET; want 1 HEAD, 0 GET", h, g)
			}
		})
	}
}

func TestResolveDigest(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	img := tr.pushImage(t, "app:v1")
	dig := mustDigest(t, img.Digest).String()
	tests := map[string]string{
		"A digest reference is confirmed and returned unchanged.":                         "app@" + dig,
		"A tag-and-digest reference is confirmed by digest and keeps its tag as written.": "app:v1@" + dig,
		"A digest reference whose tag no longer exists is still confirmed by digest.":     "app:gone@" + dig,
	}
	for title, ref := range tests {
		t.Run(title, func(t *testing.T) {
			r := newResolver(t, tr)
			tr.arm(nil)
			in := tr.ref(t, ref)
			got, err := r.Resolve(timeoutContext(t, 0), in)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got.String() != in.String() || got.DigestStr() != dig {
				t.Errorf("Resolve = %s, want %s unchanged", got, in)
			}
			if h := tr.count("HEAD", "manifest"); h != 1 {
				t.Errorf("%d manifest HEADs, want 1", h)
			}
			// Confirmed digests are immutable: the second call asks nobody.
			if _, err := r.Resolve(timeoutContext(t, 0), in); err != nil {
				t.Fatalf("second Resolve: %v", err)
			}
			if h := tr.count("HEAD", "manifest"); h != 1 {
				t.Errorf("%d manifest HEADs after a second call, want 1", h)
			}
		})
	}
}

func TestTagCache(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	img := tr.pushImage(t, "app:v1")
	want := tr.ref(t, "app@"+mustDigest(t, img.Digest).String()).String()

	t.Run("A second lookup within the TTL is answered from the cache.", func(t *testing.T) {
		r := newResolver(t, tr)
		tr.arm(nil)
		for range 2 {
			if got, err := r.Resolve(timeoutContext(t, 0), tr.ref(t, "app:v1")); err != nil || got.String() != want {
				t.Fatalf("Resolve = %v, %v; want %s", got, err, want)
			}
		}
		if h := tr.count("HEAD", "manifest"); h != 1 {
			t.Errorf("%d manifest HEADs, want 1", h)
		}
		s := r.Stats()
		if s.TagCacheHits != 1 || s.TagCacheMisses != 1 {
			t.Errorf("tag cache hits/misses = %d/%d, want 1/1", s.TagCacheHits, s.TagCacheMisses)
		}
		// The digest a tag resolved to is known to exist.
		if _, err := r.Resolve(timeoutContext(t, 0), tr.ref(t, "app@"+mustDigest(t, img.Digest).String())); err != nil {
			t.Fatal(err)
		}
		if h := tr.count("HEAD", "manifest"); h != 1 || r.Stats().DigestCacheHits != 1 {
			t.Errorf("%d manifest HEADs and %d digest cache hits, want 1 and 1", h, r.Stats().DigestCacheHits)
		}
	})
	t.Run("A lookup after the TTL asks the registry again and sees a moved tag.", func(t *testing.T) {
		r := newResolver(t, tr, WithTagTTL(20*time.Millisecond))
		tr.arm(nil)
		if _, err := r.Resolve(timeoutContext(t, 0), tr.ref(t, "app:v1")); err != nil {
			t.Fatal(err)
		}
		moved := tr.pushImage(t, "app:v1")
		tr.arm(nil) // forget the pusher's requests
		time.Sleep(30 * time.Millisecond)
		got, err := r.Resolve(timeoutContext(t, 0), tr.ref(t, "app:v1"))
		if err != nil {
			t.Fatal(err)
		}
		if got.DigestStr() != mustDigest(t, moved.Digest).String() {
			t.Errorf("Resolve = %s, want the moved tag's %s", got, mustDigest(t, moved.Digest))
		}
		if h := tr.count("HEAD", "manifest"); h != 1 {
			t.Errorf("%d manifest HEADs after the TTL, want 1", h)
		}
	})
	t.Run("A TTL of zero asks the registry every time.", func(t *testing.T) {
		r := newResolver(t, tr, WithTagTTL(0))
		tr.arm(nil)
		for range 3 {
			if _, err := r.Resolve(timeoutContext(t, 0), tr.ref(t, "app:v1")); err != nil {
				t.Fatal(err)
			}
		}
		if h := tr.count("HEAD", "manifest"); h != 3 {
			t.Errorf("%d manifest HEADs, want 3", h)
		}
	})
}

// gate holds manifest HEADs until it is opened.
type gate struct {
	open    chan struct{}
	once    sync.Once
	waiting atomic.Int32
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

func (g *gate) fault(w http.ResponseWriter, r *http.Request, _ int) bool {
	if r.Method == http.MethodHead && kindOf(r) == "manifest" {
		g.waiting.Add(1)
		select {
		case <-g.open:
		case <-r.Context().Done():
		}
	}
	return false
}

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConcurrentLookupsShareOneFlight(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	want := mustDigest(t, tr.pushImage(t, "app:v1").Digest).String()
	r := newResolver(t, tr)
	g := newGate()
	tr.arm(g.fault)
	t.Cleanup(g.release)

	const callers = 50
	results := make(chan error, callers)
	ref := tr.ref(t, "app:v1")
	for range callers {
		go func() {
			d, err := r.Resolve(timeoutContext(t, 0), ref)
			if err == nil && d.DigestStr() != want {
				err = fmt.Errorf("resolved to %s", d)
			}
			results <- err
		}()
	}
	eventually(t, "every caller missed the cache", func() bool { return r.Stats().TagCacheMisses == callers })
	eventually(t, "the flight's HEAD reached the registry", func() bool { return g.waiting.Load() == 1 })
	time.Sleep(20 * time.Millisecond) // let the last callers join the flight
	g.release()
	for range callers {
		if err := <-results; err != nil {
			t.Error(err)
		}
	}
	if h := tr.count("HEAD", "manifest"); h != 1 {
		t.Errorf("%d manifest HEADs for %d concurrent lookups, want 1", h, callers)
	}
	if s := r.Stats(); s.FlightsShared != callers-1 {
		t.Errorf("FlightsShared = %d, want %d", s.FlightsShared, callers-1)
	}
}

func TestFlightOutlivesTheCallerThatStartedIt(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	want := mustDigest(t, tr.pushImage(t, "app:v1").Digest).String()
	r := newResolver(t, tr)
	g := newGate()
	tr.arm(g.fault)
	t.Cleanup(g.release)

	ref := tr.ref(t, "app:v1")
	first, cancel := context.WithCancel(t.Context())
	firstErr := make(chan error, 1)
	go func() {
		_, err := r.Resolve(first, ref)
		firstErr <- err
	}()
	eventually(t, "the first caller's HEAD reached the registry", func() bool { return g.waiting.Load() == 1 })
	second := make(chan error, 1)
	go func() {
		d, err := r.Resolve(timeoutContext(t, 0), ref)
		if err == nil && d.DigestStr() != want {
			err = fmt.Errorf("resolved to %s", d)
		}
		second <- err
	}()
	eventually(t, "the second caller joined", func() bool { return r.Stats().TagCacheMisses == 2 })
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-firstErr; err == nil {
		t.Error("the cancelled caller got no error")
	}
	g.release()
	if err := <-second; err != nil {
		t.Errorf("second caller: %v", err)
	}
	if h := tr.count("HEAD", "manifest"); h != 1 {
		t.Errorf("%d manifest HEADs, want 1: the flight must not be cancelled with its first caller", h)
	}
}

func TestConcurrencyPerHostIsBounded(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	const tags = 6
	for i := range tags {
		tr.pushImage(t, fmt.Sprintf("app:v%d", i))
	}
	r := newResolver(t, tr, WithMaxConcurrencyPerHost(2))
	var inflight, peak atomic.Int32
	tr.arm(func(w http.ResponseWriter, req *http.Request, _ int) bool {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		return false
	})
	var wg sync.WaitGroup
	for i := range tags {
		ref := tr.ref(t, fmt.Sprintf("app:v%d", i))
		wg.Go(func() {
			if _, err := r.Resolve(timeoutContext(t, 0), ref); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Errorf("%d requests in flight at once, want at most 2", p)
	}
}

func TestResolveRejectsANilReference(t *testing.T) {
	t.Parallel()
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var ref name.Reference
	if _, err := r.Resolve(t.Context(), ref); err == nil {
		t.Error("Resolve(nil) succeeded")
	}
}

func TestManifestRequestsAcceptEveryManifestTypeAndNameSignet(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	tr.pushImage(t, "app:v1")
	r := newResolver(t, tr, WithUserAgent("signet-test/1.0"))
	var mu sync.Mutex
	var accept, agent string
	tr.arm(func(w http.ResponseWriter, req *http.Request, _ int) bool {
		if req.Method == http.MethodHead && kindOf(req) == "manifest" {
			mu.Lock()
			accept, agent = req.Header.Get("Accept"), req.Header.Get("User-Agent")
			mu.Unlock()
		}
		return false
	})
	if _, err := r.Resolve(timeoutContext(t, 0), tr.ref(t, "app:v1")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, mt := range []types.MediaType{types.OCIImageIndex, types.OCIManifestSchema1, types.DockerManifestList, types.DockerManifestSchema2} {
		if !strings.Contains(accept, string(mt)) {
			t.Errorf("Accept %q lacks %s", accept, mt)
		}
	}
	if !strings.HasPrefix(agent, "signet-test/1.0") {
		t.Errorf("User-Agent = %q, want it to start with signet-test/1.0", agent)
	}
}

func BenchmarkResolveCachedTag(b *testing.B) {
	tr := newTestRegistry(b, false)
	tr.pushImage(b, "app:v1")
	r := newResolver(b, tr)
	ref := tr.ref(b, "app:v1")
	ctx := b.Context()
	if _, err := r.Resolve(ctx, ref); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.Resolve(ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolveUncachedTag(b *testing.B) {
	tr := newTestRegistry(b, false)
	tr.pushImage(b, "app:v1")
	r := newResolver(b, tr, WithTagTTL(0))
	ref := tr.ref(b, "app:v1")
	ctx := b.Context()
	for b.Loop() {
		if _, err := r.Resolve(ctx, ref); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.Stats().Requests["GET"])/float64(b.N), "GETs/op")
}
