package faults

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/resolver"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// apiServerTimeout is the ?timeout= the API server sends; signet must answer before it.
const apiServerTimeout = 4 * time.Second

// isManifest and isBlob tell the request kinds apart.
func isManifest(r *http.Request, repo string) bool {
	return strings.HasPrefix(r.URL.Path, "/v2/"+repo+"/manifests/")
}

func isBlob(r *http.Request) bool { return strings.Contains(r.URL.Path, "/blobs/") }

// redirectLoop sends every matching request to a fresh URL of its own, forever.
func redirectLoop(match func(*http.Request) bool) fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("hop"))
		w.Header().Set("Location", fmt.Sprintf("%s?hop=%d", r.URL.Path, n+1))
		w.WriteHeader(http.StatusTemporaryRedirect)
		return true
	}
}

// stallMidBody lets the registry answer matching GETs, sends the headers and half the body, then
// holds the connection until the client gives up.
func stallMidBody(reg http.Handler, match func(*http.Request) bool) fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !match(r) {
			return false
		}
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		body := rec.Body.Bytes()
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)/2])
		http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		return true
	}
}

// refuseHead answers manifest HEADs 405, so that the resolver must GET (and read) the manifest.
func refuseHead(repo string) fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodHead || !isManifest(r, repo) {
			return false
		}
		w.WriteHeader(http.StatusMethodNotAllowed)
		return true
	}
}

func both(fs ...fault) fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		for _, f := range fs {
			if f(w, r) {
				return true
			}
		}
		return false
	}
}

func TestNetworkFaultsThroughTheWebhook(t *testing.T) {
	// Not parallel: each case checks that no goroutine outlives it.
	priv, pub := newKey(t)
	fr := newFaultyRegistry(t)
	fr.pushSigned(t, "apps/app:v1", priv)
	image := fr.host + "/apps/app:v1"
	oldTLS, oldCA := tlsServer(t, &tls.Config{MaxVersion: tls.VersionTLS11})
	clientCert, clientCertCA := tlsServer(t, &tls.Config{ClientAuth: tls.RequireAnyClientCert})
	notTLS := rawServer(t, func(c net.Conn) {
		// An SSH server where a registry should be: it greets first, then reads until the client leaves.
		c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
		io.Copy(io.Discard, c)
	})
	cutHandshake := rawServer(t, func(c net.Conn) {
		// Reads the ClientHello's record header and hangs up.
		bufio.NewReader(c).Peek(5)
	})

	tests := map[string]struct {
		image   string
		fault   fault
		opts    []resolver.Option // default: trust the faulty registry's CA
		code    string            // the reason the fail-closed denial gives
		text    []string          // more text the fail-closed denial holds
		openToo bool              // a fail-open policy allows it with a warning
	}{
		"A registry that only speaks TLS 1.1 is a TLS failure.": {
			image: oldTLS + "/apps/app:v1", opts: []resolver.Option{resolver.WithCABundle(oldCA)},
			code: "registry TLS failure", text: []string{"TLS with registry " + oldTLS + " failed"}, openToo: true,
		},
		"A registry that demands a client certificate is a TLS failure.": {
			image: clientCert + "/apps/app:v1", opts: []resolver.Option{resolver.WithCABundle(clientCertCA)},
			code: "registry TLS failure", text: []string{"TLS with registry " + clientCert + " failed"}, openToo: true,
		},
		"A server that does not speak TLS at all is a TLS failure.": {
			image: notTLS + "/apps/app:v1",
			code:  "registry TLS failure", text: []string{notTLS}, openToo: true,
		},
		"A server that hangs up during the handshake is unreachable.": {
			image: cutHandshake + "/apps/app:v1",
			code:  "registry unreachable", text: []string{cutHandshake}, openToo: true,
		},
		"A registry that redirects manifest requests in a loop is unreachable.": {
			image: image, fault: redirectLoop(func(r *http.Request) bool { return isManifest(r, "apps/app") }),
			code: "registry unreachable", text: []string{fr.host, "redirect"}, openToo: true,
		},
		"A registry that redirects signature reads in a loop is unreachable.": {
			image: image, fault: redirectLoop(func(r *http.Request) bool {
				return r.Method == http.MethodGet && isManifest(r, "apps/app") && strings.Contains(r.URL.Path, ".sig")
			}),
			code: "registry unreachable", text: []string{fr.host, "redirect"}, openToo: true,
		},
		"A registry that stalls in the middle of a manifest body times out.": {
			image: image, fault: both(refuseHead("apps/app"), stallMidBody(fr.reg, func(r *http.Request) bool {
				return isManifest(r, "apps/app") && !strings.Contains(r.URL.Path, ".sig")
			})),
			code: "timed out", text: []string{fr.host}, openToo: true,
		},
		"A registry that stalls in the middle of a signature payload times out.": {
			image: image, fault: stallMidBody(fr.reg, isBlob),
			code: "timed out", text: []string{fr.host}, openToo: true,
		},
		"A registry whose name does not resolve is unreachable.": {
			image: "registry.invalid/apps/app:v1",
			code:  "registry unreachable", text: []string{"registry.invalid", "no such host"}, openToo: true,
		},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			for _, failure := range []policy.FailurePolicy{policy.FailClosed, policy.FailOpen} {
				opts := tc.opts
				if opts == nil {
					opts = []resolver.Option{resolver.WithCABundle(fr.caPEM)}
				}
				w := newWebhook(t, policySet(t, pub, failure), opts...)
				fr.arm(tc.fault)
				resp, text, took := w.review(t, tc.image, apiServerTimeout)
				fr.arm(nil)
				w.registry.Close()

				if resp.UID != "fault-1" {
					t.Errorf("%s: answer carries UID %q", failure, resp.UID)
				}
				if took >= apiServerTimeout {
					t.Errorf("%s: answered after %s, not before the API server's %s timeout", failure, took, apiServerTimeout)
				}
				if !strings.Contains(text, tc.code) {
					t.Errorf("%s: answer does not give the reason %q:\n%s", failure, tc.code, text)
				}
				for _, want := range tc.text {
					if !strings.Contains(text, want) {
						t.Errorf("%s: answer lacks %q:\n%s", failure, want, text)
					}
				}
				wantAllowed := failure == policy.FailOpen && tc.openToo
				if resp.Allowed != wantAllowed {
					t.Fatalf("%s: allowed = %t, want %t:\n%s", failure, resp.Allowed, wantAllowed, text)
				}
				if wantAllowed && !strings.Contains(text, "allowed: the policy fails open on registry errors") {
					t.Errorf("fail-open allow does not say why:\n%s", text)
				}
			}
		})
	}
}

// The signed image itself passes on the same registry, so the faults above are what deny.
func TestTheHealthyRegistryAllows(t *testing.T) {
	priv, pub := newKey(t)
	fr := newFaultyRegistry(t)
	fr.pushSigned(t, "apps/app:v1", priv)
	w := newWebhook(t, policySet(t, pub, policy.FailClosed), resolver.WithCABundle(fr.caPEM))
	resp, text, _ := w.review(t, fr.host+"/apps/app:v1", apiServerTimeout)
	w.registry.Close()
	if !resp.Allowed {
		t.Fatalf("the signed image is denied:\n%s", text)
	}
}
