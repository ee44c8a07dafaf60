package secrets

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/pkg/publisher"
)

// The secrets the webhook is given or handed, each distinctive enough that finding it is proof.
const (
	user          = "signet-robot"
	password      = "docker-config-pa55word-7f3e9c"
	keyPassword   = "cosign-key-pa55word-41d2b8"
	registryToken = "registry-bearer-token-9a8b7c6d5e4f"
)

// tokenRegistry is go-containerregistry's registry behind the bearer-token flow real registries
// use (401 with a realm, a token endpoint taking basic credentials, then Bearer on every request).
// The in-process registry has no auth of its own, and the token is what must not leak.
func tokenRegistry(t *testing.T) (host string, caPEM []byte, transport http.RoundTripper) {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	var srv *httptest.Server
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != password {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"token": registryToken, "access_token": registryToken})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+registryToken {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="test"`, srv.URL))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), srv.Client().Transport
}

func TestNoSecretReachesLogsMetricsOrAnswers(t *testing.T) {
	dir := t.TempDir()
	host, caPEM, tr := tokenRegistry(t)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile := write("registry-ca.pem", caPEM)

	priv, pub, err := publisher.GenerateKeyPair([]byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := publisher.LoadSigner(priv, []byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	// A Secret made by `cosign generate-key-pair k8s://…` holds all three; as a key file, so does this.
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	secretLike := string(pub) + "\n" + string(priv) + "\ncosign.password: " + keyPassword + "\n"
	write("keys/cosign-secret.txt", []byte(secretLike))
	// A key file holding only the private half and the password: a broken policy whose error must
	// not quote it.
	write("keys/private-only.txt", []byte(string(priv)+"\n"+keyPassword+"\n"))

	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	dockerConfig := write("config.json", fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, host, auth))
	policies := filepath.Join(dir, "policies")
	if err := os.MkdirAll(policies, 0o755); err != nil {
		t.Fatal(err)
	}
	write("policies/signed.yaml", fmt.Appendf(nil, `apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: signed}
spec:
  images: [{glob: %q}]
  authorities: [{key: {path: ../keys/cosign-secret.txt}}]
`, host+"/apps/**"))
	// A policy file pointing at the private half: signet refuses to start, and says why without
	// quoting the file.
	brokenFile := write("broken.yaml", fmt.Appendf(nil, `apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: broken}
spec:
  images: [{glob: "**"}]
  authorities: [{key: {path: keys/private-only.txt}}]
`))
	bin := buildWebhook(t, dir)
	refused, err := exec.Command(bin, "--listen", "127.0.0.1:0", "--self-signed", "--self-signed-ca-file", filepath.Join(dir, "unused-ca.pem"), "--policy", brokenFile).CombinedOutput()
	if err == nil || !strings.Contains(string(refused), "point it at the public key") {
		t.Fatalf("signet-webhook with a private key as the policy key: err %v, output:\n%s", err, refused)
	}

	// Push with the same credentials, through the token flow.
	opts := []remote.Option{remote.WithTransport(tr), remote.WithAuth(&authn.Basic{Username: user, Password: password})}
	push := func(repoTag string, sign bool) string {
		img, err := random.Image(256, 1)
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
		if sign {
			h, _ := img.Digest()
			if err := publisher.Sign(context.Background(), tag.Context().Digest(h.String()), signer, nil, opts...); err != nil {
				t.Fatalf("signing %s: %v", tag, err)
			}
		}
		return tag.String()
	}
	signed, unsigned := push("apps/signed:v1", true), push("apps/unsigned:v1", false)

	w := startWebhook(t, bin, dir, "--policy", policies, "--registry-ca-file", caFile, "--docker-config", dockerConfig, "--log-level", "debug")
	var seen []string // every answer text
	for _, c := range []struct {
		image   string
		allowed bool
	}{
		{signed, true}, {unsigned, false},
		{host + "/apps/missing:v1", false},
		{host + "/apps/signed@sha256:" + strings.Repeat("0", 64), false},
		{"127.0.0.1:1/apps/nothing:v1", true}, // no policy matches: allowed by default
	} {
		for _, ep := range []string{"mutate", "validate"} {
			resp, raw := w.review(t, ep, c.image)
			seen = append(seen, raw)
			if ep == "validate" && resp.Allowed != c.allowed {
				t.Errorf("%s %s: allowed = %t, want %t: %s", ep, c.image, resp.Allowed, c.allowed, raw)
			}
		}
	}
	// The answers must be about the right things, or finding nothing in them proves nothing.
	all := strings.Join(seen, "\n")
	for _, want := range []string{"no signatures", "tag not found", "manifest unknown"} {
		if !strings.Contains(all, want) {
			t.Errorf("no answer says %q; the scenarios did not run as meant:\n%s", want, all)
		}
	}
	metrics := w.get(t, "/metrics")
	if !strings.Contains(metrics, "signet_") {
		t.Fatalf("/metrics holds no signet metrics; nothing was searched:\n%s", metrics)
	}
	logs := w.stop(t)
	if !strings.Contains(logs, "admission decision") {
		t.Fatalf("the webhook logged no decisions; nothing was searched:\n%s", logs)
	}

	secrets := map[string]string{
		"the docker config password":           password,
		"the docker config auth string":        auth,
		"the registry's bearer token":          registryToken,
		"the cosign key password":              keyPassword,
		"the private key's PEM type":           "ENCRYPTED SIGSTORE PRIVATE KEY",
		"an Authorization header":              "Bearer " + registryToken[:8],
		"the basic credentials as they travel": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))[:16],
	}
	// Every 24-character run of the private key's body.
	block, _ := pem.Decode(priv)
	if block == nil {
		t.Fatal("the generated private key is not PEM")
	}
	body := base64.StdEncoding.EncodeToString(block.Bytes)
	for i := 0; i+24 <= len(body); i += 24 {
		secrets[fmt.Sprintf("private key bytes %d-%d", i, i+24)] = body[i : i+24]
	}
	for where, text := range map[string]string{"the log": logs, "/metrics": metrics, "the answers": all, "the refusal to start": string(refused)} {
		for what, secret := range secrets {
			if i := strings.Index(text, secret); i >= 0 {
				t.Errorf("%s holds %s: …%s…", where, what, text[max(0, i-80):min(len(text), i+len(secret)+80)])
			}
		}
	}
}

// webhook is a running signet-webhook process.
type webhook struct {
	addr   string
	logf   string
	cmd    *exec.Cmd
	done   chan struct{}
	client *http.Client
}

func buildWebhook(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "signet-webhook")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/signet-dev/signet/cmd/webhook").CombinedOutput(); err != nil {
		t.Fatalf("building signet-webhook: %v\n%s", err, out)
	}
	return bin
}

func startWebhook(t *testing.T, bin, dir string, args ...string) *webhook {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	caFile := filepath.Join(dir, "webhook-ca.pem")
	w := &webhook{addr: addr, logf: filepath.Join(dir, "webhook.log"), done: make(chan struct{})}
	out, err := os.Create(w.logf)
	if err != nil {
		t.Fatal(err)
	}
	w.cmd = exec.Command(bin, append([]string{"--listen", addr, "--self-signed", "--self-signed-ca-file", caFile}, args...)...)
	w.cmd.Stdout, w.cmd.Stderr = out, out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.cmd.Wait(); out.Close(); close(w.done) }()
	t.Cleanup(func() {
		w.cmd.Process.Kill()
		<-w.done
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		if data, err := os.ReadFile(caFile); err == nil {
			pool := x509.NewCertPool()
			if pool.AppendCertsFromPEM(data) {
				w.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
				if resp, err := w.client.Get("https://" + addr + "/readyz"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						return w
					}
				}
			}
		}
		select {
		case <-w.done:
			data, _ := os.ReadFile(w.logf)
			t.Fatalf("signet-webhook exited:\n%s", data)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("signet-webhook not ready within 60s")
		}
	}
}

// review posts a Pod running image and returns the response and the raw answer.
func (w *webhook) review(t *testing.T, ep, image string) (*admissionv1.AdmissionResponse, string) {
	t.Helper()
	body := fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"s-1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"apps","name":"p","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"apps"},"spec":{"containers":[{"name":"c","image":%q}]}}}}`, image)
	resp, err := w.client.Post("https://"+w.addr+"/"+ep+"?timeout=10s", "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var rv admissionv1.AdmissionReview
	if err := json.Unmarshal(data, &rv); err != nil || rv.Response == nil {
		t.Fatalf("%s answered %q", ep, data)
	}
	return rv.Response, string(data)
}

func (w *webhook) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := w.client.Get("https://" + w.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

// stop ends the process with SIGTERM and returns everything it logged.
func (w *webhook) stop(t *testing.T) string {
	t.Helper()
	w.cmd.Process.Signal(os.Interrupt)
	select {
	case <-w.done:
	case <-time.After(40 * time.Second):
		t.Error("signet-webhook did not stop on SIGINT")
	}
	data, err := os.ReadFile(w.logf)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
