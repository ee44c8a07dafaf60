package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// webhook is a running signet-webhook process, served with its own self-signed certificate.
type webhook struct {
	addr    string
	logFile string
	caPool  *x509.CertPool
	cmd     *exec.Cmd
	pid     int
	exited  chan error
	admin   *http.Client // health and metrics, on its own connection
}

// startWebhook runs bin with a fresh listen address and self-signed certificate and waits until
// it is ready. args add flags (policies, registry CA, cache settings).
func startWebhook(bin, dir string, args ...string) (*webhook, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, "webhook-ca.pem")
	_ = os.Remove(caFile)
	w := &webhook{addr: addr, logFile: filepath.Join(dir, "webhook.log"), exited: make(chan error, 1)}
	logf, err := os.Create(w.logFile)
	if err != nil {
		return nil, err
	}
	w.cmd = exec.Command(bin, append([]string{"--listen", addr, "--self-signed", "--self-signed-ca-file", caFile}, args...)...)
	w.cmd.Stdout, w.cmd.Stderr = logf, logf
	if err := w.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s (run `make build`): %w", bin, err)
	}
	cmd := w.cmd
	w.pid = cmd.Process.Pid
	go func() { w.exited <- cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if pem, err := os.ReadFile(caFile); err == nil {
			w.caPool = x509.NewCertPool()
			if w.caPool.AppendCertsFromPEM(pem) {
				w.admin = w.client(1)
				if resp, err := w.admin.Get("https://" + addr + "/readyz"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						return w, nil
					}
				}
			}
		}
		select {
		case err := <-w.exited:
			data, _ := os.ReadFile(w.logFile)
			return nil, fmt.Errorf("signet-webhook exited: %v\n%s", err, data)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = w.stop()
			return nil, fmt.Errorf("signet-webhook at %s not ready within 30s; log: %s", addr, w.logFile)
		}
	}
}

// client is an HTTPS client trusting the webhook's CA that keeps up to conns connections alive,
// as the API server does: HTTP/1.1, one request per connection at a time.
func (w *webhook) client(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: w.caPool, MinVersion: tls.VersionTLS12},
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

func (w *webhook) url(path string) string { return "https://" + w.addr + path }

// metrics scrapes /metrics.
func (w *webhook) metrics() (map[string]*dto.MetricFamily, error) {
	return scrape(w.admin, w.url("/metrics"))
}

// memory is the process's resident set (from /proc) and Go heap in use (from /metrics), in bytes.
type memory struct {
	rss, rssAnon, rssFile, peakRSS, heapInuse float64
}

func (w *webhook) memory() (memory, error) {
	var m memory
	st, err := w.procStatus()
	if err != nil {
		return m, err
	}
	m.rss, m.rssAnon, m.rssFile, m.peakRSS = st["VmRSS:"], st["RssAnon:"], st["RssFile:"], st["VmHWM:"]
	fams, err := w.metrics()
	if err != nil {
		return m, err
	}
	m.heapInuse = gauge(fams, "go_memstats_heap_inuse_bytes")
	return m, nil
}

// rss is the process's resident set now, in bytes.
func (w *webhook) rss() (float64, error) {
	st, err := w.procStatus()
	return st["VmRSS:"], err
}

// procStatus reads the kB figures of /proc/PID/status, in bytes.
func (w *webhook) procStatus() (map[string]float64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.pid))
	if err != nil {
		return nil, fmt.Errorf("reading the webhook's /proc status: %w", err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[2] == "kB" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			out[f[0]] = kb * 1024
		}
	}
	return out, nil
}

// stop sends SIGTERM and waits for a clean exit.
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
		return fmt.Errorf("signet-webhook did not exit within 15s of SIGTERM")
	}
}
