package main

import (
	"fmt"
	"math"
	"net/http"
	"sort"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads a Prometheus text exposition from url.
func scrape(c *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", url, err)
	}
	return fams, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// gauge sums every series of a gauge or counter family.
func gauge(fams map[string]*dto.MetricFamily, family string) float64 {
	var sum float64
	for _, m := range fams[family].GetMetric() {
		switch {
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}

// counterBy sums a counter family by the value of one label.
func counterBy(fams map[string]*dto.MetricFamily, family, by string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range fams[family].GetMetric() {
		out[label(m, by)] += m.GetCounter().GetValue()
	}
	return out
}

// histogram is cumulative bucket counts by upper bound, summed over every series of a family.
type histogram struct {
	bounds []float64 // ascending, +Inf last
	counts []float64 // cumulative
}

func histogramOf(fams map[string]*dto.MetricFamily, family string) histogram {
	byBound := map[float64]float64{}
	var total float64
	for _, m := range fams[family].GetMetric() {
		h := m.GetHistogram()
		for _, b := range h.GetBucket() {
			byBound[b.GetUpperBound()] += float64(b.GetCumulativeCount())
		}
		total += float64(h.GetSampleCount())
	}
	byBound[math.Inf(1)] = total
	var h histogram
	for b := range byBound {
		h.bounds = append(h.bounds, b)
	}
	sort.Float64s(h.bounds)
	for _, b := range h.bounds {
		h.counts = append(h.counts, byBound[b])
	}
	return h
}

// minus is h with the observations of an earlier scrape taken away: what happened in between.
func (h histogram) minus(before histogram) histogram {
	prev := map[float64]float64{}
	for i, b := range before.bounds {
		prev[b] = before.counts[i]
	}
	out := histogram{bounds: h.bounds, counts: make([]float64, len(h.counts))}
	for i, b := range h.bounds {
		out.counts[i] = h.counts[i] - prev[b]
	}
	return out
}

func (h histogram) total() float64 {
	if len(h.counts) == 0 {
		return 0
	}
	return h.counts[len(h.counts)-1]
}

// quantile estimates the q-quantile the way Prometheus' histogram_quantile does: linear
// interpolation inside the bucket that holds it. A quantile in the +Inf bucket returns the highest
// finite bound. The estimate can be no finer than the buckets.
func (h histogram) quantile(q float64) float64 {
	n := h.total()
	if n == 0 {
		return math.NaN()
	}
	rank := q * n
	lower, below := 0.0, 0.0
	for i, b := range h.bounds {
		if h.counts[i] >= rank {
			if math.IsInf(b, 1) {
				return lower
			}
			in := h.counts[i] - below
			if in == 0 {
				return b
			}
			return lower + (b-lower)*(rank-below)/in
		}
		lower, below = b, h.counts[i]
	}
	return lower
}
