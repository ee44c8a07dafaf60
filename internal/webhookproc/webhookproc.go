// Package webhookproc runs signet-webhook as a process on loopback with its own self-signed
// certificate, for the demo, the benchmarks and the soak: start it, wait until it is ready, talk to
// it over TLS as the API server does, stop it with SIGTERM.
package webhookproc

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Process is a running signet-webhook.
type Process struct {
	// Addr is 127.0.0.1:PORT.
	Addr string
	// LogFile holds the process's output (its JSON decision log).
	LogFile string
	// CA is the pool holding the certificate authority the webhook made for itself.
	CA *x509.CertPool

	cmd    *exec.Cmd
	exited chan error
}

// Start runs bin with --listen on a free loopback port, --self-signed (CA written into dir) and
// args, and waits up to 30 s until /readyz answers 200.
func Start(bin, dir string, args ...string) (*Process, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, "webhook-ca.pem")
	_ = os.Remove(caFile) // a CA left by an earlier run in dir is not this process's
	p := &Process{Addr: addr, LogFile: filepath.Join(dir, "webhook.log"), exited: make(chan error, 1)}
	logf, err := os.Create(p.LogFile)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, append([]string{"--listen", addr, "--self-signed", "--self-signed-ca-file", caFile}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s (run `make build` first): %w", bin, err)
	}
	cmd := p.cmd
	go func() { p.exited <- cmd.Wait(); logf.Close() }()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if data, err := os.ReadFile(caFile); err == nil {
			pool := x509.NewCertPool()
			if pool.AppendCertsFromPEM(data) {
				p.CA = pool
				if resp, err := p.Client(1, 5*time.Second).Get(p.URL("/readyz")); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						return p, nil
					}
				}
			}
		}
		select {
		case err := <-p.exited:
			p.cmd = nil
			return nil, fmt.Errorf("signet-webhook exited: %v\n%s", err, p.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
	_ = p.Stop(5 * time.Second)
	return nil, fmt.Errorf("signet-webhook at %s not ready within 30s; log: %s", addr, p.LogFile)
}

// Client is an HTTPS client that trusts only the webhook's CA and keeps up to conns connections
// alive, as the API server does.
func (p *Process) Client(conns int, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: p.CA, MinVersion: tls.VersionTLS12},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
	}}
}

// URL is https://ADDR/path.
func (p *Process) URL(path string) string { return "https://" + p.Addr + path }

// PID is the process id, for reading /proc.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Log returns what the process has written so far.
func (p *Process) Log() string {
	data, _ := os.ReadFile(p.LogFile)
	return string(data)
}

// Stop sends SIGTERM and waits up to grace for a clean exit, then kills. Calling it again is
// harmless.
func (p *Process) Stop(grace time.Duration) error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	cmd := p.cmd
	p.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		return err
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		return fmt.Errorf("signet-webhook did not exit within %s of SIGTERM", grace)
	}
}
