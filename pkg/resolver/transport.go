package resolver

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// The request path, outermost first (go-containerregistry adds auth and User-Agent above it):
//
//	retrier → plainHTTPGuard → hostLimiter → requestCounter → *http.Transport (shared)
//
// Retries sit on top so that a wait for Retry-After holds no per-host slot; the guard sits below
// them so that a refused request is never retried, limited or counted.

// newHTTPTransport returns the one *http.Transport a Registry uses for every registry request.
func newHTTPTransport(o *options) (*http.Transport, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	for i, b := range o.caBundles {
		if !roots.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s holds no PEM certificate", o.caSources[i])
		}
	}
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   o.maxPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}, nil
}

// plainHTTPRefusedError is returned for an http:// request to a registry not listed as insecure.
type plainHTTPRefusedError struct{ host string }

func (e *plainHTTPRefusedError) Error() string {
	return fmt.Sprintf("plain HTTP to %s refused: add it to the insecure registries to allow it", e.host)
}

// plainHTTPGuard refuses plain HTTP to every host not in insecure. go-containerregistry would
// otherwise fall back to HTTP on its own for localhost, 127.x and RFC 1918 registries.
type plainHTTPGuard struct {
	insecure map[string]bool
	next     http.RoundTripper
}

func (g *plainHTTPGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !hostListed(g.insecure, req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &plainHTTPRefusedError{host: req.URL.Host}
	}
	return g.next.RoundTrip(req)
}

// hostListed reports whether host (as in a URL, so possibly with the default port) is in set.
func hostListed(set map[string]bool, host string) bool {
	if set[host] {
		return true
	}
	if h, port, err := net.SplitHostPort(host); err == nil && port == "80" {
		return set[h]
	}
	return false
}

// hostLimiter bounds the requests in flight per host. A slot is held until the response body is
// closed or read to its end.
type hostLimiter struct {
	limit int
	next  http.RoundTripper

	mu    sync.Mutex
	slots map[string]chan struct{}
}

func (l *hostLimiter) sem(host string) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.slots[host]
	if !ok {
		s = make(chan struct{}, l.limit)
		l.slots[host] = s
	}
	return s
}

func (l *hostLimiter) RoundTrip(req *http.Request) (*http.Response, error) {
	sem := l.sem(req.URL.Host)
	select {
	case sem <- struct{}{}:
	case <-req.Context().Done():
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("waiting for one of %d connections to %s: %w", l.limit, req.URL.Host, req.Context().Err())
	}
	release := sync.OnceFunc(func() { <-sem })
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releasingBody calls release once, when closed or read to its end.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *releasingBody) Close() error {
	defer b.release()
	return b.ReadCloser.Close()
}

// requestCounter counts the requests actually sent.
type requestCounter struct {
	stats *counters
	next  http.RoundTripper
}

func (c *requestCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.stats.request(req.Method)
	return c.next.RoundTrip(req)
}
