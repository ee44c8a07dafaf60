package registryfaults

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.uber.org/goleak"

	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/resolver"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const appManifest = "manifest apps/app:v1"

// onManifest answers the image's manifest requests of method (any method when "") with answer,
// from the request numbered first on (0: every one).
func onManifest(method string, first int, answer func(w http.ResponseWriter, r *http.Request)) fault {
	return func(w http.ResponseWriter, r *http.Request, n int) bool {
		if !strings.HasSuffix(keyOf(r), appManifest) || (method != "" && r.Method != method) || n < first {
			return false
		}
		answer(w, r)
		return true
	}
}

// untilNth answers the first n-1 requests with answer and lets the registry answer the rest.
func untilNth(method string, n int, answer func(w http.ResponseWriter, r *http.Request)) fault {
	return func(w http.ResponseWriter, r *http.Request, seen int) bool {
		if !strings.HasSuffix(keyOf(r), appManifest) || r.Method != method || seen >= n {
			return false
		}
		answer(w, r)
		return true
	}
}

func statusCode(code int, retryAfter string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(code)
	}
}

func hangUntilCancelled(_ http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func resetConnection(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// passThrough lets the registry answer into a recorder and hands its answer to edit.
func passThrough(reg http.Handler, edit func(w http.ResponseWriter, rec *httptest.ResponseRecorder)) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		reg.ServeHTTP(rec, r)
		edit(w, rec)
	}
}

func TestRegistryFaultsThroughTheWebhookDecision(t *testing.T) {
	// Not parallel: every case checks that no goroutine outlives it, and shares one registry.
	fr := newFaultyRegistry(t)
	k := newKeys(t)
	pushOpts := []remote.Option{remote.WithTransport(fr.srv.Client().Transport)}
	dig := pushSigned(t, fr.host, "apps/app:v1", k, pushOpts...)
	image := fr.host + "/apps/app:v1"
	wrong := "sha256:" + fmt.Sprintf("%x", sha256.Sum256([]byte("not the manifest")))
	head, get := "HEAD "+appManifest, "GET "+appManifest

	tests := map[string]struct {
		fault    fault
		noCA     bool          // the webhook does not trust the registry's CA
		deadline time.Duration // default 5s
		// allowed is the fail-closed decision; openAllowed the fail-open one.
		allowed, openAllowed bool
		text                 []string // in the fail-closed answer
		head, get            int      // manifest requests for the image, fail-closed
		minTotal, maxTotal   int      // every request the registry saw, fail-closed; 0: not checked
	}{
		"A signed image on a healthy registry is allowed after one HEAD.": {
			allowed: true, openAllowed: true, head: 1,
		},
		"A registry slower than the deadline is answered in time as timed out.": {
			// Whichever notices the deadline first words it: the resolver ("timed out after …
			// waiting for registry HOST") or the Reviewer ("no answer from the registry within …").
			fault: onManifest(http.MethodHead, 1, hangUntilCancelled), deadline: 500 * time.Millisecond,
			openAllowed: true, head: 1, minTotal: 2, maxTotal: 2,
			text: []string{"spec.containers[0].image", image, "policy ClusterImagePolicy/signed-apps: timed out: "},
		},
		"A 401 is an auth failure naming the registry.": {
			fault: onManifest(http.MethodHead, 1, statusCode(http.StatusUnauthorized, "")), openAllowed: true, head: 1, minTotal: 2, maxTotal: 2,
			text: []string{"registry auth failed: registry " + fr.host + " answered 401 Unauthorized", "check the credentials for " + fr.host},
		},
		"A 403 is an auth failure.": {
			fault: onManifest(http.MethodHead, 1, statusCode(http.StatusForbidden, "")), openAllowed: true, head: 1, minTotal: 2, maxTotal: 2,
			text: []string{"registry auth failed: registry " + fr.host + " answered 403 Forbidden"},
		},
		"A 404 is tag not found, which no failure policy turns into an allow.": {
			fault: onManifest(http.MethodHead, 1, statusCode(http.StatusNotFound, "")), head: 1, minTotal: 2, maxTotal: 2,
			text: []string{"tag not found: registry " + fr.host + " has no tag v1 in apps/app"},
		},
		"A 429 with Retry-After is waited for and the retry succeeds.": {
			fault: untilNth(http.MethodHead, 2, statusCode(http.StatusTooManyRequests, "1")), allowed: true, openAllowed: true, head: 2,
		},
		"A registry that keeps answering 429 is rate limited after three attempts.": {
			fault: onManifest(http.MethodHead, 1, statusCode(http.StatusTooManyRequests, "0")), openAllowed: true, head: 3, minTotal: 4, maxTotal: 4,
			text: []string{"rate limited: registry " + fr.host + " answered 429 Too Many Requests"},
		},
		"A 500 to HEAD and GET is registry unreachable, without retries.": {
			fault: onManifest("", 1, statusCode(http.StatusInternalServerError, "")), openAllowed: true, head: 1, get: 1, minTotal: 3, maxTotal: 3,
			text: []string{"registry unreachable: registry " + fr.host + " answered 500 Internal Server Error"},
		},
		"A registry that keeps answering 503 is unreachable after three attempts.": {
			fault: onManifest(http.MethodHead, 1, statusCode(http.StatusServiceUnavailable, "")), openAllowed: true, head: 3, minTotal: 4, maxTotal: 4,
			text: []string{"registry unreachable: registry " + fr.host + " answered 503 Service Unavailable"},
		},
		"A 503 followed by an answer is retried and allowed.": {
			fault: untilNth(http.MethodHead, 2, statusCode(http.StatusServiceUnavailable, "")), allowed: true, openAllowed: true, head: 2,
		},
		"A registry that resets every connection is unreachable.": {
			// net/http itself replays an idempotent request once when a reused connection drops,
			// so each of the three attempts may be sent once or twice.
			fault: onManifest(http.MethodHead, 1, resetConnection), openAllowed: true, head: -1, minTotal: 4, maxTotal: 7,
			text: []string{"registry unreachable: registry " + fr.host + " closed the connection"},
		},
		"A truncated manifest body is registry unreachable.": {
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if !strings.HasSuffix(keyOf(r), appManifest) {
					return false
				}
				if r.Method == http.MethodHead {
					w.WriteHeader(http.StatusMethodNotAllowed) // so that the bytes must be read
					return true
				}
				w.Header().Set("Content-Length", "1000")
				w.WriteHeader(http.StatusOK)
				w.Write([]byte(`{"schemaVersion":2,`))
				return true
			},
			openAllowed: true, head: 1, get: 1, minTotal: 3, maxTotal: 3,
			text: []string{"registry unreachable: registry " + fr.host + " closed the connection", "unexpected EOF"},
		},
		"A wrong Docker-Content-Digest resolves to a digest nobody signed and is denied.": {
			// signet trusts the digest header as the kubelet does; what it pins and verifies is the
			// digest the kubelet would pull, and that one carries no signature.
			fault: onManifest(http.MethodHead, 1, passThrough(fr.reg, func(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.Header().Set("Docker-Content-Digest", wrong)
				w.WriteHeader(rec.Code)
			})),
			head: 1,
			text: []string{"resolved to " + wrong, "no signatures"},
		},
		"An oversized manifest is refused unread.": {
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if !strings.HasSuffix(keyOf(r), appManifest) {
					return false
				}
				if r.Method == http.MethodHead {
					w.WriteHeader(http.StatusMethodNotAllowed)
					return true
				}
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Header().Set("Content-Length", fmt.Sprint(5<<20))
				w.Write([]byte(strings.Repeat(" ", 5<<20)))
				return true
			},
			openAllowed: true, head: 1, get: 1, minTotal: 3, maxTotal: 3,
			text: []string{"registry unreachable: registry " + fr.host + " sent a manifest of 5242880 bytes, more than the 4194304 bytes signet reads"},
		},
		"An oversized manifest of unannounced length is refused at the limit.": {
			fault: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if !strings.HasSuffix(keyOf(r), appManifest) {
					return false
				}
				if r.Method == http.MethodHead {
					w.WriteHeader(http.StatusMethodNotAllowed)
					return true
				}
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Write([]byte(strings.Repeat(" ", 5<<20))) // chunked: no Content-Length
				return true
			},
			openAllowed: true, head: 1, get: 1, minTotal: 3, maxTotal: 3,
			text: []string{"registry unreachable: registry " + fr.host + " sent a manifest larger than the 4194304 bytes signet reads"},
		},
		"A registry whose CA is not trusted is a TLS failure naming it.": {
			noCA: true, openAllowed: true, head: 0, minTotal: 0, maxTotal: 0,
			text: []string{"registry TLS failure", "TLS with registry " + fr.host + " failed", "certificate signed by unknown authority"},
		},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			deadline := tc.deadline
			if deadline == 0 {
				deadline = 5 * time.Second
			}
			for _, failure := range []policy.FailurePolicy{policy.FailClosed, policy.FailOpen} {
				var opts []resolver.Option
				if !tc.noCA {
					opts = append(opts, resolver.WithCABundle(fr.caPEM))
				}
				s := newStack(t, policies(t, fr.host, k.pub, failure), opts...)
				fr.arm(tc.fault)
				resp, text := review(t, s, admission.Validate, request("Pod", "apps", podJSON("apps", nil, image)), deadline)
				seen := fr.requests()
				fr.arm(nil)
				s.registry.Close()

				want := tc.allowed
				if failure == policy.FailOpen {
					want = tc.openAllowed
				}
				if resp.Allowed != want {
					t.Fatalf("%s policy: allowed = %t, want %t; answer: %s", failure, resp.Allowed, want, text)
				}
				if failure == policy.FailOpen {
					if !tc.allowed && tc.openAllowed && !strings.Contains(text, "allowed: the policy fails open on registry errors") {
						t.Errorf("fail-open allow does not say why: %s", text)
					}
					continue
				}
				if resp.UID != "uid-1" {
					t.Errorf("UID %q", resp.UID)
				}
				for _, f := range tc.text {
					if !strings.Contains(text, f) {
						t.Errorf("answer lacks %q:\n%s", f, text)
					}
				}
				if tc.head >= 0 && (seen[head] != tc.head || seen[get] != tc.get) {
					t.Errorf("image manifest requests: %d HEAD, %d GET; want %d, %d (all: %v)", seen[head], seen[get], tc.head, tc.get, seen)
				}
				total := 0
				for _, n := range seen {
					total += n
				}
				if (tc.maxTotal > 0 || tc.noCA) && (total < tc.minTotal || total > tc.maxTotal) {
					t.Errorf("the registry saw %d requests, want %d to %d: %v", total, tc.minTotal, tc.maxTotal, seen)
				}
			}
		})
	}
	_ = dig
}
