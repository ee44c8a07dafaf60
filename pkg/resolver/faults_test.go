package resolver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/pkg/reason"
)

// Faults, each answering only manifest requests of one method unless said otherwise.

func status(method string, code int, retryAfter string, first int) fault {
	return func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method != method || kindOf(r) != "manifest" || (first > 0 && n > first) {
			return false
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(code)
		return true
	}
}

// withoutDigestHeader lets the registry answer every manifest request but drops
// Docker-Content-Digest, so only the bytes can tell the digest.
func withoutDigestHeader(next http.Handler) fault {
	return func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if kindOf(r) != "manifest" {
			return false
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			if k != "Docker-Content-Digest" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return true
	}
}

// slow holds manifest HEADs until the client gives up.
func slow(w http.ResponseWriter, r *http.Request, _ int) bool {
	if r.Method != http.MethodHead || kindOf(r) != "manifest" {
		return false
	}
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
	return true
}

// resetFirst closes the connection of the first manifest HEAD without answering.
func resetFirst(w http.ResponseWriter, r *http.Request, n int) bool {
	if r.Method != http.MethodHead || kindOf(r) != "manifest" || n > 1 {
		return false
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
	return true
}

func TestResolveFaults(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	img := tr.pushImage(t, "app:v1")
	dig := mustDigest(t, img.Digest).String()
	missing := "sha256:" + strings.Repeat("0", 64)

	tests := map[string]struct {
		fault     fault
		ref       string
		timeout   time.Duration
		code      reason.Code // "" for success with the image's digest
		text      []string
		head, get int
		retries   int           // Stats.Retries; -1: not checked
		within    time.Duration // the answer comes before this; 0: no check
	}{
		"A tag that does not exist is TagNotFound.": {
			ref: "app:v2", code: reason.TagNotFound, head: 1,
			text: []string{"tag not found: " + tr.host + "/app:v2: registry " + tr.host + " has no tag v2 in app"},
		},
		"A tag in a repository that does not exist is TagNotFound.": {
			ref: "nothere:v1", code: reason.TagNotFound, head: 1, text: []string{"has no tag v1 in nothere"},
		},
		"A digest that does not exist is ManifestUnknown.": {
			ref: "app@" + missing, code: reason.ManifestUnknown, head: 1,
			text: []string{"manifest unknown: " + tr.host + "/app@" + missing, "has no manifest " + missing + " in app"},
		},
		"A registry that refuses HEAD with 405 is asked with GET and the bytes are hashed.": {
			fault: status(http.MethodHead, http.StatusMethodNotAllowed, "", 0), ref: "app:v1", head: 1, get: 1,
		},
		"A HEAD answer without Docker-Content-Digest falls back to GET and the bytes are hashed.": {
			fault: withoutDigestHeader(tr.registry), ref: "app:v1", head: 1, get: 1,
		},
		"A HEAD that fails with 500 falls back to GET.": {
			fault: status(http.MethodHead, http.StatusInternalServerError, "", 0), ref: "app:v1", head: 1, get: 1,
		},
		"A digest reference falls back to GET when HEAD is refused.": {
			fault: status(http.MethodHead, http.StatusMethodNotAllowed, "", 0), ref: "app@" + dig, head: 1, get: 1,
		},
		"A 401 is AuthFailed and points at the credentials.": {
			fault: status(http.MethodHead, http.StatusUnauthorized, "", 0), ref: "app:v1", code: reason.AuthFailed, head: 1,
			text: []string{"registry auth failed: " + tr.host + "/app:v1: registry " + tr.host + " answered 401 Unauthorized", "check the credentials"},
		},
		"A 403 is AuthFailed.": {
			fault: status(http.MethodHead, http.StatusForbidden, "", 0), ref: "app:v1", code: reason.AuthFailed, head: 1,
			text: []string{"answered 403 Forbidden"},
		},
		"One 429 with Retry-After: 0 is retried and the retry succeeds.": {
			fault: status(http.MethodHead, http.StatusTooManyRequests, "0", 1), ref: "app:v1", head: 2, retries: 1,
		},
		"A registry that keeps answering 429 is RateLimited after three attempts.": {
			fault: status(http.MethodHead, http.StatusTooManyRequests, "0", 0), ref: "app:v1", code: reason.RateLimited, head: 3, retries: 2,
			text: []string{"rate limited: " + tr.host + "/app:v1: registry " + tr.host + " answered 429 Too Many Requests"},
		},
		"A Retry-After beyond the deadline is RateLimited at once, saying when to retry.": {
			fault: status(http.MethodHead, http.StatusTooManyRequests, "120", 0), ref: "app:v1", timeout: 2 * time.Second,
			code: reason.RateLimited, head: 1, within: time.Second,
			text: []string{"answered 429 Too Many Requests and asked to retry after 2m0s", "later than the request's deadline"},
		},
		"A registry that keeps answering 503 is RegistryUnreachable after three attempts.": {
			fault: status(http.MethodHead, http.StatusServiceUnavailable, "", 0), ref: "app:v1", code: reason.RegistryUnreachable, head: 3, retries: 2,
			text: []string{"registry unreachable: " + tr.host + "/app:v1: registry " + tr.host + " answered 503 Service Unavailable"},
		},
		"A 502 followed by an answer succeeds.": {
			fault: status(http.MethodHead, http.StatusBadGateway, "", 1), ref: "app:v1", head: 2, retries: 1,
		},
		"A reset connection is retried.": {
			// net/http itself may retry an idempotent request on a reused connection.
			fault: resetFirst, ref: "app:v1", head: 2, retries: -1,
		},
		"A registry slower than the deadline is TimedOut within the deadline.": {
			// The registry holds the HEAD for 5s; the answer must come near the 300ms deadline.
			fault: slow, ref: "app:v1", timeout: 300 * time.Millisecond, code: reason.TimedOut, head: 1, within: 2 * time.Second,
			text: []string{"timed out: " + tr.host + "/app:v1: timed out after ", "ms waiting for registry " + tr.host},
		},
		"A registry whose /v2/ answers 500 is RegistryUnreachable.": {
			fault: func(w http.ResponseWriter, r *http.Request, _ int) bool {
				if kindOf(r) != "ping" {
					return false
				}
				w.WriteHeader(http.StatusInternalServerError)
				return true
			},
			ref: "app:v1", code: reason.RegistryUnreachable, text: []string{"answered 500 Internal Server Error"},
		},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			r := newResolver(t, tr, withRetryBase(time.Millisecond))
			tr.arm(tc.fault)
			ref := tr.ref(t, tc.ref)
			start := time.Now()
			got, err := r.Resolve(timeoutContext(t, tc.timeout), ref)
			took := time.Since(start)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Resolve: %v", err)
				}
				if got.DigestStr() != dig {
					t.Errorf("Resolve = %s, want digest %s", got, dig)
				}
			} else {
				checkReason(t, err, tc.code, tc.text...)
			}
			if tc.within > 0 && took > tc.within {
				t.Errorf("answered after %s, want within %s", took, tc.within)
			}
			if h, g := tr.count("HEAD", "manifest"), tr.count("GET", "manifest"); h != tc.head || g != tc.get {
				t.Errorf("manifest requests: %d HEAD, %d GET; want %d HEAD, %d GET", h, g, tc.head, tc.get)
			}
			if s := r.Stats(); tc.retries >= 0 && s.Retries != uint64(tc.retries) {
				t.Errorf("Stats.Retries = %d, want %d", s.Retries, tc.retries)
			}
			if s := r.Stats(); tc.retries >= 0 && s.Requests["HEAD"] != uint64(tc.head) {
				t.Errorf("Stats.Requests[HEAD] = %d, want %d as the registry saw", s.Requests["HEAD"], tc.head)
			}
		})
	}
}
