package admission_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
)

// The fuzz targets below stand a deterministic resolver and an always-passing verifier in for the
// registry: a fuzzer runs thousands of inputs a second, and what is fuzzed here is signet's own
// decoding, walking and patching, not registry access (test/faults and pkg/resolver cover that
// against real registries).

// hashResolver "resolves" every reference to the sha256 of its name, so the digest is stable and
// differs per image; a digest reference is returned as is, as the real resolver does.
type hashResolver struct{}

func (hashResolver) Resolve(_ context.Context, ref name.Reference, _ admission.PullAuth) (name.Digest, error) {
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	sum := sha256.Sum256([]byte(ref.Name()))
	return ref.Context().Digest("sha256:" + hex.EncodeToString(sum[:])), nil
}

type passingVerifier struct{}

func (passingVerifier) Verify(context.Context, name.Digest, *policy.Policy, admission.PullAuth) error {
	return nil
}

// panicCatcher fails the fuzz run on any error-level log line: the handler and reviewer turn
// panics into denials and log them, which would otherwise hide a crash from the fuzzer.
type panicCatcher struct{ t *testing.T }

func (p panicCatcher) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (p panicCatcher) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	p.t.Errorf("error logged while reviewing: %s", b.String())
	return nil
}
func (p panicCatcher) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p panicCatcher) WithGroup(string) slog.Handler      { return p }

// fuzzPolicies matches every image, pins, and trusts a throwaway key (the verifier never uses it).
func fuzzPolicies(f *testing.F) admission.PolicySource {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	doc := fmt.Sprintf(`apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: everything}
spec:
  images: [{glob: "**"}]
  pinDigest: true
  authorities: [{key: {data: %q}}]
`, pub)
	ps, err := policy.LoadBytes([]byte(doc), "fuzz.yaml", f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	return policy.Static{Set: policy.NewSet(ps...)}
}

func fuzzReviewer(t *testing.T, ps admission.PolicySource) *admission.Reviewer {
	return &admission.Reviewer{
		Policies: ps,
		Resolver: hashResolver{},
		Verifier: passingVerifier{},
		Logger:   slog.New(panicCatcher{t}),
	}
}

// fuzzKinds are the kinds the walker knows, plus one it does not.
var fuzzKinds = []string{"Pod", "PodTemplate", "ReplicationController", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service"}

// FuzzReviewObject reviews arbitrary objects of every kind on both endpoints. Whatever the object,
// the review answers with the UID, and a patch from the mutating endpoint is a list of replace ops
// that applies to the object, leaves each image a digest reference of the image it replaced, and
// is idempotent: the patched object gets no further patch and the same verdict.
func FuzzReviewObject(f *testing.F) {
	spec := `{"initContainers":[{"name":"i","image":"busybox"}],"containers":[{"name":"a","image":"nginx:1.27"},{"name":"b","image":"ghcr.io/org/app@sha256:` + strings.Repeat("ab", 32) + `"}]}`
	for _, obj := range []string{
		`{"kind":"Pod","spec":` + spec + `}`,
		`{"spec":{"template":{"spec":` + spec + `}}}`,
		`{"template":{"spec":` + spec + `}}`,
		`{"spec":{"jobTemplate":{"spec":{"template":{"spec":` + spec + `}}}}}`,
		`{"spec":{"containers":[{"name":"a","image":"localhost:5000/a/b:c"},{"name":"b","image":"localhost:5000/a/b:c"}]}}`,
		`{"spec":{"containers":[{"name":"a","image":"NOT A REFERENCE"}]}}`,
		`{"spec":{"ephemeralContainers":[{"name":"d","image":"[::1]:5000/debug"}]}}`,
		`{"spec":{"containers":null}}`,
		`{"spec":{"template":null}}`,
		`[]`,
		`null`,
	} {
		for _, kind := range []string{"Pod", "Deployment", "PodTemplate", "CronJob"} {
			f.Add(kind, []byte(obj))
		}
	}
	ps := fuzzPolicies(f)
	f.Fuzz(func(t *testing.T, kind string, obj []byte) {
		r := fuzzReviewer(t, ps)
		req := fuzzRequest(kind, obj)
		ctx := context.Background()
		mut := r.Review(ctx, admission.Mutate, req)
		val := r.Review(ctx, admission.Validate, req)
		for _, resp := range []*admissionv1.AdmissionResponse{mut, val} {
			if resp == nil || resp.UID != req.UID {
				t.Fatalf("response %+v does not carry UID %q", resp, req.UID)
			}
			if !resp.Allowed && (resp.Result == nil || resp.Result.Message == "") {
				t.Fatalf("denial without a message: %+v", resp)
			}
		}
		if val.Patch != nil {
			t.Fatalf("the validating endpoint patched: %s", val.Patch)
		}
		if mut.Patch == nil {
			return
		}
		patched := checkPatch(t, kind, obj, mut.Patch)
		again := r.Review(ctx, admission.Mutate, fuzzRequest(kind, patched))
		if again.Patch != nil {
			t.Fatalf("the patched object %s got another patch %s", patched, again.Patch)
		}
		if v := r.Review(ctx, admission.Validate, fuzzRequest(kind, patched)); v.Allowed != val.Allowed {
			t.Fatalf("the patched object %s is judged allowed=%t, the original allowed=%t: %+v", patched, v.Allowed, val.Allowed, v.Result)
		}
	})
}

func fuzzRequest(kind string, obj []byte) *admissionv1.AdmissionRequest {
	return &admissionv1.AdmissionRequest{
		UID:       "fuzz-uid",
		Kind:      metav1.GroupVersionKind{Kind: kind, Version: "v1"},
		Namespace: "ns",
		Name:      "n",
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: obj},
	}
}

// checkPatch applies patch to obj and checks every op; it returns the patched object.
func checkPatch(t *testing.T, kind string, obj, patch []byte) []byte {
	t.Helper()
	var ops []struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(patch, &ops); err != nil {
		t.Fatalf("patch %s is not a list of string ops: %v", patch, err)
	}
	before, err := admission.Images(kind, obj)
	if err != nil {
		t.Fatalf("a patch for an object the walker cannot read: %v", err)
	}
	old := map[string]string{}
	for _, img := range before {
		old[img.Pointer] = img.Image
	}
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		t.Fatalf("patch %s does not decode: %v", patch, err)
	}
	out, err := p.Apply(obj)
	if err != nil {
		t.Fatalf("patch %s does not apply to %s: %v", patch, obj, err)
	}
	after, err := admission.Images(kind, out)
	if err != nil {
		t.Fatalf("the patched object %s cannot be walked: %v", out, err)
	}
	now := map[string]string{}
	for _, img := range after {
		now[img.Pointer] = img.Image
	}
	for _, op := range ops {
		was, ok := old[op.Path]
		if op.Op != "replace" || !ok {
			t.Fatalf("op %+v is not a replace at an image pointer (images: %v)", op, old)
		}
		if now[op.Path] != op.Value {
			t.Fatalf("after the patch %s holds %q, want %q", op.Path, now[op.Path], op.Value)
		}
		ref, err := name.ParseReference(op.Value)
		if err != nil {
			t.Fatalf("pinned image %q does not parse: %v", op.Value, err)
		}
		d, ok := ref.(name.Digest)
		if !ok {
			t.Fatalf("pinned image %q is not a digest reference", op.Value)
		}
		want, _, err := policy.NormalizeImage(was)
		if err != nil {
			t.Fatalf("image %q was pinned but does not normalise: %v", was, err)
		}
		if d.Context().Name() != want.Context().Name() {
			t.Fatalf("pinning %q moved it to repository %s", was, d.Context().Name())
		}
		if !strings.HasPrefix(op.Value, was+"@") {
			t.Fatalf("pinned image %q does not keep what was written (%q)", op.Value, was)
		}
	}
	return out
}

// FuzzHandler sends arbitrary bodies to the HTTP handler of both endpoints: it answers every one
// with an AdmissionReview (or a plain HTTP error for the wrong content type, which fuzzing does not
// reach), echoes the UID of every review it could decode, and never logs a panic.
func FuzzHandler(f *testing.F) {
	for _, s := range []string{
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"default","operation":"CREATE","object":{"kind":"Pod","spec":{"containers":[{"name":"a","image":"nginx:1"}]}}}}`,
		`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u-2","kind":{"group":"apps","version":"v1","kind":"Deployment"},"namespace":"default","operation":"UPDATE","object":{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"nginx:2"}]}}}},"oldObject":{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"nginx:1"}]}}}}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-3","kind":{"kind":"Pod"},"subResource":"ephemeralcontainers","operation":"UPDATE","object":{"spec":{"ephemeralContainers":[{"name":"d","image":"busybox"}]}},"oldObject":{"spec":{}}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-4","kind":{"kind":"Job"},"operation":"UPDATE","object":{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x"}]}}}},"oldObject":{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"x@sha256:` + strings.Repeat("0", 64) + `"}]}}}}}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-5","kind":{"kind":"Pod"},"operation":"DELETE"}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`,
		`{"request":{"uid":"cut`,
		``,
	} {
		f.Add([]byte(s))
	}
	ps := fuzzPolicies(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var sent admissionv1.AdmissionReview
		decoded := json.Unmarshal(body, &sent) == nil && sent.Request != nil &&
			sent.Kind == "AdmissionReview" && (sent.APIVersion == "admission.k8s.io/v1" || sent.APIVersion == "admission.k8s.io/v1beta1")
		for _, ep := range []admission.Endpoint{admission.Mutate, admission.Validate} {
			h := &admission.Handler{Reviewer: fuzzReviewer(t, ps), Endpoint: ep, MaxBodyBytes: 1 << 16, Logger: slog.New(panicCatcher{t})}
			req := httptest.NewRequest(http.MethodPost, "/"+string(ep)+"?timeout=5s", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			data, _ := io.ReadAll(rec.Result().Body)
			var got admissionv1.AdmissionReview
			if err := json.Unmarshal(data, &got); err != nil || got.Response == nil {
				t.Fatalf("%s answered %d %q, not an AdmissionReview with a response", ep, rec.Code, data)
			}
			if decoded && len(body) <= 1<<16 && got.Response.UID != sent.Request.UID {
				t.Fatalf("%s answered UID %q to a review with UID %q", ep, got.Response.UID, sent.Request.UID)
			}
			if decoded && got.APIVersion != sent.APIVersion {
				t.Fatalf("%s answered in %q to a review in %q", ep, got.APIVersion, sent.APIVersion)
			}
			if got.Response.Patch != nil && decoded {
				checkPatch(t, sent.Request.Kind.Kind, sent.Request.Object.Raw, got.Response.Patch)
			}
		}
	})
}
