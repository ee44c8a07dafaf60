// Command demo runs signet end to end on one machine: a registry (embedded by default), a key pair,
// two images of which one is signed, the real signet-webhook binary over TLS, and AdmissionReviews
// sent through /mutate then /validate the way the API server sends them. It exits 0 only when every
// decision is the expected one.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/signet-dev/signet/internal/webhookproc"
)

func main() {
	var o options
	flag.StringVar(&o.webhookBin, "webhook", "bin/signet-webhook", "signet-webhook binary to run")
	flag.StringVar(&o.registry, "registry", "", "external registry host:port (e.g. a zot on loopback); default: an embedded registry")
	flag.StringVar(&o.registryCA, "registry-ca-file", "", "with --registry: CA bundle for its TLS certificate")
	flag.BoolVar(&o.insecure, "insecure", false, "with --registry: talk plain HTTP to it")
	flag.StringVar(&o.dir, "dir", "demo-out", "working directory for keys, policy, CA files and the webhook log")
	flag.IntVar(&o.warmRequests, "warm-requests", 300, "reviews sent on the warm path to measure latency")
	flag.Parse()
	start := time.Now()
	if err := run(&o); err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo FAILED: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("\ndemo passed in %s\n", time.Since(start).Round(time.Millisecond))
}

type options struct {
	webhookBin, registry, registryCA, dir string
	insecure                              bool
	warmRequests                          int
}

func run(o *options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}

	host, caFile := o.registry, o.registryCA
	if host == "" {
		srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		srv.StartTLS()
		defer srv.Close()
		host = srv.Listener.Addr().String()
		caFile = filepath.Join(dir, "registry-ca.pem")
		if err := writeCertPEM(caFile, srv.Certificate()); err != nil {
			return err
		}
		step("started an embedded OCI registry at https://%s (CA in %s)", host, rel(caFile))
	} else {
		step("using the registry at %s", host)
	}
	reg, err := newRegistryClient(host, caFile, o.insecure)
	if err != nil {
		return err
	}

	keys, err := makeKeys(dir)
	if err != nil {
		return err
	}
	step("generated a cosign key pair: %s, %s", rel(keys.privFile), rel(keys.pubFile))

	signed, err := reg.push(ctx, "demo/app:v1", "signed by the demo")
	if err != nil {
		return err
	}
	unsigned, err := reg.push(ctx, "demo/unsigned:v1", "nobody signed this")
	if err != nil {
		return err
	}
	step("pushed %s (%s) and %s (%s)", signed.tag, short(signed.digest), unsigned.tag, short(unsigned.digest))
	if err := reg.sign(ctx, signed, keys); err != nil {
		return err
	}
	step("signed %s@%s with cosign.key (legacy .sig tag)", signed.repo, short(signed.digest))

	policyFile := filepath.Join(dir, "policy.yaml")
	if err := writePolicy(policyFile, host, keys.pubFile); err != nil {
		return err
	}
	step("wrote %s: images %s/demo/** must be signed by cosign.pub", rel(policyFile), host)

	wh, err := startWebhook(o, dir, host, caFile, policyFile)
	if err != nil {
		return err
	}
	defer wh.stop()
	step("signet-webhook is ready at https://%s (log: %s)", wh.Addr, rel(wh.LogFile))

	fmt.Println()
	results := runScenarios(ctx, wh, host, signed, unsigned)
	failed := 0
	for _, r := range results {
		r.print()
		if !r.ok {
			failed++
		}
	}
	if failed > 0 {
		wh.dumpLog()
		return fmt.Errorf("%d of %d scenarios did not get the expected decision", failed, len(results))
	}

	lat, err := warmLatency(ctx, wh, signed, o.warmRequests)
	if err != nil {
		return err
	}
	fmt.Printf("\nwarm path: %d /validate reviews of a pinned signed Pod over one TLS connection: p50 %s, p99 %s, max %s\n",
		lat.n, lat.p50, lat.p99, lat.max)

	if err := wh.stop(); err != nil {
		return fmt.Errorf("stopping signet-webhook: %w", err)
	}
	step("signet-webhook shut down cleanly on SIGTERM")
	return nil
}

func step(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

func short(d string) string {
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}

func rel(p string) string {
	wd, _ := os.Getwd()
	if r, err := filepath.Rel(wd, p); err == nil {
		return r
	}
	return p
}

// webhook is the running signet-webhook process.
type webhook struct {
	*webhookproc.Process
	client *http.Client
}

func startWebhook(o *options, dir, host, caFile, policyFile string) (*webhook, error) {
	args := []string{"--policy", policyFile}
	if o.insecure {
		args = append(args, "--insecure-registry", host)
	} else if caFile != "" {
		args = append(args, "--registry-ca-file", caFile)
	}
	p, err := webhookproc.Start(o.webhookBin, dir, args...)
	if err != nil {
		return nil, err
	}
	return &webhook{Process: p, client: p.Client(4, 15*time.Second)}, nil
}

// stop sends SIGTERM and waits for a clean exit; calling it twice is harmless.
func (w *webhook) stop() error { return w.Stop(15 * time.Second) }

func (w *webhook) dumpLog() {
	fmt.Fprintf(os.Stderr, "\n--- signet-webhook log (%s) ---\n%s\n", w.LogFile, w.Log())
}
