package resolver

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/signet-dev/signet/internal/tlsutil"
	"github.com/signet-dev/signet/pkg/reason"
)

// privateCARegistry is an in-process registry serving a certificate from a CA of its own, named
// by host (localhost or 127.0.0.1), with the CA's PEM.
func privateCARegistry(t *testing.T, hostname string) (host string, caPEM []byte) {
	t.Helper()
	cert, caPEM, err := tlsutil.SelfSigned([]string{hostname}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := strings.Cut(srv.Listener.Addr().String(), ":")
	return hostname + ":" + port, caPEM
}

func TestRegistryCAIsTrustedForItsHostOnly(t *testing.T) {
	t.Parallel()
	// Two registries, each with a CA of its own: one reached as 127.0.0.1, one as localhost.
	hostA, caA := privateCARegistry(t, "127.0.0.1")
	hostB, caB := privateCARegistry(t, "localhost")
	hostnameA, _, _ := strings.Cut(hostA, ":")

	tests := map[string]struct {
		opts   []Option
		ok     map[string]bool // host → resolves
		reason []string        // fragments of the TLS failure
	}{
		"Each registry's CA given for that registry makes both trusted.": {
			opts: []Option{WithRegistryCA(hostA, caA), WithRegistryCA(hostB, caB)},
			ok:   map[string]bool{hostA: true, hostB: true},
		},
		"A CA given for one registry does not vouch for the other.": {
			opts: []Option{WithRegistryCA(hostA, caA), WithRegistryCA(hostB, caA)},
			ok:   map[string]bool{hostA: true, hostB: false},
		},
		"A registry's CA given for its host name without the port applies to that host.": {
			opts: []Option{WithRegistryCA(hostnameA, caA)},
			ok:   map[string]bool{hostA: true, hostB: false},
		},
		"The shared CA bundle still trusts every registry.": {
			opts: []Option{WithCABundle(caB), WithRegistryCA(hostA, caA)},
			ok:   map[string]bool{hostA: true, hostB: true},
		},
		"Without any CA both are TLS failures naming the registry.": {
			ok: map[string]bool{hostA: false, hostB: false},
		},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			r, err := New(tc.opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(func() { r.Close() })
			for host, ok := range tc.ok {
				// An empty repository: a trusted registry answers "tag not found", an untrusted one
				// never gets that far.
				_, err := r.Resolve(timeoutContext(t, 0), mustRef(t, host+"/app:v1"))
				if ok {
					checkReason(t, err, reason.TagNotFound, "registry "+host+" has no tag v1")
				} else {
					checkReason(t, err, reason.TLSFailure, "TLS with registry "+host+" failed", "certificate signed by unknown authority")
				}
			}
		})
	}
}

func TestRegistryCAOptionsRejectBadInput(t *testing.T) {
	t.Parallel()
	_, ca := privateCARegistry(t, "localhost")
	tests := map[string]struct {
		opt  Option
		want string
	}{
		"A host with a scheme is refused.":       {WithRegistryCA("https://registry.example", ca), "without scheme or path"},
		"A PEM without certificates is refused.": {WithRegistryCA("registry.example", []byte("nothing")), "the CA bundle for registry registry.example holds no PEM certificate"},
		"A missing file is named.":               {WithRegistryCAFile("registry.example", "/nonexistent/ca.pem"), "reading the CA bundle for registry registry.example"},
		"A registry CA cannot be combined with WithTransport.": {
			nil, "WithTransport cannot be combined with WithCABundle or WithRegistryCA",
		},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			opts := []Option{tc.opt}
			if tc.opt == nil {
				opts = []Option{WithRegistryCA("registry.example", ca), WithTransport(http.DefaultTransport)}
			}
			_, err := New(opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s, name.StrictValidation)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return ref
}
