package admission

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
)

// Metrics owns the admission metrics and the registry they are registered in; nothing is
// registered globally.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	images   *prometheus.CounterVec
	audited  *prometheus.CounterVec
}

// NewMetrics creates the admission metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "signet", Subsystem: "admission", Name: "requests_total",
			Help: "Admission reviews answered, by endpoint, kind, operation and decision (allow, deny, warn).",
		}, []string{"endpoint", "kind", "operation", "decision"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "signet", Subsystem: "admission", Name: "duration_seconds",
			Help: "Time to answer an admission review, by endpoint and decision.",
			// From 100µs (warm cache) to 10s (the API server's default timeout).
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"endpoint", "decision"}),
		images: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "signet", Subsystem: "admission", Name: "image_problems_total",
			Help: "Problems found with images, by endpoint and reason.",
		}, []string{"endpoint", "reason"}),
		audited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "signet", Subsystem: "admission", Name: "audit_violations_total",
			Help: "Images an audit-mode policy would have denied (allowed and recorded in auditAnnotations), by reason.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.requests, m.duration, m.images, m.audited)
	return m
}

func (m *Metrics) observe(ep Endpoint, req *admissionv1.AdmissionRequest, d *decision, took time.Duration) {
	m.requests.WithLabelValues(string(ep), req.Kind.Kind, string(req.Operation), d.kind).Inc()
	m.duration.WithLabelValues(string(ep), d.kind).Observe(took.Seconds())
	for _, c := range d.reasons {
		m.images.WithLabelValues(string(ep), string(c)).Inc()
	}
	for _, c := range d.audited {
		m.audited.WithLabelValues(string(c)).Inc()
	}
}
