// Package reason owns the vocabulary of why an image was denied. Resolver, verifier and admission
// share it so that a deny message, a log line and a metric label say the same thing, and so that
// "unsigned" is never confused with "registry down".
package reason

import (
	"errors"
	"fmt"
)

// Code is a short, stable, human-readable reason. Codes are used as metric labels: keep the set small.
type Code string

const (
	InvalidReference     Code = "invalid reference"
	TagNotFound          Code = "tag not found"
	ManifestUnknown      Code = "manifest unknown"
	NoSignatures         Code = "no signatures"
	NoMatchingSignatures Code = "signatures present but none verify with the policy's keys"
	ThresholdNotMet      Code = "threshold not met"
	AnnotationMismatch   Code = "required annotation missing or mismatched"
	RegistryUnreachable  Code = "registry unreachable"
	TimedOut             Code = "timed out"
	AuthFailed           Code = "registry auth failed"
	RateLimited          Code = "rate limited"
	TLSFailure           Code = "registry TLS failure"
	PolicyError          Code = "policy error"
	Unmatched            Code = "no policy matches"
	Internal             Code = "internal error"
)

// IsRegistry reports whether the code describes a registry that could not be asked, as opposed to
// an answer about the image. Only these may be turned into an allow by a fail-open policy.
func (c Code) IsRegistry() bool {
	switch c {
	case RegistryUnreachable, TimedOut, AuthFailed, RateLimited, TLSFailure:
		return true
	}
	return false
}

// Error carries a Code, the thing it is about (an image, a host, a policy) and the cause.
type Error struct {
	Code    Code
	Subject string
	Err     error
}

func (e *Error) Error() string {
	switch {
	case e.Subject != "" && e.Err != nil:
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Subject, e.Err)
	case e.Subject != "":
		return fmt.Sprintf("%s: %s", e.Code, e.Subject)
	case e.Err != nil:
		return fmt.Sprintf("%s: %v", e.Code, e.Err)
	}
	return string(e.Code)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error.
func New(code Code, subject string, err error) *Error {
	return &Error{Code: code, Subject: subject, Err: err}
}

// Errorf returns an *Error whose cause is formatted.
func Errorf(code Code, subject, format string, args ...any) *Error {
	return &Error{Code: code, Subject: subject, Err: fmt.Errorf(format, args...)}
}

// Of returns the Code of the first *Error in err's chain, or Internal when there is none: an error
// nobody classified is treated as ours, never as a pass.
func Of(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}
