package resolver

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxManifestBytes bounds the manifests signet reads (go-containerregistry alone reads up to
// 100 MiB). 4 MiB is what the distribution registry and containerd accept, so no image the
// kubelet can pull is refused.
const maxManifestBytes = 4 << 20

// manifestTooLargeError reports a manifest answer larger than signet reads.
type manifestTooLargeError struct {
	host string
	size int64 // -1: unknown, the body ran past the limit
}

func (e *manifestTooLargeError) Error() string {
	if e.size < 0 {
		return fmt.Sprintf("registry %s sent a manifest larger than the %d bytes signet reads", e.host, maxManifestBytes)
	}
	return fmt.Sprintf("registry %s sent a manifest of %d bytes, more than the %d bytes signet reads", e.host, e.size, maxManifestBytes)
}

// manifestLimiter refuses manifest answers larger than maxManifestBytes: by Content-Length before
// reading, or while reading when the length was not announced or was wrong.
type manifestLimiter struct {
	next http.RoundTripper
}

func (l *manifestLimiter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/manifests/") {
		return resp, err
	}
	if resp.ContentLength > maxManifestBytes {
		resp.Body.Close()
		return nil, &manifestTooLargeError{host: req.URL.Host, size: resp.ContentLength}
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: maxManifestBytes, host: req.URL.Host}
	return resp, nil
}

// limitedBody fails a read that goes past left bytes.
type limitedBody struct {
	io.ReadCloser
	left int64
	host string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, &manifestTooLargeError{host: b.host, size: -1}
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, &manifestTooLargeError{host: b.host, size: -1}
	}
	return n, err
}
