package verify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/signet-dev/signet/pkg/reason"
)

func TestRegistryError(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		err  error
		want reason.Code
	}{
		"401 is an auth failure.":                    {&transport.Error{StatusCode: http.StatusUnauthorized}, reason.AuthFailed},
		"403 is an auth failure.":                    {&transport.Error{StatusCode: http.StatusForbidden}, reason.AuthFailed},
		"429 is rate limiting.":                      {&transport.Error{StatusCode: http.StatusTooManyRequests}, reason.RateLimited},
		"404 is an unknown manifest.":                {&transport.Error{StatusCode: http.StatusNotFound, Request: httptest.NewRequest(http.MethodGet, "/v2/app/manifests/sha256-ab.sig", nil)}, reason.ManifestUnknown},
		"503 is an unreachable registry.":            {&transport.Error{StatusCode: http.StatusServiceUnavailable}, reason.RegistryUnreachable},
		"A deadline is a time-out.":                  {fmt.Errorf("get: %w", context.DeadlineExceeded), reason.TimedOut},
		"A refused connection is unreachable.":       {&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, reason.RegistryUnreachable},
		"A failed DNS lookup is unreachable.":        {&net.DNSError{Err: "no such host", Name: "registry.invalid"}, reason.RegistryUnreachable},
		"An unknown CA is a TLS failure.":            {fmt.Errorf("get: %w", x509.UnknownAuthorityError{}), reason.TLSFailure},
		"A wrong host name is a TLS failure.":        {x509.HostnameError{Host: "x"}, reason.TLSFailure},
		"An already classified error is kept.":       {reason.New(reason.RateLimited, "x", nil), reason.RateLimited},
		"Anything else is internal, never unsigned.": {errors.New("unexpected media type"), reason.Internal},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			if got := reason.Of(registryError(tc.err, "subject", "doing")); got != tc.want {
				t.Errorf("registryError(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}
