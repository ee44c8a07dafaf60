package resolver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/signet-dev/signet/pkg/reason"
)

// Classify turns an error from a registry call about subject (an image reference as written) into
// a *reason.Error: 404 / MANIFEST_UNKNOWN / NAME_UNKNOWN on a manifest is TagNotFound, or
// ManifestUnknown when isDigest; 401/403 AuthFailed; 429 RateLimited; 5xx, refused or reset
// connections and DNS failures RegistryUnreachable; an ended context TimedOut; certificate and
// handshake failures, and plain HTTP to a registry not listed as insecure, TLSFailure. Anything
// else is Internal. An error that already is a *reason.Error is returned as is; nil stays nil.
// The original error stays in the chain (errors.As finds *transport.Error).
func Classify(err error, subject string, isDigest bool) error {
	return classify(err, subject, isDigest, 0)
}

// classify is Classify with the time the caller waited, for TimedOut messages (0: unknown).
func classify(err error, subject string, isDigest bool, waited time.Duration) error {
	if err == nil {
		return nil
	}
	var re *reason.Error
	if errors.As(err, &re) {
		return err
	}
	host := hostOf(err, subject)
	mk := func(code reason.Code, format string, args ...any) error {
		return reason.New(code, subject, &described{msg: fmt.Sprintf(format, args...), err: err})
	}

	var ra *retryAfterError
	if errors.As(err, &ra) {
		if ra.status == http.StatusTooManyRequests {
			return reason.New(reason.RateLimited, subject, ra)
		}
		return reason.New(reason.RegistryUnreachable, subject, ra)
	}
	var big *manifestTooLargeError
	if errors.As(err, &big) {
		return reason.New(reason.RegistryUnreachable, subject, big)
	}
	var loop *redirectLoopError
	if errors.As(err, &loop) {
		return reason.New(reason.RegistryUnreachable, subject, loop)
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return classifyStatus(te, subject, host, isDigest, mk)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		verb := "timed out"
		if !errors.Is(err, context.DeadlineExceeded) {
			verb = "cancelled"
		}
		if waited > 0 {
			return mk(reason.TimedOut, "%s after %s waiting for registry %s", verb, roundWait(waited), host)
		}
		return mk(reason.TimedOut, "%s waiting for registry %s", verb, host)
	}
	if cause := tlsCause(err); cause != nil {
		return mk(reason.TLSFailure, "TLS with registry %s failed: %v; if it uses a private CA, add that CA to signet's registry CA bundle", host, cause)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return mk(reason.TimedOut, "timed out waiting for registry %s: %v", host, ne)
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return mk(reason.RegistryUnreachable, "cannot reach registry %s: %v", host, dns)
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return mk(reason.RegistryUnreachable, "cannot reach registry %s: %v", host, op)
	}
	if connectionReset(err) {
		return mk(reason.RegistryUnreachable, "registry %s closed the connection: %v", host, err)
	}
	// After the checks above: go-containerregistry tries https and http at once for localhost and
	// private addresses, and the refused http attempt must not hide why https failed.
	var refused *plainHTTPRefusedError
	if errors.As(err, &refused) {
		return reason.New(reason.TLSFailure, subject, refused)
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return mk(reason.TLSFailure, "registry %s does not speak TLS; if it is a plain-HTTP registry, add it to the insecure registries", host)
	}
	return mk(reason.Internal, "unexpected failure talking to registry %s: %v", host, err)
}

func classifyStatus(te *transport.Error, subject, host string, isDigest bool, mk func(reason.Code, string, ...any) error) error {
	status := fmt.Sprintf("%d %s", te.StatusCode, http.StatusText(te.StatusCode))
	detail := ""
	if len(te.Errors) > 0 {
		detail = " (" + te.Errors[0].String() + ")"
	}
	manifestPath := te.Request != nil && strings.Contains(te.Request.URL.Path, "/manifests/")
	switch {
	case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden ||
		hasCode(te, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
		return mk(reason.AuthFailed, "registry %s answered %s%s: check the credentials for %s in the docker config", host, status, detail, host)
	case te.StatusCode == http.StatusTooManyRequests || hasCode(te, transport.TooManyRequestsErrorCode):
		return mk(reason.RateLimited, "registry %s answered %s%s: it limits how often it may be asked; try again later", host, status, detail)
	case manifestPath && (te.StatusCode == http.StatusNotFound ||
		hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode)):
		what, repo := "the manifest", ""
		if ref, err := name.ParseReference(subject, name.WeakValidation); err == nil {
			repo = " in " + ref.Context().RepositoryStr()
			if d, ok := ref.(name.Digest); ok {
				what = "manifest " + d.DigestStr()
			} else {
				what = "tag " + ref.Identifier()
			}
		}
		if isDigest {
			return mk(reason.ManifestUnknown, "registry %s has no %s%s", host, what, repo)
		}
		return mk(reason.TagNotFound, "registry %s has no %s%s", host, what, repo)
	case te.StatusCode >= 500:
		return mk(reason.RegistryUnreachable, "registry %s answered %s%s", host, status, detail)
	case te.StatusCode == http.StatusNotFound:
		return mk(reason.RegistryUnreachable, "registry %s answered %s for %s: is it an OCI registry?", host, status, requestPath(te))
	}
	return mk(reason.RegistryUnreachable, "registry %s answered an unexpected %s%s for %s", host, status, detail, requestPath(te))
}

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

func requestPath(te *transport.Error) string {
	if te.Request == nil {
		return "the request"
	}
	return te.Request.Method + " " + te.Request.URL.Path
}

// tlsCause returns the certificate or handshake error in err's chain, or nil.
func tlsCause(err error) error {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		roots    x509.SystemRootsError
		record   tls.RecordHeaderError
		alert    tls.AlertError
	)
	switch {
	case errors.As(err, &verify):
		return verify
	case errors.As(err, &unknown):
		return unknown
	case errors.As(err, &hostname):
		return hostname
	case errors.As(err, &invalid):
		return invalid
	case errors.As(err, &roots):
		return roots
	case errors.As(err, &record):
		return record
	case errors.As(err, &alert):
		return alert
	}
	// An alert the registry sent (it refused our TLS version, wants a client certificate, …):
	// crypto/tls reports it as a *net.OpError whose Op is "remote error".
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" {
		return op
	}
	return nil
}

// hostOf names the registry an error is about: the registry of subject when subject is a
// reference, else the host of the failed request, else subject.
func hostOf(err error, subject string) string {
	if looksLikeHost(subject) {
		return subject
	}
	if ref, perr := name.ParseReference(subject, name.WeakValidation); perr == nil {
		return ref.Context().RegistryStr()
	}
	var te *transport.Error
	if errors.As(err, &te) && te.Request != nil {
		return te.Request.URL.Host
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			return u.Host
		}
	}
	return subject
}

// looksLikeHost tells a registry host ("registry.example", "localhost", "app:5000") given as
// subject from an image written without a registry ("nginx", "nginx:1.27").
func looksLikeHost(s string) bool {
	if s == "" || strings.Contains(s, "/") || strings.Contains(s, "@") {
		return false
	}
	if strings.Contains(s, ":") {
		h, port, err := net.SplitHostPort(s)
		if err != nil || h == "" {
			return false
		}
		_, err = strconv.Atoi(port)
		return err == nil
	}
	return s == "localhost" || strings.Contains(s, ".")
}

func roundWait(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// described prints a message written for people while keeping the original error in the chain.
type described struct {
	msg string
	err error
}

func (d *described) Error() string { return d.msg }
func (d *described) Unwrap() error { return d.err }
