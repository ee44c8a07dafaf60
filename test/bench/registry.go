package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
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
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/internal/tlsutil"
)

// target is a registry the benchmark pushes images to and signet-webhook reads them from. Requests
// are counted at the registry, by method and handler ("HEAD manifest", "GET blob"), so the figures
// do not depend on what signet says about itself.
type target interface {
	Name() string
	Host() string
	// CAFile is the PEM CA signet-webhook and cosign must trust for Host.
	CAFile() string
	// PushOptions reach the registry for setting up images.
	PushOptions(ctx context.Context) []remote.Option
	// Requests returns the requests the registry has answered so far, by "METHOD handler".
	Requests() (map[string]float64, error)
	Close()
}

// handlerOf names the registry API a request path belongs to, with the distribution registry's
// handler names so that both targets count alike.
func handlerOf(path string) string {
	switch {
	case path == "/v2/" || path == "/v2":
		return "base"
	case strings.Contains(path, "/manifests/sha256-"):
		// cosign's signature tag (sha256-<hex>.sig) or the referrers fallback tag (sha256-<hex>).
		return "signature manifest"
	case strings.Contains(path, "/manifests/"):
		return "manifest"
	case strings.Contains(path, "/blobs/uploads"):
		return "blob_upload"
	case strings.Contains(path, "/blobs/"):
		return "blob"
	case strings.Contains(path, "/referrers/"):
		return "referrers"
	case strings.HasSuffix(path, "/tags/list"):
		return "tags"
	}
	return "other"
}

// inProcess is go-containerregistry's registry (with the referrers API, like zot) served over TLS
// for the webhook, with every request counted and an optional delay before each answer, and over
// plain HTTP on a second listener for fast, uncounted set-up pushes.
type inProcess struct {
	tls, plain *httptest.Server
	push       http.RoundTripper // to the plain listener, shared by every push
	caFile     string
	delay      atomic.Int64 // nanoseconds added before each counted request
	mu         sync.Mutex
	counts     map[string]float64
}

func startInProcess(dir string) (*inProcess, error) {
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true))
	r := &inProcess{counts: map[string]float64{}}
	r.tls = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.counts[req.Method+" "+handlerOf(req.URL.Path)]++
		r.mu.Unlock()
		if d := r.delay.Load(); d > 0 {
			time.Sleep(time.Duration(d))
		}
		reg.ServeHTTP(w, req)
	}))
	r.tls.Config.ErrorLog = log.New(io.Discard, "", 0)
	r.tls.StartTLS()
	r.plain = httptest.NewServer(reg)
	plain, tr := r.plain.Listener.Addr().String(), &http.Transport{MaxIdleConnsPerHost: 16}
	r.push = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host = "http", plain
		return tr.RoundTrip(req)
	})
	r.caFile = filepath.Join(dir, "inprocess-ca.pem")
	if err := os.WriteFile(r.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.tls.Certificate().Raw}), 0o644); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *inProcess) Name() string {
	return "in-process registry (go-containerregistry, TLS, referrers API)"
}
func (r *inProcess) Host() string   { return r.tls.Listener.Addr().String() }
func (r *inProcess) CAFile() string { return r.caFile }

// PushOptions send pushes to the plain-HTTP listener: same storage, not counted, no TLS cost. The
// caller pushes to Host(); the transport redirects the connection.
func (r *inProcess) PushOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithTransport(r.push), remote.WithContext(ctx)}
}

func (r *inProcess) Requests() (map[string]float64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]float64, len(r.counts))
	for k, v := range r.counts {
		out[k] = v
	}
	return out, nil
}

// setDelay makes the registry wait d before answering each request the webhook sends, so that
// latency divided by d counts the sequential round trips on the critical path.
func (r *inProcess) setDelay(d time.Duration) { r.delay.Store(int64(d)) }

func (r *inProcess) Close() {
	r.tls.Close()
	r.plain.Close()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// distribution is the CNCF distribution registry process (the binary `make tools` builds) with
// TLS, filesystem storage and its Prometheus debug endpoint, which counts requests by method and
// handler at the registry.
type distribution struct {
	host, debug, caFile string
	caPool              *x509.CertPool
	push                *http.Transport
	cmd                 *exec.Cmd
	exited              chan error
	logFile             string
}

func startDistribution(bin, dir string) (*distribution, error) {
	dir = filepath.Join(dir, "distribution")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	host, err := freeAddr()
	if err != nil {
		return nil, err
	}
	debug, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cert, caPEM, err := tlsutil.SelfSigned([]string{"127.0.0.1", "localhost"}, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		return nil, err
	}
	d := &distribution{host: host, debug: debug, caFile: filepath.Join(dir, "ca.pem"), logFile: filepath.Join(dir, "registry.log"), exited: make(chan error, 1)}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	files := map[string][]byte{
		d.caFile: caPEM,
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		filepath.Join(dir, "config.yml"): fmt.Appendf(nil, `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
  tls:
    certificate: %s
    key: %s
  debug:
    addr: %s
    prometheus:
      enabled: true
      path: /metrics
`, filepath.Join(dir, "storage"), host, certFile, keyFile, debug),
	}
	for f, data := range files {
		if err := os.WriteFile(f, data, 0o600); err != nil {
			return nil, err
		}
	}
	d.caPool = x509.NewCertPool()
	d.caPool.AppendCertsFromPEM(caPEM)
	d.push = d.transport()
	logf, err := os.Create(d.logFile)
	if err != nil {
		return nil, err
	}
	d.cmd = exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting the registry %s (run `make tools`): %w", bin, err)
	}
	cmd := d.cmd
	go func() { d.exited <- cmd.Wait(); logf.Close() }()
	c := &http.Client{Timeout: 2 * time.Second, Transport: d.push}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get("https://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, nil
			}
		}
		select {
		case err := <-d.exited:
			data, _ := os.ReadFile(d.logFile)
			return nil, fmt.Errorf("the registry exited: %v\n%s", err, data)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			d.Close()
			return nil, fmt.Errorf("the registry at %s did not answer within 30s", host)
		}
	}
}

func (d *distribution) transport() *http.Transport {
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: d.caPool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 16}
}

func (d *distribution) Name() string {
	return "distribution registry process (CNCF distribution v3, TLS, filesystem storage)"
}
func (d *distribution) Host() string   { return d.host }
func (d *distribution) CAFile() string { return d.caFile }

func (d *distribution) PushOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithTransport(d.push), remote.WithContext(ctx)}
}

// Requests reads registry_http_request_duration_seconds_count{handler,method} from the debug
// endpoint: the registry's own count of the requests it answered.
func (d *distribution) Requests() (map[string]float64, error) {
	fams, err := scrape(http.DefaultClient, "http://"+d.debug+"/metrics")
	if err != nil {
		return nil, fmt.Errorf("reading the registry's metrics: %w", err)
	}
	out := map[string]float64{}
	fam := fams["registry_http_request_duration_seconds"]
	if fam == nil {
		return out, nil
	}
	for _, m := range fam.GetMetric() {
		if n := float64(m.GetHistogram().GetSampleCount()); n > 0 {
			out[strings.ToUpper(label(m, "method"))+" "+label(m, "handler")] += n
		}
	}
	return out, nil
}

func (d *distribution) Close() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Kill()
		<-d.exited
		d.cmd = nil
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
