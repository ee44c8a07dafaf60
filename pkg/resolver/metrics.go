package resolver

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Cache names used as the "cache" label of the cache metrics.
const (
	// CacheTag is the resolver's tag → digest cache.
	CacheTag = "tag"
	// CacheDigest is the resolver's cache of digests confirmed to exist.
	CacheDigest = "digest"
	// CacheVerdict is pkg/verify's cache of verdicts by (digest, policy fingerprint).
	CacheVerdict = "verdict"
)

// Metrics owns the registry-access collectors. Build it with NewMetrics, which registers them on
// the registerer it is given (nothing is registered globally), and hand it to New with WithMetrics
// and to pkg/verify. A nil *Metrics records nothing, so its methods can always be called.
type Metrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	retries   *prometheus.CounterVec
	inFlight  *prometheus.GaugeVec
	lookups   *prometheus.CounterVec
	evictions *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg. It returns an error when one of
// them is already registered there.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "signet", Subsystem: "registry", Name: "requests_total",
			Help: "HTTP requests sent to registries and their token servers, every attempt counted, by host, method and status code (\"error\" when no answer came).",
		}, []string{"host", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "signet", Subsystem: "registry", Name: "request_duration_seconds",
			Help: "Time from sending a registry request to its response headers (or failure), by host and method.",
			// A warm connection on the same network answers in about a millisecond; admission
			// deadlines end near 10s.
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"host", "method"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "signet", Subsystem: "registry", Name: "retries_total",
			Help: "Registry requests repeated after 429, 502, 503, 504 or a reset connection, by host.",
		}, []string{"host"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "signet", Subsystem: "registry", Name: "requests_in_flight",
			Help: "Registry requests sent whose response body is not yet closed, by host.",
		}, []string{"host"}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "signet", Subsystem: "cache", Name: "lookups_total",
			Help: "Cache lookups by cache (tag, digest, verdict) and result (hit, miss).",
		}, []string{"cache", "result"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "signet", Subsystem: "cache", Name: "evictions_total",
			Help: "Live entries dropped because a cache was full, by cache.",
		}, []string{"cache"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.retries, m.inFlight, m.lookups, m.evictions} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// CacheHit records a lookup in cache that found a live entry.
func (m *Metrics) CacheHit(cache string) {
	if m != nil {
		m.lookups.WithLabelValues(cache, "hit").Inc()
	}
}

// CacheMiss records a lookup in cache that found nothing (or an expired entry).
func (m *Metrics) CacheMiss(cache string) {
	if m != nil {
		m.lookups.WithLabelValues(cache, "miss").Inc()
	}
}

// CacheEvicted records a live entry dropped from cache to make room.
func (m *Metrics) CacheEvicted(cache string) {
	if m != nil {
		m.evictions.WithLabelValues(cache).Inc()
	}
}

func (m *Metrics) retried(host string) {
	if m != nil {
		m.retries.WithLabelValues(host).Inc()
	}
}

// sent records the start of a request and returns the function that records its answer: the
// status (or "error") and latency at once, the in-flight gauge when the body is done.
func (m *Metrics) sent(req *http.Request) (answered func(resp *http.Response, err error), done func()) {
	if m == nil {
		return func(*http.Response, error) {}, func() {}
	}
	host, method := req.URL.Host, req.Method
	start := time.Now()
	gauge := m.inFlight.WithLabelValues(host)
	gauge.Inc()
	answered = func(resp *http.Response, err error) {
		status := "error"
		if err == nil {
			status = strconv.Itoa(resp.StatusCode)
		}
		m.latency.WithLabelValues(host, method).Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(host, method, status).Inc()
	}
	return answered, gauge.Dec
}
