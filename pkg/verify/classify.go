package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/signet-dev/signet/pkg/reason"
)

// classifyRegistry maps an error met while doing something with a registry to a registry reason
// code. ok is false when the error does not come from the registry conversation (a malformed artifact, say);
// the caller decides what that means.
//
// TODO(lead): use resolver.Classify once pkg/resolver exports it.
func classifyRegistry(err error, subject, doing string) (rerr *reason.Error, ok bool) {
	var re *reason.Error
	if errors.As(err, &re) {
		return re, true
	}
	code, ok := registryCode(err)
	if !ok {
		return nil, false
	}
	return reason.New(code, subject, fmt.Errorf("%s: %w", doing, err)), true
}

func registryCode(err error) (reason.Code, bool) {
	var (
		te       *transport.Error
		netErr   net.Error
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		alert    tls.AlertError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return reason.TimedOut, true
	case errors.As(err, &te):
		switch {
		case te.StatusCode == http.StatusUnauthorized, te.StatusCode == http.StatusForbidden:
			return reason.AuthFailed, true
		case te.StatusCode == http.StatusTooManyRequests:
			return reason.RateLimited, true
		case te.StatusCode == http.StatusNotFound:
			return reason.ManifestUnknown, true
		}
		return reason.RegistryUnreachable, true
	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &hostname),
		errors.As(err, &verify), errors.As(err, &record), errors.As(err, &alert):
		return reason.TLSFailure, true
	case errors.As(err, &netErr):
		if netErr.Timeout() {
			return reason.TimedOut, true
		}
		return reason.RegistryUnreachable, true
	}
	return "", false
}

// registryError classifies err, or reports an unclassified error as Internal: a failure to read
// signatures is never "unsigned".
func registryError(err error, subject, doing string) *reason.Error {
	if re, ok := classifyRegistry(err, subject, doing); ok {
		return re
	}
	return reason.New(reason.Internal, subject, fmt.Errorf("%s: %w", doing, err))
}
