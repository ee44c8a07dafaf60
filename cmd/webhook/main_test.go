package main

import (
	"bytes"
	"context"
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
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/pflag"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/pkg/publisher"
)

// stack is a registry with one signed and one unsigned image, and a policy for them.
type stack struct {
	regHost, caFile, policyFile string
	signed, unsigned            string // tag references
	release                     chan struct{}
	arrived                     chan struct{}
	holdManifests               bool
	mu                          sync.Mutex
}

func newStack(t *testing.T) *stack {
	t.Helper()
	dir := t.TempDir()
	s := &stack{release: make(chan struct{}), arrived: make(chan struct{}, 16)}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		hold := s.holdManifests
		s.mu.Unlock()
		if hold && strings.Contains(r.URL.Path, "/manifests/v1") && r.Method == http.MethodHead {
			s.arrived <- struct{}{}
			<-s.release // a slow registry: the review is in flight until the test lets go
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.regHost = srv.Listener.Addr().String()
	s.caFile = filepath.Join(dir, "registry-ca.pem")
	if err := os.WriteFile(s.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{remote.WithTransport(srv.Client().Transport)}
	priv, pub, err := publisher.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := publisher.LoadSigner(priv, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"signed", "unsigned"} {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		tag, err := name.NewTag(s.regHost + "/team/" + repo + ":v1")
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(tag, img, opts...); err != nil {
			t.Fatal(err)
		}
		if repo == "signed" {
			d, _ := img.Digest()
			if err := publisher.Sign(context.Background(), tag.Context().Digest(d.String()), signer, nil, opts...); err != nil {
				t.Fatal(err)
			}
			s.signed = tag.String()
		} else {
			s.unsigned = tag.String()
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "cosign.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	s.policyFile = filepath.Join(dir, "policy.yaml")
	doc := fmt.Sprintf("apiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: team}\nspec:\n  images: [{glob: %q}]\n  authorities: [{key: {path: cosign.pub}}]\n", s.regHost+"/team/**")
	if err := os.WriteFile(s.policyFile, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// server is signet-webhook's serve() running in the test.
type server struct {
	addr   string
	client *http.Client
	done   chan error
	stop   context.CancelFunc
	logs   *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startServer(t *testing.T, s *stack, extra ...string) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	caOut := filepath.Join(t.TempDir(), "webhook-ca.pem")
	var cfg config
	cmd := newCommandForTest(&cfg)
	args := append([]string{"--listen", addr, "--self-signed", "--self-signed-ca-file", caOut,
		"--policy", s.policyFile, "--registry-ca-file", s.caFile, "--shutdown-timeout", "10s"}, extra...)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := &server{addr: addr, done: make(chan error, 1), stop: cancel, logs: &syncBuffer{}}
	go func() { srv.done <- serve(ctx, &cfg, srv.logs) }()
	t.Cleanup(func() {
		cancel()
		<-srv.done
		if t.Failed() {
			t.Logf("webhook log:\n%s", srv.logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(caOut); err == nil && len(data) > 0 {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(data)
			srv.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			if resp, err := srv.client.Get("https://" + addr + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return srv
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("webhook not ready; log:\n%s", srv.logs.String())
	return nil
}

func (s *server) review(t *testing.T, endpoint, uid, image string) *admissionv1.AdmissionResponse {
	t.Helper()
	body := fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":%q,
"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
"namespace":"default","name":"p","operation":"CREATE",
"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":%q}]}}}}`, uid, image)
	resp, err := s.client.Post("https://"+s.addr+"/"+endpoint+"?timeout=10s", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Response == nil || string(out.Response.UID) != uid {
		t.Fatalf("response without UID %s: %+v", uid, out.Response)
	}
	return out.Response
}

func TestTheServerAdmitsSignedPinsAndDeniesUnsignedOverTLS(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	srv := startServer(t, s)

	mut := srv.review(t, "mutate", "m1", s.signed)
	if !mut.Allowed || !strings.Contains(string(mut.Patch), s.signed+"@sha256:") {
		t.Fatalf("mutate: allowed=%v patch=%s, want a pin of %s", mut.Allowed, mut.Patch, s.signed)
	}
	if v := srv.review(t, "validate", "v1", s.signed); !v.Allowed {
		t.Fatalf("signed image denied: %+v", v.Result)
	}
	v := srv.review(t, "validate", "v2", s.unsigned)
	if v.Allowed || !strings.Contains(v.Result.Message, "no signatures") || !strings.Contains(v.Result.Message, "spec.containers[0].image") {
		t.Fatalf("unsigned image: allowed=%v %+v", v.Allowed, v.Result)
	}

	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ok",
		"/metrics": `signet_admission_requests_total{decision="deny",endpoint="validate",kind="Pod",operation="CREATE"} 1`,
	} {
		resp, err := srv.client.Get("https://" + srv.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(data), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
	// One JSON log line per decision, with the fields an operator greps for.
	var found bool
	for _, line := range strings.Split(srv.logs.String(), "\n") {
		if strings.Contains(line, `"uid":"v2"`) {
			found = true
			for _, f := range []string{`"decision":"deny"`, `"namespace":"default"`, `"kind":"Pod"`, `"images":[`, `"durationMs":`, `"reasons":["no signatures"]`} {
				if !strings.Contains(line, f) {
					t.Errorf("decision log line lacks %s: %s", f, line)
				}
			}
		}
	}
	if !found {
		t.Error("no decision log line for uid v2")
	}
}

func TestTheServerRefusesOldTLS(t *testing.T) {
	t.Parallel()
	srv := startServer(t, newStack(t))
	conn, err := tls.Dial("tcp", srv.addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}) //nolint:gosec // the point is to try an old version
	if err == nil {
		conn.Close()
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
}

func TestShutdownFinishesInFlightReviews(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	srv := startServer(t, s)
	s.mu.Lock()
	s.holdManifests = true
	s.mu.Unlock()

	got := make(chan *admissionv1.AdmissionResponse, 1)
	go func() { got <- srv.review(t, "validate", "inflight", s.signed) }()
	<-s.arrived // the review is now waiting on the registry
	srv.stop()
	for !strings.Contains(srv.logs.String(), "shutting down") {
		time.Sleep(5 * time.Millisecond)
	}
	close(s.release)
	select {
	case r := <-got:
		if !r.Allowed {
			t.Fatalf("in-flight review of a signed image denied: %+v", r.Result)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight review never answered")
	}
	if err := <-srv.done; err != nil {
		t.Fatalf("serve returned %v after SIGTERM-equivalent", err)
	}
	srv.done <- nil // for the cleanup
}

func TestConfigComesFromTheEnvironmentWhenNoFlagIsGiven(t *testing.T) {
	t.Parallel()
	var cfg config
	cmd := newCommandForTest(&cfg)
	if err := cmd.ParseFlags([]string{"--listen", ":9000"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SIGNET_LISTEN": ":1", "SIGNET_TAG_CACHE_TTL": "5s", "SIGNET_POLICY": "a.yaml,b.yaml", "SIGNET_UNMATCHED": "deny"}
	if err := applyEnv(cmd.Flags(), func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != ":9000" || cfg.TagCacheTTL != 5*time.Second || len(cfg.PolicyPaths) != 2 || cfg.Unmatched != "deny" {
		t.Fatalf("config %+v", cfg)
	}
	bad := func(k string) (string, bool) {
		if k == "SIGNET_TAG_CACHE_TTL" {
			return "soon", true
		}
		return "", false
	}
	if err := applyEnv(newCommandForTest(&config{}).Flags(), bad); err == nil || !strings.Contains(err.Error(), "SIGNET_TAG_CACHE_TTL") {
		t.Fatalf("bad env value: %v", err)
	}
}

func TestConfigErrorsSayWhichFlagToChange(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		args []string
		want string
	}{
		"no certificate at all":      {[]string{"--policy", "p.yaml"}, "--tls-cert-file"},
		"both self-signed and files": {[]string{"--policy", "p.yaml", "--self-signed", "--tls-cert-file", "c", "--tls-key-file", "k"}, "exclude each other"},
		"no policy":                  {[]string{"--self-signed"}, "--policy"},
		"a zero cache size":          {[]string{"--self-signed", "--policy", "p", "--cache-size", "0"}, "--cache-size"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var cfg config
			cmd := newCommandForTest(&cfg)
			if err := cmd.ParseFlags(c.args); err != nil {
				t.Fatal(err)
			}
			err := cfg.validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("validate() = %v, want mention of %q", err, c.want)
			}
		})
	}
}

func newCommandForTest(cfg *config) interface {
	ParseFlags([]string) error
	Flags() *pflag.FlagSet
} {
	return newCommand(cfg)
}
