package kind

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// webhook is signet-webhook running as a local process over TLS, on a fixed address so that it
// can be stopped and started again behind the same webhook configurations.
type webhook struct {
	bin, dir string
	Addr     string // host:port the API server calls
	CAPEM    []byte // trusted by the webhook configurations
	args     []string
	client   *http.Client

	owner testing.TB // the test whose end stops the process, whichever subtest restarts it
	mu    sync.Mutex
	runs  []*process // every run so far; the last is the current one
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	buildOut  []byte
)

// webhookBinary builds signet-webhook from this checkout, once per test binary, unless
// SIGNET_E2E_WEBHOOK_BIN names one.
func webhookBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SIGNET_E2E_WEBHOOK_BIN"); p != "" {
		return p
	}
	buildOnce.Do(buildWebhook)
	if buildErr != nil {
		t.Fatalf("building signet-webhook: %v\n%s", buildErr, buildOut)
	}
	return buildBin
}

// prebuildWebhook starts building signet-webhook in the background; webhookBinary waits for it.
func prebuildWebhook() {
	if os.Getenv("SIGNET_E2E_WEBHOOK_BIN") == "" {
		go buildOnce.Do(buildWebhook)
	}
}

// removeBuilds deletes what buildWebhook made; TestMain calls it after the tests.
func removeBuilds() {
	buildOnce.Do(func() {}) // wait for a build still running
	if buildBin != "" {
		_ = os.RemoveAll(filepath.Dir(buildBin))
	}
}

func buildWebhook() {
	dir, err := os.MkdirTemp("", "signet-e2e-bin-")
	if err != nil {
		buildErr = err
		return
	}
	buildBin = filepath.Join(dir, "signet-webhook")
	cmd := exec.Command("go", "build", "-o", buildBin, "./cmd/webhook")
	cmd.Dir = repoRoot()
	buildOut, buildErr = cmd.CombinedOutput()
}

// repoRoot is the module root, two directories above this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// newWebhook prepares signet-webhook to serve on host (an address the API server reaches) with a
// serving certificate from a CA made for the run; args are its other flags, and more can be
// appended to w.args before start runs it.
func newWebhook(t testing.TB, host string, args ...string) *webhook {
	t.Helper()
	ca, err := newPKI("signet-e2e-webhook-ca")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := ca.serving(host)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := &webhook{owner: t, bin: webhookBinary(t), dir: dir, CAPEM: ca.CAPEM, Addr: net.JoinHostPort(host, freePort(t))}
	w.args = append([]string{
		"--listen", w.Addr,
		"--tls-cert-file", writeFile(t, filepath.Join(dir, "tls.crt"), serving.Cert),
		"--tls-key-file", writeFile(t, filepath.Join(dir, "tls.key"), serving.Key),
	}, args...)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CAPEM)
	w.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return w
}

// start runs signet-webhook and waits until /readyz answers.
func (w *webhook) start(t testing.TB) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	p := startProcess(w.owner, fmt.Sprintf("signet-webhook-run%d", len(w.runs)+1), w.bin, w.dir, nil, w.args...)
	w.runs = append(w.runs, p)
	if err := p.waitFor(30*time.Second, func() error { return httpOK(w.client, "https://"+w.Addr+"/readyz") }); err != nil {
		t.Fatal(err)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (w *webhook) stop(t testing.TB) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.runs[len(w.runs)-1].stop(30 * time.Second); err != nil {
		t.Fatalf("stopping signet-webhook: %v", err)
	}
}

// decision is one line of signet-webhook's decision log.
type decision struct {
	Msg       string   `json:"msg"`
	Endpoint  string   `json:"endpoint"`
	Operation string   `json:"operation"`
	Namespace string   `json:"namespace"`
	Kind      string   `json:"kind"`
	Name      string   `json:"name"`
	DryRun    bool     `json:"dryRun"`
	Decision  string   `json:"decision"`
	Reasons   []string `json:"reasons"`
	Patched   int      `json:"patched"`
	// Audit holds the would-be denials of audit-mode policies.
	Audit map[string]string `json:"audit"`
}

// decisions returns every admission decision signet-webhook has logged, in every run so far,
// for which keep returns true.
func (w *webhook) decisions(keep func(decision) bool) []decision {
	w.mu.Lock()
	runs := slices.Clone(w.runs)
	w.mu.Unlock()
	var out []decision
	for _, p := range runs {
		sc := bufio.NewScanner(bytes.NewReader(p.log()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var d decision
			if json.Unmarshal(sc.Bytes(), &d) == nil && d.Msg == "admission decision" && keep(d) {
				out = append(out, d)
			}
		}
	}
	return out
}
