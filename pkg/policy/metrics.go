package policy

import "github.com/prometheus/client_golang/prometheus"

// Metrics owns the policy metrics; it registers them in the registry it is given, never
// globally.
type Metrics struct {
	policies *prometheus.GaugeVec
	reloads  prometheus.Counter
}

// NewMetrics creates the policy metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		policies: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "signet", Subsystem: "policy", Name: "policies",
			Help: "Cluster policies in force, by kind and readiness; a policy that is not ready refuses every image it matches.",
		}, []string{"kind", "ready"}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "signet", Subsystem: "policy", Name: "snapshot_swaps_total",
			Help: "Times a new compiled snapshot of the cluster policies replaced the previous one.",
		}),
	}
	reg.MustRegister(m.policies, m.reloads)
	return m
}

// observe records the readiness of a freshly compiled snapshot.
func (m *Metrics) observe(ps []*Policy, swapped bool) {
	if m == nil {
		return
	}
	counts := map[[2]string]float64{}
	for _, kind := range []string{KindClusterImagePolicy, KindImagePolicy} {
		counts[[2]string{kind, "true"}] = 0
		counts[[2]string{kind, "false"}] = 0
	}
	for _, p := range ps {
		kind := KindClusterImagePolicy
		if p.Namespace != "" {
			kind = KindImagePolicy
		}
		ready := "true"
		if p.Err != nil {
			ready = "false"
		}
		counts[[2]string{kind, ready}]++
	}
	for k, n := range counts {
		m.policies.WithLabelValues(k[0], k[1]).Set(n)
	}
	if swapped {
		m.reloads.Inc()
	}
}
