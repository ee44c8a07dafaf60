package faults

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
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
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/internal/wiring"
	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/resolver"
	"github.com/signet-dev/signet/pkg/verify"
)

// fault may answer a request instead of the registry; it returns false to let the registry answer.
type fault func(w http.ResponseWriter, r *http.Request) bool

// faultyRegistry is go-containerregistry's in-process registry over TLS behind a fault hook.
type faultyRegistry struct {
	host  string
	caPEM []byte
	srv   *httptest.Server
	reg   http.Handler // the registry without the hook

	mu    sync.Mutex
	fault fault
}

func newFaultyRegistry(t *testing.T) *faultyRegistry {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	fr := &faultyRegistry{reg: reg}
	fr.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fr.mu.Lock()
		f := fr.fault
		fr.mu.Unlock()
		if f != nil && f(w, r) {
			return
		}
		reg.ServeHTTP(w, r)
	}))
	fr.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	fr.srv.StartTLS()
	t.Cleanup(fr.srv.Close)
	fr.host = fr.srv.Listener.Addr().String()
	fr.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fr.srv.Certificate().Raw})
	return fr
}

func (fr *faultyRegistry) arm(f fault) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	fr.fault = f
}

// pushSigned pushes a random image to the registry and signs it (legacy .sig tag) with priv.
func (fr *faultyRegistry) pushSigned(t *testing.T, repoTag string, priv *ecdsa.PrivateKey) name.Digest {
	t.Helper()
	opts := []remote.Option{remote.WithTransport(fr.srv.Client().Transport)}
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(fr.host + "/" + repoTag)
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
	if err := publisher.SignWithKey(context.Background(), d, priv, nil, opts...); err != nil {
		t.Fatalf("signing %s: %v", d, err)
	}
	return d
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

// policySet is one enforcing policy for every image, trusting pub, failing open or closed.
func policySet(t *testing.T, pub string, failure policy.FailurePolicy) admission.PolicySource {
	t.Helper()
	doc := fmt.Sprintf(`apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: signed}
spec:
  images: [{glob: "**"}]
  failurePolicy: %s
  authorities: [{key: {data: %q}}]
`, failure, pub)
	ps, err := policy.LoadBytes([]byte(doc), "policy.yaml", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return policy.Static{Set: policy.NewSet(ps...)}
}

// webhook is the validating endpoint as cmd/webhook wires it, with its registry access.
type webhook struct {
	handler  *admission.Handler
	registry *resolver.Registry
}

func newWebhook(t *testing.T, ps admission.PolicySource, opts ...resolver.Option) *webhook {
	t.Helper()
	reg, err := resolver.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	v := verify.New(verify.WithRemoteOptions(reg.RemoteOptions))
	return &webhook{
		handler: &admission.Handler{
			Endpoint: admission.Validate,
			Reviewer: &admission.Reviewer{Policies: ps, Resolver: wiring.Resolver(reg), Verifier: wiring.Verifier(v, reg)},
		},
		registry: reg,
	}
}

// review posts a Pod running image to the webhook as the API server would, with its timeout, and
// returns the response, its text (message and warnings) and how long the answer took.
func (w *webhook) review(t *testing.T, image string, timeout time.Duration) (*admissionv1.AdmissionResponse, string, time.Duration) {
	t.Helper()
	body := fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"fault-1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"apps","name":"p","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"apps"},"spec":{"containers":[{"name":"c","image":%q}]}}}}`, image)
	req := httptest.NewRequest(http.MethodPost, "/validate?timeout="+timeout.String(), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	start := time.Now()
	w.handler.ServeHTTP(rec, req)
	took := time.Since(start)
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("answer %d %q is not an AdmissionReview response: %v", rec.Code, rec.Body.Bytes(), err)
	}
	text := strings.Join(out.Response.Warnings, "\n")
	if out.Response.Result != nil {
		text = out.Response.Result.Message + "\n" + text
	}
	return out.Response, text, took
}

// tlsServer serves the registry over TLS with cfg's restrictions; its CA is returned for the
// webhook to trust, so that only the restriction can fail the handshake.
func tlsServer(t *testing.T, cfg *tls.Config) (host string, caPEM []byte) {
	t.Helper()
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.TLS = cfg
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// rawServer accepts TCP connections and hands each to serve, which owns and closes it. It stands
// in for a peer that is not a TLS server at all: nothing real misbehaves on demand like that.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	return l.Addr().String()
}
