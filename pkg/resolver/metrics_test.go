package resolver

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	return m, reg
}

func TestMetricsCountRequestsRetriesAndCaches(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	tr.pushImage(t, "app:v1")
	m, reg := newMetrics(t)
	r := newResolver(t, tr, WithMetrics(m), withRetryBase(time.Millisecond), WithCacheSize(1))
	// The first manifest HEAD answers 503, the retry succeeds.
	tr.arm(status(http.MethodHead, http.StatusServiceUnavailable, "0", 1))

	if _, err := r.Resolve(timeoutContext(t, 0), tr.ref(t, "app:v1")); err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if _, err := r.Resolve(timeoutContext(t, 0), tr.ref(t, "app:v1")); err != nil { // from the tag cache
		t.Fatalf("Resolve: %v", err)
	}
	if _, err := r.Resolve(timeoutContext(t, 0), tr.ref(t, "app:nope")); err == nil {
		t.Fatal("Resolve of a missing tag succeeded")
	}

	host := tr.host
	want := `
# HELP signet_registry_requests_total HTTP requests sent to registries and their token servers, every attempt counted, by host, method and status code ("error" when no answer came).
# TYPE signet_registry_requests_total counter
signet_registry_requests_total{host="` + host + `",method="GET",status="200"} 1
signet_registry_requests_total{host="` + host + `",method="HEAD",status="200"} 1
signet_registry_requests_total{host="` + host + `",method="HEAD",status="404"} 1
signet_registry_requests_total{host="` + host + `",method="HEAD",status="503"} 1
# HELP signet_registry_retries_total Registry requests repeated after 429, 502, 503, 504 or a reset connection, by host.
# TYPE signet_registry_retries_total counter
signet_registry_retries_total{host="` + host + `"} 1
# HELP signet_registry_requests_in_flight Registry requests sent whose response body is not yet closed, by host.
# TYPE signet_registry_requests_in_flight gauge
signet_registry_requests_in_flight{host="` + host + `"} 0
# HELP signet_cache_lookups_total Cache lookups by cache (tag, digest, verdict) and result (hit, miss).
# TYPE signet_cache_lookups_total counter
signet_cache_lookups_total{cache="tag",result="hit"} 1
signet_cache_lookups_total{cache="tag",result="miss"} 2
`
	// The GET is the /v2/ ping; one HEAD per lookup plus the retry.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"signet_registry_requests_total", "signet_registry_retries_total",
		"signet_registry_requests_in_flight", "signet_cache_lookups_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.latency); n != 2 {
		t.Errorf("latency histograms: %d series, want 2 (GET and HEAD)", n)
	}
}

func TestMetricsCountEvictionsOfLiveEntries(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	tr.pushImage(t, "a:v1")
	tr.pushImage(t, "b:v1")
	m, reg := newMetrics(t)
	r := newResolver(t, tr, WithMetrics(m), WithCacheSize(1))
	for _, ref := range []string{"a:v1", "b:v1", "a:v1"} {
		if _, err := r.Resolve(timeoutContext(t, 0), tr.ref(t, ref)); err != nil {
			t.Fatalf("Resolve %s: %v", ref, err)
		}
	}
	// One entry per cache: b evicts a, a evicts b, in the tag and the digest cache alike.
	want := `
# HELP signet_cache_evictions_total Live entries dropped because a cache was full, by cache.
# TYPE signet_cache_evictions_total counter
signet_cache_evictions_total{cache="digest"} 2
signet_cache_evictions_total{cache="tag"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "signet_cache_evictions_total"); err != nil {
		t.Error(err)
	}
}

func TestMetricsRefuseADoubleRegistration(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("registering the metrics twice on one registry succeeded")
	}
	var m *Metrics // nil records nothing and does not panic
	m.CacheHit(CacheVerdict)
	m.CacheMiss(CacheVerdict)
	m.CacheEvicted(CacheVerdict)
}
