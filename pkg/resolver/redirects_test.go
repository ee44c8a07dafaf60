package resolver

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/signet-dev/signet/pkg/reason"
)

func TestCheckRedirectsStopsALongChain(t *testing.T) {
	t.Parallel()
	chain := func(hops int) *http.Request {
		req := &http.Request{URL: &url.URL{Host: "registry.example"}}
		for range hops {
			req = &http.Request{URL: req.URL, Response: &http.Response{Request: req}}
		}
		return req
	}
	if err := checkRedirects(chain(maxRedirects)); err != nil {
		t.Fatalf("%d redirects refused: %v", maxRedirects, err)
	}
	err := checkRedirects(chain(maxRedirects + 1))
	if err == nil {
		t.Fatalf("%d redirects followed", maxRedirects+1)
	}
	if got := reason.Of(Classify(err, "registry.example/app:v1", false)); got != reason.RegistryUnreachable {
		t.Errorf("a redirect loop is %q, want %q", got, reason.RegistryUnreachable)
	}
}

func TestAnAlertFromTheRegistryIsATLSFailure(t *testing.T) {
	t.Parallel()
	// crypto/tls reports an alert the peer sent as a *net.OpError whose Op is "remote error".
	err := &url.Error{Op: "Head", URL: "https://registry.example/v2/", Err: &net.OpError{Op: "remote error", Err: errors.New("tls: protocol version not supported")}}
	if got := reason.Of(Classify(err, "registry.example/app:v1", false)); got != reason.TLSFailure {
		t.Errorf("a TLS alert from the registry is %q, want %q", got, reason.TLSFailure)
	}
}
