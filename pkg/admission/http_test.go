package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/pkg/policy"
)

func post(t *testing.T, h http.Handler, target, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func decodeReview(t *testing.T, data []byte) *admissionv1.AdmissionReview {
	t.Helper()
	var r admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("response is not an AdmissionReview: %v: %s", err, data)
	}
	if r.Response == nil {
		t.Fatalf("AdmissionReview without response: %s", data)
	}
	return &r
}

func emptyHandler() *Handler {
	return &Handler{Reviewer: &Reviewer{Policies: policy.Static{Set: policy.NewSet()}}, Endpoint: Validate, MaxBodyBytes: 4096}
}

const podReview = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"default","operation":"CREATE","object":{"kind":"Pod","spec":{"containers":[{"name":"a","image":"nginx:1"}]}}}}`

func TestHandlerAnswersBadRequestsWithoutCrashing(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		contentType string
		body        string
		wantHTTP    int
		wantUID     string // "" when the UID cannot be read
		wantText    string
	}{
		"a body that is not JSON still gets a review response": {
			"application/json", `{not json`, 200, "", "decoding the AdmissionReview"},
		"a body cut short after the UID echoes the UID": {
			"application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"cut-7","kind":{"kind":"Pod"`, 200, "cut-7", "decoding"},
		"an empty body is refused with a reason": {
			"application/json", ``, 200, "", "empty request body"},
		"a review without a request is refused": {
			"application/json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, 200, "", "no request"},
		"a different apiVersion is refused by name": {
			"application/json", `{"apiVersion":"v1","kind":"Pod"}`, 200, "", "send an admission.k8s.io/v1 AdmissionReview"},
		"a body over the limit is refused and the UID still echoed": {
			"application/json", `{"request":{"uid":"big-1","x":"` + strings.Repeat("a", 5000) + `"}}`, 200, "big-1", "exceeds 4096 bytes"},
		"a non-JSON content type is refused": {
			"text/plain", podReview, 415, "", "send application/json"},
		"a missing content type is refused": {
			"", podReview, 415, "", "send application/json"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resp, data := post(t, emptyHandler(), "/validate", c.contentType, c.body)
			if resp.StatusCode != c.wantHTTP {
				t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, c.wantHTTP, data)
			}
			if c.wantHTTP != 200 {
				if !strings.Contains(string(data), c.wantText) {
					t.Fatalf("body %q lacks %q", data, c.wantText)
				}
				return
			}
			r := decodeReview(t, data).Response
			if r.Allowed {
				t.Fatal("a request that could not be read was allowed")
			}
			if string(r.UID) != c.wantUID {
				t.Errorf("UID %q, want %q", r.UID, c.wantUID)
			}
			if r.Result == nil || !strings.Contains(r.Result.Message, c.wantText) {
				t.Errorf("message %+v lacks %q", r.Result, c.wantText)
			}
		})
	}
}

func TestHandlerRefusesGet(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	emptyHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/validate", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("HTTP %d", rec.Code)
	}
}

func TestHandlerAnswersInTheVersionAskedAndEchoesTheUID(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"admission.k8s.io/v1", "admission.k8s.io/v1beta1"} {
		body := strings.Replace(podReview, "admission.k8s.io/v1", v, 1)
		_, data := post(t, emptyHandler(), "/validate", "application/json; charset=utf-8", body)
		r := decodeReview(t, data)
		if r.APIVersion != v || r.Kind != "AdmissionReview" {
			t.Errorf("answered %s %s, want %s AdmissionReview", r.APIVersion, r.Kind, v)
		}
		if r.Response.UID != "u-1" || !r.Response.Allowed {
			t.Errorf("response %+v: want UID u-1, allowed (no policy matches nginx)", r.Response)
		}
	}
}

// panickingResolver injects a bug; nothing real panics on demand.
type panickingResolver struct{}

func (panickingResolver) Resolve(context.Context, name.Reference, PullAuth) (name.Digest, error) {
	panic("injected bug")
}

// blockingResolver stands in for a registry that never answers, to test the deadline without one.
type blockingResolver struct{}

func (blockingResolver) Resolve(ctx context.Context, _ name.Reference, _ PullAuth) (name.Digest, error) {
	<-ctx.Done()
	time.Sleep(50 * time.Millisecond) // answers late even after cancellation
	return name.Digest{}, ctx.Err()
}

func matchAllSet(t *testing.T, mode policy.Mode, failure policy.FailurePolicy) *policy.Set {
	t.Helper()
	doc := `apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: all}
spec:
  images: [{glob: "**"}]
  mode: ` + string(mode) + `
  failurePolicy: ` + string(failure) + `
  authorities: [{key: {data: "` + strings.ReplaceAll(testPublicKeyPEM(t), "\n", `\n`) + `"}}]
`
	ps, err := policy.LoadBytes([]byte(doc), "test.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return policy.NewSet(ps...)
}

func TestAPanicDeniesWithTheUIDAndTheServerLives(t *testing.T) {
	t.Parallel()
	h := &Handler{Endpoint: Validate, Reviewer: &Reviewer{
		Policies: policy.Static{Set: matchAllSet(t, policy.ModeEnforce, policy.FailClosed)},
		Resolver: panickingResolver{},
	}}
	// The panic happens in a resolving goroutine or in the handler; either way we must answer.
	_, data := post(t, h, "/validate", "application/json", podReview)
	r := decodeReview(t, data).Response
	if r.Allowed || r.UID != "u-1" {
		t.Fatalf("response %+v: want a denial carrying UID u-1", r)
	}
	if !strings.Contains(r.Result.Message, "internal error") {
		t.Errorf("message %q does not say internal error", r.Result.Message)
	}
}

func TestAReviewIsAnsweredBeforeTheAPIServersTimeout(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		failure     policy.FailurePolicy
		wantAllowed bool
	}{
		"a fail-closed policy denies saying it timed out":              {policy.FailClosed, false},
		"a fail-open policy allows with a warning saying it timed out": {policy.FailOpen, true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := &Handler{Endpoint: Validate, Margin: 100 * time.Millisecond, Reviewer: &Reviewer{
				Policies: policy.Static{Set: matchAllSet(t, policy.ModeEnforce, c.failure)},
				Resolver: blockingResolver{},
			}}
			start := time.Now()
			_, data := post(t, h, "/validate?timeout=400ms", "application/json", podReview)
			took := time.Since(start)
			r := decodeReview(t, data).Response
			if took >= 400*time.Millisecond {
				t.Errorf("answered after %s, at or past the API server's 400ms timeout", took)
			}
			if r.Allowed != c.wantAllowed {
				t.Fatalf("allowed=%v, want %v: %+v", r.Allowed, c.wantAllowed, r)
			}
			text := strings.Join(r.Warnings, " ")
			if r.Result != nil {
				text += r.Result.Message
			}
			if !strings.Contains(text, "timed out") {
				t.Errorf("answer %q does not say it timed out", text)
			}
		})
	}
}

func TestBudgetLeavesTheMarginButNeverMoreThanHalf(t *testing.T) {
	t.Parallel()
	h := &Handler{Margin: 2 * time.Second}
	for query, want := range map[string]time.Duration{
		"":             8 * time.Second,  // default 10s
		"?timeout=30s": 28 * time.Second, // margin kept
		"?timeout=2s":  time.Second,      // margin capped at half
		"?timeout=bad": 8 * time.Second,
	} {
		req := httptest.NewRequest(http.MethodPost, "/validate"+query, bytes.NewReader(nil))
		if got := h.budget(req); got != want {
			t.Errorf("budget for %q = %s, want %s", query, got, want)
		}
	}
}
