package resolver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The request path, outermost first (go-containerregistry adds auth and User-Agent above it):
//
//	retrier → plainHTTPGuard → hostLimiter → manifestLimiter → requestCounter → *http.Transport
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
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	base := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       base,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   o.maxPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if len(o.registryCAs) > 0 {
		pools := make(map[string]*x509.CertPool, len(o.registryCAs))
		for host, bundles := range o.registryCAs {
			pool := roots.Clone()
			for _, b := range bundles {
				pool.AppendCertsFromPEM(b) // checked by WithRegistryCA
			}
			pools[host] = pool
		}
		t.DialTLSContext = (&perHostTLSDialer{dialer: dialer, base: base, pools: pools}).dial
	}
	return t, nil
}

// perHostTLSDialer makes TLS connections that trust a registry's own CA bundle for that registry
// only: the roots are chosen by the host dialled, so a CA given for one registry can never vouch
// for another. Hosts without a bundle of their own get the shared roots. Through an HTTPS proxy
// net/http does the TLS itself, with the shared roots only.
type perHostTLSDialer struct {
	dialer *net.Dialer
	base   *tls.Config
	pools  map[string]*x509.CertPool // host name (no port) → roots
}

func (d *perHostTLSDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dialling registry %s: %w", addr, err)
	}
	cfg := d.base.Clone()
	cfg.ServerName = host
	cfg.NextProtos = []string{"h2", "http/1.1"}
	if pool, ok := d.pools[strings.ToLower(host)]; ok {
		cfg.RootCAs = pool
	}
	raw, err := d.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return conn, nil
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
	if err := checkRedirects(req); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
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

// hostLimiter bounds the requests in flight per host. A slot is held until a successful
// response's body is closed or read to its end, and only until the headers of a failed one.
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
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// A failed answer's body is small, and go-containerregistry keeps it open while it sends
		// the next request (a referrers-API 404 → the fallback tag): holding the slot would deadlock.
		release()
		return resp, nil
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

// requestCounter counts the requests actually sent, in Stats and in the metrics (nil: none).
type requestCounter struct {
	stats   *counters
	metrics *Metrics
	next    http.RoundTripper
}

func (c *requestCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	c.stats.request(req.Method)
	answered, done := c.metrics.sent(req)
	resp, err := c.next.RoundTrip(req)
	answered(resp, err)
	if err != nil {
		done()
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: sync.OnceFunc(done)}
	return resp, nil
}
