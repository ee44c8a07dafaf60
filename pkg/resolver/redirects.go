package resolver

import (
	"fmt"
	"net/http"
)

// maxRedirects bounds one registry request's redirect chain. go-containerregistry installs its own
// CheckRedirect (against SSRF), which drops net/http's default limit of 10: without this bound a
// registry redirecting in a loop is followed until the deadline.
const maxRedirects = 10

// redirectLoopError is returned for a request that has been redirected more than maxRedirects times.
type redirectLoopError struct {
	host string
	hops int
}

func (e *redirectLoopError) Error() string {
	return fmt.Sprintf("registry %s redirected the request %d times; stopped following it", e.host, e.hops)
}

// checkRedirects refuses a request at the end of a redirect chain longer than maxRedirects. Each
// redirected request carries the response that caused it, which carries the request before it.
func checkRedirects(req *http.Request) error {
	hops := 0
	for r := req; r.Response != nil && r.Response.Request != nil; r = r.Response.Request {
		hops++
	}
	if hops > maxRedirects {
		return &redirectLoopError{host: req.URL.Host, hops: hops}
	}
	return nil
}
