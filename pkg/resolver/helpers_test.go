package resolver

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.uber.org/goleak"

	"github.com/signet-dev/signet/pkg/reason"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fault may answer a request instead of the registry. n is how many requests of the same method
// and kind (see kindOf) the registry has seen, this one included. It returns false to let the
// registry answer.
type fault func(w http.ResponseWriter, r *http.Request, n int) bool

// testRegistry is go-containerregistry's in-process registry behind a fault-injecting,
// request-counting handler.
type testRegistry struct {
	*httptest.Server
	host     string
	registry http.Handler // the registry without faults or counting

	mu    sync.Mutex
	fault fault
	seen  map[string]int // "HEAD manifest", "GET ping", …
}

// newTestRegistry starts a registry over TLS (or plain HTTP when plain is true) on 127.0.0.1.
func newTestRegistry(t testing.TB, plain bool) *testRegistry {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	tr := &testRegistry{seen: map[string]int{}, registry: reg}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + kindOf(r)
		tr.mu.Lock()
		tr.seen[key]++
		n, f := tr.seen[key], tr.fault
		tr.mu.Unlock()
		if f != nil && f(w, r, n) {
			return
		}
		reg.ServeHTTP(w, r)
	})
	tr.Server = httptest.NewUnstartedServer(h)
	tr.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes our tests fail on purpose
	if plain {
		tr.Start()
	} else {
		tr.StartTLS()
	}
	t.Cleanup(tr.Close)
	tr.host = strings.TrimPrefix(strings.TrimPrefix(tr.URL, "https://"), "http://")
	return tr
}

func kindOf(r *http.Request) string {
	switch {
	case r.URL.Path == "/v2/" || r.URL.Path == "/v2":
		return "ping"
	case strings.Contains(r.URL.Path, "/manifests/"):
		return "manifest"
	}
	return "other"
}

// arm installs f (nil: none) and forgets the requests seen so far.
func (tr *testRegistry) arm(f fault) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.fault = f
	tr.seen = map[string]int{}
}

// count returns how many requests of method and kind ("manifest", "ping", "other") were seen.
func (tr *testRegistry) count(method, kind string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.seen[method+" "+kind]
}

func (tr *testRegistry) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tr.Certificate().Raw})
}

func (tr *testRegistry) ref(t testing.TB, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(tr.host+"/"+s, name.StrictValidation)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return ref
}

// pushImage writes a random image to tag ("app:v1") and returns it.
func (tr *testRegistry) pushImage(t testing.TB, tag string) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tr.ref(t, tag), img, remote.WithTransport(tr.Client().Transport)); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	return img
}

// pushIndex writes a random two-platform index to tag and returns it.
func (tr *testRegistry) pushIndex(t *testing.T, tag string) v1.ImageIndex {
	t.Helper()
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tr.ref(t, tag), idx, remote.WithTransport(tr.Client().Transport)); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	return idx
}

// newResolver returns a Registry trusting tr's certificate.
func newResolver(t testing.TB, tr *testRegistry, opts ...Option) *Registry {
	t.Helper()
	r, err := New(append([]Option{WithCABundle(tr.caPEM())}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// withRetryBase shortens the backoff used when a registry sends no Retry-After.
func withRetryBase(d time.Duration) Option {
	return func(o *options) error { o.retryBase = d; return nil }
}

// withConfigRecheck sets how often the docker config file is checked for changes.
func withConfigRecheck(d time.Duration) Option {
	return func(o *options) error { o.configRecheck = d; return nil }
}

func mustDigest(t *testing.T, f func() (v1.Hash, error)) v1.Hash {
	t.Helper()
	h, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// checkReason fails unless err is a *reason.Error with code whose text contains every fragment.
func checkReason(t *testing.T, err error, code reason.Code, fragments ...string) {
	t.Helper()
	var re *reason.Error
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *reason.Error", err, err)
	}
	if re.Code != code {
		t.Errorf("code = %q, want %q (error: %v)", re.Code, code, err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
}

func timeoutContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	if d == 0 {
		d = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
