package registryfaults

import (
	"context"
	"encoding/pem"
	"fmt"
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
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus"
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

// fault may answer a request instead of the registry; n counts the requests with the same key
// (see keyOf) so far, this one included. It returns false to let the registry answer.
type fault func(w http.ResponseWriter, r *http.Request, n int) bool

// faultyRegistry is go-containerregistry's registry over TLS behind a fault-injecting handler that
// counts every request by method and kind.
type faultyRegistry struct {
	host  string
	caPEM []byte
	srv   *httptest.Server
	reg   http.Handler

	mu    sync.Mutex
	fault fault
	seen  map[string]int
}

func newFaultyRegistry(t *testing.T) *faultyRegistry {
	t.Helper()
	fr := &faultyRegistry{reg: registry.New(registry.Logger(log.New(io.Discard, "", 0))), seen: map[string]int{}}
	fr.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := keyOf(r)
		fr.mu.Lock()
		fr.seen[k]++
		n, f := fr.seen[k], fr.fault
		fr.mu.Unlock()
		if f != nil && f(w, r, n) {
			return
		}
		fr.reg.ServeHTTP(w, r)
	}))
	fr.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // resets and handshakes failed on purpose
	fr.srv.StartTLS()
	t.Cleanup(fr.srv.Close)
	fr.host = fr.srv.Listener.Addr().String()
	fr.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fr.srv.Certificate().Raw})
	return fr
}

// keyOf is "METHOD kind": kind is "ping", "manifest REPO:REF", "blob" or "other".
func keyOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		return r.Method + " ping"
	case strings.Contains(p, "/manifests/"):
		repo, ref, _ := strings.Cut(strings.TrimPrefix(p, "/v2/"), "/manifests/")
		return r.Method + " manifest " + repo + ":" + ref
	case strings.Contains(p, "/blobs/"):
		return r.Method + " blob"
	}
	return r.Method + " other"
}

// arm installs f (nil: none) and forgets the requests seen so far.
func (fr *faultyRegistry) arm(f fault) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	fr.fault, fr.seen = f, map[string]int{}
}

// count returns the requests seen with key; total all of them.
func (fr *faultyRegistry) count(key string) int {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return fr.seen[key]
}

func (fr *faultyRegistry) total() int {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	n := 0
	for _, c := range fr.seen {
		n += c
	}
	return n
}

func (fr *faultyRegistry) requests() map[string]int {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	out := make(map[string]int, len(fr.seen))
	for k, v := range fr.seen {
		out[k] = v
	}
	return out
}

// keys is a signing key pair made for the test.
type keys struct {
	pub    string
	signer func(t *testing.T, d name.Digest, opts ...remote.Option)
}

func newKeys(t *testing.T) keys {
	t.Helper()
	priv, pub, err := publisher.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := publisher.LoadSigner(priv, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	return keys{pub: string(pub), signer: func(t *testing.T, d name.Digest, opts ...remote.Option) {
		t.Helper()
		if err := publisher.Sign(context.Background(), d, s, nil, opts...); err != nil {
			t.Fatalf("signing %s: %v", d, err)
		}
	}}
}

// pushSigned pushes a random image to host/repo:tag with opts, signs it with k and returns its
// digest reference.
func pushSigned(t *testing.T, host, repoTag string, k keys, opts ...remote.Option) name.Digest {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	d := tag.Context().Digest(h.String())
	k.signer(t, d, opts...)
	return d
}

// policies holds one enforcing policy for every image under host, trusting pub.
func policies(t *testing.T, host, pub string, failure policy.FailurePolicy) admission.PolicySource {
	t.Helper()
	doc := fmt.Sprintf(`apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: signed-apps}
spec:
  images: [{glob: %q}]
  mode: enforce
  failurePolicy: %s
  pinDigest: true
  authorities: [{key: {data: %q}}]
`, host+"/**", failure, pub)
	ps, err := policy.LoadBytes([]byte(doc), "policy.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return policy.Static{Set: policy.NewSet(ps...)}
}

// stack is one webhook's registry access, as cmd/webhook wires it.
type stack struct {
	reviewer *admission.Reviewer
	registry *resolver.Registry
	verifier *verify.Verifier
	metrics  *prometheus.Registry // holds the resolver's and verifier's cache and request metrics
}

func newStack(t *testing.T, ps admission.PolicySource, opts ...resolver.Option) *stack {
	t.Helper()
	promReg := prometheus.NewRegistry()
	m, err := resolver.NewMetrics(promReg)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := resolver.New(append(opts, resolver.WithMetrics(m))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	v := verify.New(verify.WithRemoteOptions(reg.RemoteOptions), verify.WithMetrics(m))
	return &stack{
		metrics:  promReg,
		reviewer: &admission.Reviewer{Policies: ps, Resolver: wiring.Resolver(reg), Verifier: wiring.Verifier(v, reg)},
		registry: reg,
		verifier: v,
	}
}

// podJSON is a Pod in namespace ns whose containers run images, with optional pull secrets.
func podJSON(ns string, pullSecrets []string, images ...string) string {
	var cs, ps []string
	for i, img := range images {
		cs = append(cs, fmt.Sprintf(`{"name":"c%d","image":%q}`, i, img))
	}
	for _, s := range pullSecrets {
		ps = append(ps, fmt.Sprintf(`{"name":%q}`, s))
	}
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":%q},"spec":{"serviceAccountName":"default","imagePullSecrets":[%s],"containers":[%s]}}`,
		ns, strings.Join(ps, ","), strings.Join(cs, ","))
}

func deploymentJSON(ns string, replicas int, image string) string {
	return fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":%q},"spec":{"replicas":%d,"template":{"spec":{"containers":[{"name":"web","image":%q}]}}}}`,
		ns, replicas, image)
}

func request(kind, ns, obj string) *admissionv1.AdmissionRequest {
	return &admissionv1.AdmissionRequest{
		UID:       "uid-1",
		Kind:      metav1.GroupVersionKind{Kind: kind},
		Namespace: ns,
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: []byte(obj)},
	}
}

// defaultDeadline is the API server's default webhook timeout less signet's default margin.
const defaultDeadline = 9 * time.Second

// review asks the reviewer under a deadline and returns the response and its text (message and
// warnings).
func review(t *testing.T, s *stack, ep admission.Endpoint, req *admissionv1.AdmissionRequest, deadline time.Duration) (*admissionv1.AdmissionResponse, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	resp := s.reviewer.Review(ctx, ep, req)
	text := strings.Join(resp.Warnings, "\n")
	if resp.Result != nil {
		text = resp.Result.Message + "\n" + text
	}
	return resp, text
}

func containsText(s, sub string) bool { return strings.Contains(s, sub) }
