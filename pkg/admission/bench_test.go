package admission_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/signet-dev/signet/internal/wiring"
	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/resolver"
	"github.com/signet-dev/signet/pkg/verify"
	"github.com/signet-dev/signet/test/bench/workload"
)

// benchImages is how many distinct signed images the benchmark registry holds: one per container
// of the largest Pod.
const benchImages = 20

// benchWorld is an in-process TLS registry holding benchImages signed images, and a Reviewer wired
// to it exactly as cmd/webhook wires one. It takes testing.TB, unlike newWorld, so benchmarks can
// use it; its key is a plain ECDSA key because password-encrypting one is slow.
type benchWorld struct {
	tags, pinned []string
	reviewer     *admission.Reviewer
}

func newBenchWorld(tb testing.TB) *benchWorld {
	tb.Helper()
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	tb.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	ctx := context.Background()
	opts := []remote.Option{remote.WithTransport(srv.Client().Transport), remote.WithContext(ctx)}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))

	w := &benchWorld{}
	for i := range benchImages {
		img, err := random.Image(256, 1)
		if err != nil {
			tb.Fatal(err)
		}
		tag, err := name.NewTag(fmt.Sprintf("%s/bench/app-%d:v1", host, i))
		if err != nil {
			tb.Fatal(err)
		}
		if err := remote.Write(tag, img, opts...); err != nil {
			tb.Fatal(err)
		}
		h, err := img.Digest()
		if err != nil {
			tb.Fatal(err)
		}
		if err := publisher.SignWithKey(ctx, tag.Context().Digest(h.String()), key, nil, opts...); err != nil {
			tb.Fatal(err)
		}
		w.tags = append(w.tags, tag.String())
		w.pinned = append(w.pinned, tag.String()+"@"+h.String())
	}

	doc := fmt.Sprintf("apiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: bench}\nspec:\n"+
		"  images: [{glob: %q}]\n  authorities: [%s]\n", host+"/bench/**", keyYAML(pub))
	ps, err := policy.LoadBytes([]byte(doc), "bench.yaml", tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	pem := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	reg, err := resolver.New(resolver.WithCABundle(pem))
	if err != nil {
		tb.Fatal(err)
	}
	v := verify.New(verify.WithRemoteOptions(reg.RemoteOptions))
	w.reviewer = &admission.Reviewer{
		Policies: policy.Static{Set: policy.NewSet(ps...)},
		Resolver: wiring.Resolver(reg),
		Verifier: wiring.Verifier(v, reg),
		Metrics:  admission.NewMetrics(prometheus.NewRegistry()),
	}
	return w
}

// benchObjects are the objects the micro benchmarks review: as the API server sends them to
// /mutate (tags) and, after signet pinned them, to /validate (tag@digest).
func (w *benchWorld) benchObjects() map[string]struct{ kind, mutate, validate string } {
	pod := func(n int) struct{ kind, mutate, validate string } {
		return struct{ kind, mutate, validate string }{"Pod", workload.Pod("ns", "app", w.tags[:n]...), workload.Pod("ns", "app", w.pinned[:n]...)}
	}
	return map[string]struct{ kind, mutate, validate string }{
		"Pod-1":      pod(1),
		"Pod-5":      pod(5),
		"Pod-20":     pod(20),
		"Deployment": {"Deployment", workload.Deployment("ns", "app", 3, w.tags[:2]...), workload.Deployment("ns", "app", 3, w.pinned[:2]...)},
		"CronJob":    {"CronJob", workload.CronJob("ns", "app", w.tags[:2]...), workload.CronJob("ns", "app", w.pinned[:2]...)},
	}
}

// BenchmarkReviewWarm measures one AdmissionReview through the HTTP handler with every cache warm:
// decode, walk, policy match, cache lookups, patch (mutate) or verdicts (validate), encode. TLS
// and the network are left out; test/bench measures them.
func BenchmarkReviewWarm(b *testing.B) {
	w := newBenchWorld(b)
	for objName, o := range w.benchObjects() {
		for _, ep := range []admission.Endpoint{admission.Mutate, admission.Validate} {
			obj := o.mutate
			if ep == admission.Validate {
				obj = o.validate
			}
			body := workload.Review("uid-1", o.kind, "ns", "app", obj)
			h := &admission.Handler{Reviewer: w.reviewer, Endpoint: ep}
			b.Run(objName+"/"+string(ep), func(b *testing.B) {
				// The first review warms the caches and proves the benchmark measures the happy path.
				out := serve(b, h, body)
				if !bytes.Contains(out, []byte(`"allowed":true`)) || (ep == admission.Mutate) != bytes.Contains(out, []byte(`"patch"`)) {
					b.Fatalf("%s %s is not admitted as expected: %s", ep, objName, out)
				}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					serve(b, h, body)
				}
			})
		}
	}
}

// BenchmarkImages measures decoding an object and walking it for images alone.
func BenchmarkImages(b *testing.B) {
	w := newBenchWorld(b)
	for objName, o := range w.benchObjects() {
		raw := []byte(o.mutate)
		b.Run(objName, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := admission.Images(o.kind, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func serve(b *testing.B, h http.Handler, body []byte) []byte {
	req := httptest.NewRequest(http.MethodPost, "/?timeout=10s", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}
