package tlsutil

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Watcher serves a certificate from files and reloads it when they change.
type Watcher struct {
	certFile, keyFile string
	logger            *slog.Logger

	mu    sync.RWMutex
	cert  *tls.Certificate
	stamp string
}

// NewWatcher loads the key pair once; a broken pair at start is an error. logger may be nil.
func NewWatcher(certFile, keyFile string, logger *slog.Logger) (*Watcher, error) {
	w := &Watcher{certFile: certFile, keyFile: keyFile, logger: logger}
	if _, err := w.reload(); err != nil {
		return nil, err
	}
	return w, nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (w *Watcher) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.cert, nil
}

// Run checks the files every interval until ctx ends. Polling, rather than file events, also sees
// the symlink swap Kubernetes does when a mounted Secret changes.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			changed, err := w.reload()
			switch {
			case err != nil && w.logger != nil:
				w.logger.Error("reloading the serving certificate; keeping the current one", "error", err)
			case changed && w.logger != nil:
				w.logger.Info("reloaded the serving certificate", "certFile", w.certFile)
			}
		}
	}
}

// reload reads the pair when its files' size or time changed; it keeps the old pair on error.
func (w *Watcher) reload() (bool, error) {
	stamp, err := fileStamp(w.certFile, w.keyFile)
	if err != nil {
		return false, err
	}
	w.mu.RLock()
	same := stamp == w.stamp
	w.mu.RUnlock()
	if same {
		return false, nil
	}
	cert, err := tls.LoadX509KeyPair(w.certFile, w.keyFile)
	if err != nil {
		return false, fmt.Errorf("loading TLS key pair %s and %s: %w", w.certFile, w.keyFile, err)
	}
	w.mu.Lock()
	w.cert, w.stamp = &cert, stamp
	w.mu.Unlock()
	return true, nil
}

func fileStamp(files ...string) (string, error) {
	var s string
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("reading TLS file: %w", err)
		}
		s += fmt.Sprintf("%s:%d:%d;", f, st.Size(), st.ModTime().UnixNano())
	}
	return s, nil
}

// ServerConfig is the TLS configuration signet serves with: TLS 1.2 or later, modern curves, and
// for TLS 1.2 only AEAD ciphers with forward secrecy.
func ServerConfig(get func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS12,
		GetCertificate:   get,
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}
