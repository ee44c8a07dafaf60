package resolver

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// retrier gives a request up to attempts tries when the registry answers 429, 502, 503 or 504 or
// the connection is reset. It waits for Retry-After when the registry sends one, else for an
// exponential backoff, and never waits past the request's deadline. go-containerregistry's own
// retries are switched off (see remoteOptions) so that these are the only ones.
type retrier struct {
	attempts      int
	base          time.Duration
	maxRetryAfter time.Duration
	stats         *counters
	metrics       *Metrics // nil: none
	next          http.RoundTripper
}

// retryAfterError reports a Retry-After that the request cannot wait for.
type retryAfterError struct {
	host   string
	status int
	after  time.Duration
	at     time.Time
	reason string // why it was not honoured
}

func (e *retryAfterError) Error() string {
	return fmt.Sprintf("registry %s answered %d %s and asked to retry after %s (at %s), %s",
		e.host, e.status, http.StatusText(e.status), e.after.Round(time.Second), e.at.UTC().Format(time.RFC3339), e.reason)
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func connectionReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

func (t *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	orig := req
	for attempt := 1; ; attempt++ {
		if attempt > 1 && orig.Body != nil {
			body, err := orig.GetBody()
			if err != nil {
				return nil, fmt.Errorf("rewinding request body for a retry: %w", err)
			}
			req = orig.Clone(orig.Context())
			req.Body = body
		}
		resp, err := t.next.RoundTrip(req)
		if attempt >= t.attempts || (orig.Body != nil && orig.GetBody == nil) {
			return resp, err
		}

		var wait time.Duration
		var asked bool // the registry sent Retry-After
		switch {
		case err != nil && connectionReset(err):
			wait = t.backoff(attempt)
		case err != nil:
			return nil, err
		case retryableStatus(resp.StatusCode):
			wait, asked = retryAfter(resp.Header.Get("Retry-After"), time.Now())
			if !asked {
				wait = t.backoff(attempt)
			}
		default:
			return resp, nil
		}

		now := time.Now()
		deadline, hasDeadline := req.Context().Deadline()
		tooLate := hasDeadline && !now.Add(wait).Before(deadline)
		if asked && (tooLate || (!hasDeadline && wait > t.maxRetryAfter)) {
			why := fmt.Sprintf("later than the request's deadline (%s left)", time.Until(deadline).Round(time.Millisecond))
			if !hasDeadline {
				why = fmt.Sprintf("longer than signet waits (%s)", t.maxRetryAfter)
			}
			drain(resp)
			return nil, &retryAfterError{host: req.URL.Host, status: resp.StatusCode, after: wait, at: now.Add(wait), reason: why}
		}
		if tooLate {
			return resp, err // no time for another attempt: report what we have
		}
		if resp != nil {
			drain(resp)
		}
		if wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-req.Context().Done():
				timer.Stop()
				return nil, fmt.Errorf("waiting to retry %s %s: %w", req.Method, req.URL.Host, req.Context().Err())
			}
		}
		t.stats.retries.Add(1)
		t.metrics.retried(req.URL.Host)
	}
}

// backoff is base·2^(attempt-1), ±20 %.
func (t *retrier) backoff(attempt int) time.Duration {
	d := t.base << (attempt - 1)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// retryAfter parses a Retry-After value: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, true
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// drain reads a little of an unwanted body so the connection can be reused, then closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
