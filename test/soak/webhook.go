package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// webhook is a running signet-webhook process with its own self-signed certificate.
type webhook struct {
	addr   string
	log    string
	cmd    *exec.Cmd
	exited chan error
	client *http.Client
}

func startWebhook(bin, dir string, args ...string) (*webhook, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	caFile := filepath.Join(dir, "webhook-ca.pem")
	w := &webhook{addr: addr, log: filepath.Join(dir, "webhook.log"), exited: make(chan error, 1)}
	logf, err := os.Create(w.log)
	if err != nil {
		return nil, err
	}
	w.cmd = exec.Command(bin, append([]string{"--listen", addr, "--self-signed", "--self-signed-ca-file", caFile}, args...)...)
	w.cmd.Stdout, w.cmd.Stderr = logf, logf
	if err := w.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s (run `make build`): %w", bin, err)
	}
	go func() { w.exited <- w.cmd.Wait(); logf.Close() }()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if pemData, err := os.ReadFile(caFile); err == nil {
			pool := x509.NewCertPool()
			if pool.AppendCertsFromPEM(pemData) {
				// Like the API server: HTTP/1.1 with a few kept-alive connections.
				w.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
					TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 16,
				}}
				if resp, err := w.client.Get("https://" + addr + "/readyz"); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						return w, nil
					}
				}
			}
		}
		select {
		case err := <-w.exited:
			data, _ := os.ReadFile(w.log)
			return nil, fmt.Errorf("signet-webhook exited: %v\n%s", err, data)
		case <-time.After(100 * time.Millisecond):
		}
	}
	w.stop()
	return nil, fmt.Errorf("signet-webhook at %s not ready within 30s; see %s", addr, w.log)
}

func (w *webhook) stop() error {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-w.exited:
		return err
	case <-time.After(40 * time.Second):
		_ = w.cmd.Process.Kill()
		return fmt.Errorf("signet-webhook did not stop on SIGTERM")
	}
}

// sample is one look at the process.
type sample struct {
	at                       time.Duration
	phase                    phase
	rss, heapInuse           float64 // bytes
	fds, goroutines, reviews int
}

func (w *webhook) sample() (sample, error) {
	var s sample
	pid := w.cmd.Process.Pid
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("reading /proc/%d/status: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			s.rss = kb * 1024
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, fmt.Errorf("listing /proc/%d/fd: %w", pid, err)
	}
	s.fds = len(fds)
	resp, err := w.client.Get("https://" + w.addr + "/metrics")
	if err != nil {
		return s, fmt.Errorf("scraping /metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return s, err
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "go_memstats_heap_inuse_bytes":
			s.heapInuse = v
		case "go_goroutines":
			s.goroutines = int(v)
		}
	}
	return s, nil
}
