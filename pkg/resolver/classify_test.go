package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/signet-dev/signet/pkg/reason"
)

func statusError(code int, path string, diag ...transport.ErrorCode) error {
	req, _ := http.NewRequest(http.MethodGet, "https://registry.example"+path, nil)
	te := &transport.Error{StatusCode: code, Request: req}
	for _, c := range diag {
		te.Errors = append(te.Errors, transport.Diagnostic{Code: c, Message: "from the registry"})
	}
	return te
}

func TestClassify(t *testing.T) {
	t.Parallel()
	const image = "registry.example/app:v1"
	const digest = "registry.example/app@sha256:0123456789012345678901234567890123456789012345678901234567890123"
	manifest := "/v2/app/manifests/v1"
	tests := map[string]struct {
		err      error
		subject  string
		isDigest bool
		code     reason.Code
		text     string
	}{
		"A 404 on a tag's manifest is TagNotFound.":                   {err: statusError(404, manifest), subject: image, code: reason.TagNotFound, text: "registry registry.example has no tag v1 in app"},
		"A 404 on a digest's manifest is ManifestUnknown.":            {err: statusError(404, manifest), subject: digest, isDigest: true, code: reason.ManifestUnknown, text: "has no manifest sha256:0123"},
		"NAME_UNKNOWN with another status is still not found.":        {err: statusError(400, manifest, transport.NameUnknownErrorCode), subject: image, code: reason.TagNotFound},
		"A 404 on /v2/ says the host may not be a registry.":          {err: statusError(404, "/v2/"), subject: image, code: reason.RegistryUnreachable, text: "is it an OCI registry?"},
		"A 401 is AuthFailed.":                                        {err: statusError(401, manifest), subject: image, code: reason.AuthFailed, text: "check the credentials for registry.example"},
		"DENIED is AuthFailed and quotes the registry.":               {err: statusError(400, manifest, transport.DeniedErrorCode), subject: image, code: reason.AuthFailed, text: "DENIED: from the registry"},
		"A 429 is RateLimited.":                                       {err: statusError(429, manifest), subject: image, code: reason.RateLimited},
		"A 500 is RegistryUnreachable with its status.":               {err: statusError(500, manifest), subject: image, code: reason.RegistryUnreachable, text: "answered 500 Internal Server Error"},
		"An ended deadline is TimedOut.":                              {err: fmt.Errorf("HEAD: %w", context.DeadlineExceeded), subject: image, code: reason.TimedOut, text: "timed out waiting for registry registry.example"},
		"A refused connection is RegistryUnreachable.":                {err: &url.Error{Op: "Get", URL: "https://registry.example/v2/", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, subject: image, code: reason.RegistryUnreachable, text: "cannot reach registry registry.example"},
		"A DNS failure is RegistryUnreachable.":                       {err: &net.DNSError{Err: "no such host", Name: "registry.example", IsNotFound: true}, subject: image, code: reason.RegistryUnreachable},
		"Refused plain HTTP is a TLS failure with the guard's words.": {err: &plainHTTPRefusedError{host: "registry.example"}, subject: image, code: reason.TLSFailure, text: "plain HTTP to registry.example refused: add it to the insecure registries to allow it"},
		"An error nobody understands is Internal.":                    {err: errors.New("odd"), subject: image, code: reason.Internal, text: "odd"},
		"An image written without a host is about Docker Hub.":        {err: statusError(503, "/v2/"), subject: "nginx:1.27", code: reason.RegistryUnreachable, text: "registry index.docker.io answered 503"},
		"A host and port as subject is named as the registry.":        {err: statusError(503, "/v2/"), subject: "registry.example:5000", code: reason.RegistryUnreachable, text: "registry registry.example:5000 answered 503"},
		"A host as subject is named as the registry.":                 {err: statusError(503, "/v2/"), subject: "registry.example", code: reason.RegistryUnreachable, text: "registry unreachable: registry.example: registry registry.example answered 503"},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			err := Classify(tc.err, tc.subject, tc.isDigest)
			checkReason(t, err, tc.code, tc.subject, tc.text)
			if !errors.Is(err, tc.err) && !errors.As(err, new(*plainHTTPRefusedError)) {
				t.Errorf("the original error is not in the chain of %v", err)
			}
		})
	}
	t.Run("Nil stays nil and a classified error stays as it is.", func(t *testing.T) {
		t.Parallel()
		if err := Classify(nil, image, false); err != nil {
			t.Errorf("Classify(nil) = %v", err)
		}
		in := reason.New(reason.NoSignatures, image, nil)
		if err := Classify(in, image, false); err != error(in) {
			t.Errorf("Classify(%v) = %v, want it unchanged", in, err)
		}
	})
}
