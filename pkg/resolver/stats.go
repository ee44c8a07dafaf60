package resolver

import (
	"net/http"
	"sync/atomic"
)

// Stats is a snapshot of a Registry's counters since New. Every field only grows, so each maps to
// a Prometheus counter (a collector can call Registry.Stats in Collect).
type Stats struct {
	// Requests counts HTTP requests sent to registries and token servers, by method ("HEAD",
	// "GET", …). Every attempt counts, retries included; requests refused by the plain-HTTP guard
	// are never sent and not counted.
	Requests map[string]uint64
	// Retries counts repeated attempts after 429, 502, 503, 504 or a reset connection.
	Retries uint64
	// GetFallbacks counts manifest GETs made because a HEAD could not give a digest.
	GetFallbacks uint64
	// TagCacheHits and TagCacheMisses count tag lookups answered from / not found in the tag cache.
	TagCacheHits, TagCacheMisses uint64
	// DigestCacheHits and DigestCacheMisses count the same for digest confirmations.
	DigestCacheHits, DigestCacheMisses uint64
	// FlightsShared counts lookups that joined a flight another caller had started.
	FlightsShared uint64
}

// methods are the request methods counted separately; others count as "OTHER".
var methods = [...]string{http.MethodHead, http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

type counters struct {
	requests     [len(methods) + 1]atomic.Uint64
	retries      atomic.Uint64
	getFallbacks atomic.Uint64
	tagHits      atomic.Uint64
	tagMisses    atomic.Uint64
	digestHits   atomic.Uint64
	digestMisses atomic.Uint64
	shared       atomic.Uint64
}

func (c *counters) request(method string) {
	for i, m := range methods {
		if m == method {
			c.requests[i].Add(1)
			return
		}
	}
	c.requests[len(methods)].Add(1)
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Requests:          map[string]uint64{},
		Retries:           c.retries.Load(),
		GetFallbacks:      c.getFallbacks.Load(),
		TagCacheHits:      c.tagHits.Load(),
		TagCacheMisses:    c.tagMisses.Load(),
		DigestCacheHits:   c.digestHits.Load(),
		DigestCacheMisses: c.digestMisses.Load(),
		FlightsShared:     c.shared.Load(),
	}
	for i, m := range methods {
		if n := c.requests[i].Load(); n > 0 {
			s.Requests[m] = n
		}
	}
	if n := c.requests[len(methods)].Load(); n > 0 {
		s.Requests["OTHER"] = n
	}
	return s
}
