package trust

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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

// world is an in-process registry over TLS and a key trusted by the policies.
type world struct {
	host  string
	caPEM []byte
	opts  []remote.Option
	key   *ecdsa.PrivateKey
	pub   string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // clients that hang up on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	k, pub := newKey(t)
	return &world{
		host:  srv.Listener.Addr().String(),
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}),
		opts:  []remote.Option{remote.WithTransport(srv.Client().Transport)},
		key:   k, pub: pub,
	}
}

func newKey(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// push pushes a random image and returns its tag reference and digest reference.
func (w *world) push(t *testing.T, repoTag string) (string, name.Digest) {
	t.Helper()
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(w.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, w.opts...); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	return tag.String(), tag.Context().Digest(h.String())
}

func (w *world) sign(t *testing.T, d name.Digest, key *ecdsa.PrivateKey) {
	t.Helper()
	if err := publisher.SignWithKey(context.Background(), d, key, nil, w.opts...); err != nil {
		t.Fatal(err)
	}
}

// policies is one enforcing policy for every image, trusting w's key.
func (w *world) policies(t *testing.T, failure policy.FailurePolicy) admission.PolicySource {
	t.Helper()
	doc := fmt.Sprintf("apiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: apps}\nspec:\n  images: [{glob: %q}]\n  failurePolicy: %s\n  authorities: [{key: {data: %q}}]\n",
		"**", failure, w.pub)
	ps, err := policy.LoadBytes([]byte(doc), "policy.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return policy.Static{Set: policy.NewSet(ps...)}
}

// reviewer wires the real resolver and verifier as cmd/webhook does.
func (w *world) reviewer(t *testing.T, ps admission.PolicySource, vopts ...verify.Option) (*admission.Reviewer, *resolver.Registry) {
	t.Helper()
	reg, err := resolver.New(resolver.WithCABundle(w.caPEM))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	v := verify.New(append([]verify.Option{verify.WithRemoteOptions(reg.RemoteOptions)}, vopts...)...)
	return &admission.Reviewer{Policies: ps, Resolver: wiring.Resolver(reg), Verifier: wiring.Verifier(v, reg)}, reg
}

func podRequest(obj string) *admissionv1.AdmissionRequest {
	return &admissionv1.AdmissionRequest{
		UID:       "trust-1",
		Kind:      metav1.GroupVersionKind{Kind: "Pod", Version: "v1"},
		Namespace: "apps",
		Name:      "p",
		Operation: admissionv1.Create,
		Object:    runtime.RawExtension{Raw: []byte(obj)},
	}
}

func podWith(images ...string) string {
	var cs []string
	for i, img := range images {
		cs = append(cs, fmt.Sprintf(`{"name":"c%d","image":%q}`, i, img))
	}
	return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"apps"},"spec":{"containers":[` + strings.Join(cs, ",") + `]}}`
}

func text(r *admissionv1.AdmissionResponse) string {
	s := strings.Join(r.Warnings, "\n")
	if r.Result != nil {
		s = r.Result.Message + "\n" + s
	}
	return s
}
