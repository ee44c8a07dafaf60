package admission_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/signet-dev/signet/internal/wiring"
	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/resolver"
	"github.com/signet-dev/signet/pkg/verify"
)

// world is an in-process registry over TLS holding images signed in various ways, a counter of
// the requests it receives, and the keys that signed them.
type world struct {
	host              string
	requests          atomic.Int64
	caPEM             []byte
	pubA, pubB        string // PEM
	signed, unsigned  string // tag references
	annotated, moving string
	signedDigest      string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.requests.Add(1)
		reg.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	w.host = srv.Listener.Addr().String()
	w.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	opts := []remote.Option{remote.WithTransport(srv.Client().Transport)}
	ctx := context.Background()

	key := func(i int) (signer func(name.Digest, map[string]string), pub string) {
		k := testKeys(t)[i]
		return func(d name.Digest, ann map[string]string) {
			if err := publisher.Sign(ctx, d, k.signer, ann, opts...); err != nil {
				t.Fatal(err)
			}
		}, k.pub
	}
	signA, pubA := key(0)
	_, pubB := key(1)
	w.pubA, w.pubB = pubA, pubB

	push := func(repo string) (string, name.Digest) {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		tag, err := name.NewTag(w.host + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag, img, opts...); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return tag.String(), tag.Context().Digest(d.String())
	}
	var d name.Digest
	w.signed, d = push("apps/signed:v1")
	w.signedDigest = d.DigestStr()
	signA(d, nil)
	w.unsigned, _ = push("apps/unsigned:v1")
	w.annotated, d = push("apps/annotated:v1")
	signA(d, map[string]string{"env": "staging"})
	w.moving, d = push("apps/moving:v1")
	signA(d, nil)
	return w
}

type testKey struct {
	signer signature.Signer
	pub    string
}

var (
	keysOnce sync.Once
	keys     []testKey
	keysErr  error
)

// testKeys makes two cosign key pairs once: their password encryption is deliberately slow.
func testKeys(t *testing.T) []testKey {
	keysOnce.Do(func() {
		for range 2 {
			priv, pub, err := publisher.GenerateKeyPair([]byte("pw"))
			if err != nil {
				keysErr = err
				return
			}
			s, err := publisher.LoadSigner(priv, []byte("pw"))
			if err != nil {
				keysErr = err
				return
			}
			keys = append(keys, testKey{s, string(pub)})
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keys
}

func (w *world) policy(t *testing.T, specYAML string) *policy.Set {
	t.Helper()
	doc := "apiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: apps}\nspec:\n" + specYAML
	ps, err := policy.LoadBytes([]byte(doc), "test.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return policy.NewSet(ps...)
}

func keyYAML(pub string) string {
	return fmt.Sprintf("{key: {data: %q}}", pub)
}

func (w *world) defaultPolicy(t *testing.T) *policy.Set {
	return w.policy(t, fmt.Sprintf("  images: [{glob: %q}]\n  authorities: [%s]\n", w.host+"/apps/**", keyYAML(w.pubA)))
}

func (w *world) reviewer(t *testing.T, set *policy.Set, unmatched admission.UnmatchedAction) *admission.Reviewer {
	t.Helper()
	reg, err := resolver.New(resolver.WithCABundle(w.caPEM))
	if err != nil {
		t.Fatal(err)
	}
	v := verify.New(verify.WithRemoteOptions(reg.RemoteOptions))
	return &admission.Reviewer{
		Policies:  policy.Static{Set: set},
		Resolver:  wiring.Resolver(reg),
		Verifier:  wiring.Verifier(v, reg),
		Unmatched: unmatched,
	}
}

func pod(images ...string) string {
	var cs []string
	for i, img := range images {
		cs = append(cs, fmt.Sprintf(`{"name":"c%d","image":%q}`, i, img))
	}
	return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ns"},"spec":{"containers":[` + strings.Join(cs, ",") + `]}}`
}

func request(kind string, op admissionv1.Operation, obj, old string) *admissionv1.AdmissionRequest {
	r := &admissionv1.AdmissionRequest{
		UID:       "uid-1",
		Kind:      metav1.GroupVersionKind{Kind: kind, Version: "v1"},
		Namespace: "ns",
		Name:      "p",
		Operation: op,
		Object:    runtime.RawExtension{Raw: []byte(obj)},
	}
	if old != "" {
		r.OldObject = runtime.RawExtension{Raw: []byte(old)}
	}
	return r
}

// admit sends req through /mutate, applies the patch, then through /validate, as the API server does.
func admit(t *testing.T, r *admission.Reviewer, req *admissionv1.AdmissionRequest) (mut, val *admissionv1.AdmissionResponse, final string) {
	t.Helper()
	ctx := context.Background()
	mut = r.Review(ctx, admission.Mutate, req)
	if mut.UID != req.UID {
		t.Fatalf("mutate response UID %q", mut.UID)
	}
	obj := req.Object.Raw
	if len(mut.Patch) > 0 {
		p, err := jsonpatch.DecodePatch(mut.Patch)
		if err != nil {
			t.Fatalf("patch %s: %v", mut.Patch, err)
		}
		if obj, err = p.Apply(obj); err != nil {
			t.Fatalf("patch %s does not apply: %v", mut.Patch, err)
		}
	}
	next := *req
	next.Object = runtime.RawExtension{Raw: obj}
	val = r.Review(ctx, admission.Validate, &next)
	return mut, val, string(obj)
}

func message(r *admissionv1.AdmissionResponse) string {
	if r.Result == nil {
		return ""
	}
	return r.Result.Message
}

func TestEveryKindIsPinnedAndAdmittedWhenSigned(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.reviewer(t, w.defaultPolicy(t), admission.UnmatchedAllow)
	spec := fmt.Sprintf(`{"initContainers":[{"name":"i","image":%q}],"containers":[{"name":"c","image":%q}]}`, w.signed, w.signed)
	objects := map[string]string{
		"Pod":                   `{"spec":` + spec + `}`,
		"PodTemplate":           `{"template":{"spec":` + spec + `}}`,
		"ReplicationController": `{"spec":{"template":{"spec":` + spec + `}}}`,
		"Deployment":            `{"spec":{"template":{"spec":` + spec + `}}}`,
		"ReplicaSet":            `{"spec":{"template":{"spec":` + spec + `}}}`,
		"StatefulSet":           `{"spec":{"template":{"spec":` + spec + `}}}`,
		"DaemonSet":             `{"spec":{"template":{"spec":` + spec + `}}}`,
		"Job":                   `{"spec":{"template":{"spec":` + spec + `}}}`,
		"CronJob":               `{"spec":{"jobTemplate":{"spec":{"template":{"spec":` + spec + `}}}}}`,
	}
	pinned := w.signed + "@" + w.signedDigest
	for kind, obj := range objects {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			mut, val, final := admit(t, r, request(kind, admissionv1.Create, obj, ""))
			if !val.Allowed {
				t.Fatalf("denied: %s", message(val))
			}
			if strings.Count(final, pinned) != 2 {
				t.Fatalf("final object does not pin both images to %s: %s (patch %s)", pinned, final, mut.Patch)
			}
			// Idempotent: signet's own output yields no patch and the same decision.
			again, val2, _ := admit(t, r, request(kind, admissionv1.Create, final, ""))
			if len(again.Patch) != 0 || !val2.Allowed {
				t.Fatalf("re-submission: patch %s, allowed %v", again.Patch, val2.Allowed)
			}
		})
	}
}

func TestEachDenyReasonIsDistinctAndNamesTheField(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	glob := w.host + "/apps/**"
	cases := map[string]struct {
		image  string
		policy string
		want   []string
	}{
		"an unsigned image has no signatures": {
			w.unsigned, "", []string{"no signatures", "spec.containers[0].image", "policy ClusterImagePolicy/apps", "unsigned:v1@sha256:", "signet sign"}},
		"an image signed by another key has signatures that do not verify": {
			w.signed, fmt.Sprintf("  images: [{glob: %q}]\n  authorities: [%s]\n", glob, keyYAML(w.pubB)), []string{"signatures present but none verify"}},
		"a tag that does not exist is not found": {
			w.host + "/apps/signed:nope", "", []string{"tag not found", "nope"}},
		"a digest that does not exist is an unknown manifest": {
			w.host + "/apps/signed@sha256:" + strings.Repeat("0", 64), "", []string{"manifest unknown"}},
		"an unparseable reference is invalid": {
			w.host + "/apps/Bad:v1", "", []string{"invalid reference", "fix the image reference"}},
		"a required annotation with another value is a mismatch": {
			w.annotated, fmt.Sprintf("  images: [{glob: %q}]\n  authorities: [%s]\n  annotations: {env: prod}\n", glob, keyYAML(w.pubA)), []string{"required annotation", "env"}},
		"a threshold of two with one signer is not met": {
			w.signed, fmt.Sprintf("  images: [{glob: %q}]\n  threshold: 2\n  authorities: [%s, %s]\n", glob, keyYAML(w.pubA), keyYAML(w.pubB)), []string{"threshold not met"}},
	}
	for desc, c := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			set := w.defaultPolicy(t)
			if c.policy != "" {
				set = w.policy(t, c.policy)
			}
			_, val, _ := admit(t, w.reviewer(t, set, admission.UnmatchedAllow), request("Pod", admissionv1.Create, pod(c.image), ""))
			if val.Allowed {
				t.Fatal("allowed")
			}
			if val.Result.Code != 403 {
				t.Errorf("status code %d, want 403", val.Result.Code)
			}
			for _, want := range c.want {
				if !strings.Contains(message(val), want) {
					t.Errorf("message lacks %q:\n%s", want, message(val))
				}
			}
		})
	}
}

func TestModesAndUnmatchedImages(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	glob := w.host + "/apps/**"
	cases := map[string]struct {
		policy      string
		unmatched   admission.UnmatchedAction
		image       string
		wantAllowed bool
		wantWarning string
		wantAudit   string
	}{
		"warn mode allows an unsigned image with a warning": {
			fmt.Sprintf("  images: [{glob: %q}]\n  mode: warn\n  authorities: [%s]\n", glob, keyYAML(w.pubA)), admission.UnmatchedAllow, w.unsigned, true, "no signatures", ""},
		"audit mode allows an unsigned image and records it for the audit log": {
			fmt.Sprintf("  images: [{glob: %q}]\n  mode: audit\n  authorities: [%s]\n", glob, keyYAML(w.pubA)), admission.UnmatchedAllow, w.unsigned, true, "", "no signatures"},
		"an unmatched image is allowed silently by default": {
			"", admission.UnmatchedAllow, "docker.io/library/busybox:1", true, "", ""},
		"an unmatched image gets a warning in warn mode": {
			"", admission.UnmatchedWarn, "docker.io/library/busybox:1", true, "no image policy matches", ""},
		"an unmatched image is denied in deny mode": {
			"", admission.UnmatchedDeny, "docker.io/library/busybox:1", false, "", ""},
	}
	for desc, c := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			set := w.defaultPolicy(t)
			if c.policy != "" {
				set = w.policy(t, c.policy)
			}
			_, val, _ := admit(t, w.reviewer(t, set, c.unmatched), request("Pod", admissionv1.Create, pod(c.image), ""))
			if val.Allowed != c.wantAllowed {
				t.Fatalf("allowed=%v, want %v: %s", val.Allowed, c.wantAllowed, message(val))
			}
			warnings := strings.Join(val.Warnings, "\n")
			if (c.wantWarning == "") != (warnings == "") || !strings.Contains(warnings, c.wantWarning) {
				t.Errorf("warnings %q, want %q", warnings, c.wantWarning)
			}
			audit, _ := json.Marshal(val.AuditAnnotations)
			if (c.wantAudit == "") != (len(val.AuditAnnotations) == 0) || !strings.Contains(string(audit), c.wantAudit) {
				t.Errorf("audit annotations %s, want %q", audit, c.wantAudit)
			}
		})
	}
}

func TestUpdatesCheckOnlyChangedImages(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.reviewer(t, w.defaultPolicy(t), admission.UnmatchedAllow)
	deploy := func(replicas int, image string) string {
		return fmt.Sprintf(`{"kind":"Deployment","spec":{"replicas":%d,"template":{"spec":{"containers":[{"name":"c","image":%q}]}}}}`, replicas, image)
	}

	before := w.requests.Load()
	_, val, _ := admit(t, r, request("Deployment", admissionv1.Update, deploy(5, w.unsigned), deploy(3, w.unsigned)))
	if !val.Allowed || w.requests.Load() != before {
		t.Fatalf("a scale of an existing (even unsigned) image: allowed=%v, %d registry requests", val.Allowed, w.requests.Load()-before)
	}
	_, val, _ = admit(t, r, request("Deployment", admissionv1.Update, deploy(3, w.unsigned), deploy(3, w.signed)))
	if val.Allowed || !strings.Contains(message(val), "no signatures") {
		t.Fatalf("changing to an unsigned image: allowed=%v %s", val.Allowed, message(val))
	}
	for _, op := range []admissionv1.Operation{admissionv1.Delete, admissionv1.Connect} {
		before = w.requests.Load()
		if resp := r.Review(context.Background(), admission.Validate, request("Pod", op, pod(w.unsigned), "")); !resp.Allowed || w.requests.Load() != before {
			t.Errorf("%s: allowed=%v, %d registry requests", op, resp.Allowed, w.requests.Load()-before)
		}
	}
}

func TestDryRunGetsTheSameAnswerAndPatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.reviewer(t, w.defaultPolicy(t), admission.UnmatchedAllow)
	for _, image := range []string{w.signed, w.unsigned} {
		req := request("Pod", admissionv1.Create, pod(image), "")
		mut, val, _ := admit(t, r, req)
		dry := true
		req.DryRun = &dry
		dmut, dval, _ := admit(t, r, req)
		if string(mut.Patch) != string(dmut.Patch) || val.Allowed != dval.Allowed || message(val) != message(dval) {
			t.Errorf("%s: dry run answered differently", image)
		}
	}
}

func TestEphemeralContainersAddedThroughTheSubresourceAreChecked(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.reviewer(t, w.defaultPolicy(t), admission.UnmatchedAllow)
	old := `{"kind":"Pod","spec":{"containers":[{"name":"c","image":"` + w.signed + "@" + w.signedDigest + `"}]}}`
	obj := `{"kind":"Pod","spec":{"containers":[{"name":"c","image":"` + w.signed + "@" + w.signedDigest + `"}],"ephemeralContainers":[{"name":"dbg","image":"` + w.unsigned + `"}]}}`
	req := request("Pod", admissionv1.Update, obj, old)
	req.SubResource = "ephemeralcontainers"
	_, val, _ := admit(t, r, req)
	if val.Allowed || !strings.Contains(message(val), "spec.ephemeralContainers[0].image") {
		t.Fatalf("unsigned debug container: allowed=%v %s", val.Allowed, message(val))
	}
	// Other subresources (status, binding) carry no new images and are not reviewed.
	req.SubResource = "status"
	if resp := r.Review(context.Background(), admission.Validate, req); !resp.Allowed {
		t.Fatalf("status update denied: %s", message(resp))
	}
}

func TestAJobUpdateNeverGetsAPatchThatChangesItsTemplate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.reviewer(t, w.defaultPolicy(t), admission.UnmatchedAllow)
	job := func(image string) string {
		return `{"kind":"Job","spec":{"template":{"spec":{"containers":[{"name":"c","image":"` + image + `"}]}}}}`
	}
	// The stored Job is pinned to some other digest; re-applying the tag form must not produce a
	// patch that changes the immutable template (the API server would reject it).
	other := w.signed + "@sha256:" + strings.Repeat("a", 64)
	mut := r.Review(context.Background(), admission.Mutate, request("Job", admissionv1.Update, job(w.signed), job(other)))
	if len(mut.Patch) != 0 {
		t.Fatalf("patch for an immutable Job template: %s", mut.Patch)
	}
	// Re-applying the tag form when the stored Job has the same pin is patched back to it (no change).
	same := w.signed + "@" + w.signedDigest
	mut = r.Review(context.Background(), admission.Mutate, request("Job", admissionv1.Update, job(w.signed), job(same)))
	if !strings.Contains(string(mut.Patch), same) {
		t.Fatalf("re-applied Job not pinned back to its stored digest: %s", mut.Patch)
	}
}

func TestALabelSelectorIsNotSilentlySkippedWhenNamespaceLabelsAreUnknown(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// With policy files alone signet does not look namespaces up: a policy for labelled namespaces
	// must still guard (fail closed), while a selector on the namespace's name is judged exactly.
	labelled := w.policy(t, fmt.Sprintf("  images: [{glob: %q}]\n  namespaceSelector: {matchLabels: {env: prod}}\n  authorities: [%s]\n", w.host+"/apps/**", keyYAML(w.pubA)))
	r := w.reviewer(t, labelled, admission.UnmatchedAllow)
	if _, val, _ := admit(t, r, request("Pod", admissionv1.Create, pod(w.unsigned), "")); val.Allowed {
		t.Fatal("an unsigned image was admitted because the namespace's labels were unknown")
	}
	byName := w.policy(t, fmt.Sprintf("  images: [{glob: %q}]\n  namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [ns]}]}\n  authorities: [%s]\n", w.host+"/apps/**", keyYAML(w.pubA)))
	r = w.reviewer(t, byName, admission.UnmatchedAllow)
	if _, val, _ := admit(t, r, request("Pod", admissionv1.Create, pod(w.unsigned), "")); !val.Allowed {
		t.Fatalf("a policy whose selector excludes namespace ns by name was applied: %s", message(val))
	}
}
