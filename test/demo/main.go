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
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
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
	step("signet-webhook is ready at https://%s (log: %s)", wh.addr, rel(wh.logFile))

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
	addr    string
	logFile string
	cmd     *exec.Cmd
	client  *http.Client
	exited  chan error
}

func startWebhook(o *options, dir, host, caFile, policyFile string) (*webhook, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	wh := &webhook{addr: addr, logFile: filepath.Join(dir, "webhook.log"), exited: make(chan error, 1)}
	caOut := filepath.Join(dir, "webhook-ca.pem")
	args := []string{
		"--listen", addr, "--self-signed", "--self-signed-ca-file", caOut,
		"--policy", policyFile,
	}
	if o.insecure {
		args = append(args, "--insecure-registry", host)
	} else if caFile != "" {
		args = append(args, "--registry-ca-file", caFile)
	}
	logf, err := os.Create(wh.logFile)
	if err != nil {
		return nil, err
	}
	wh.cmd = exec.Command(o.webhookBin, args...)
	wh.cmd.Stdout, wh.cmd.Stderr = logf, logf
	if err := wh.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (run `make build` first): %w", o.webhookBin, err)
	}
	go func() { wh.exited <- wh.cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := clientTrusting(caOut); err == nil {
			if resp, err := c.Get("https://" + addr + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					wh.client = c
					return wh, nil
				}
			}
		}
		select {
		case err := <-wh.exited:
			wh.exited <- err
			wh.dumpLog()
			return nil, fmt.Errorf("signet-webhook exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			wh.dumpLog()
			return nil, fmt.Errorf("signet-webhook not ready after 20s")
		}
	}
}

// stop sends SIGTERM and waits for a clean exit; calling it twice is harmless.
func (w *webhook) stop() error {
	if w.cmd == nil || w.cmd.Process == nil {
		return nil
	}
	cmd := w.cmd
	w.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-w.exited:
		return err
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		return fmt.Errorf("did not exit within 15s of SIGTERM")
	}
}

func (w *webhook) dumpLog() {
	data, _ := os.ReadFile(w.logFile)
	fmt.Fprintf(os.Stderr, "\n--- signet-webhook log (%s) ---\n%s\n", w.logFile, data)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
