package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// review is one AdmissionReview sent to one endpoint.
type review struct {
	endpoint  string // "mutate" or "validate"
	body      []byte
	wantPatch bool // the mutating answer must carry a patch (a tag to pin)
}

// loadSpec is one run of the load generator. An admission is what the API server sends for one
// object: /mutate, then /validate with the pinned object, one after the other on one connection.
type loadSpec struct {
	// concurrency is how many admissions are in flight at most, each on its own keep-alive
	// connection.
	concurrency int
	// rate is the target reviews per second; 0 sends as fast as answers come back (closed loop).
	rate float64
	// duration bounds the run; count bounds the admissions. At least one must be set.
	duration time.Duration
	count    int
	// admission returns the reviews of admission i.
	admission func(i int) []review
}

// loadResult is what the client saw.
type loadResult struct {
	admissions, reviews int
	elapsed             time.Duration
	reviewLatency       []time.Duration            // sorted
	byEndpoint          map[string][]time.Duration // review latency per endpoint, sorted
	admissionLatency    []time.Duration            // sorted
	failures            int
	firstFailure        string
}

func (r *loadResult) reviewsPerSecond() float64 { return float64(r.reviews) / r.elapsed.Seconds() }

// runLoad drives w with spec over a fresh pool of connections and returns the client-side view.
func runLoad(w *webhook, spec loadSpec) *loadResult {
	client := w.client(spec.concurrency)
	defer client.CloseIdleConnections()
	perAdmission := len(spec.admission(0))
	// Open every connection first, as a long-running API server has them: the run measures
	// reviews, not TLS handshakes.
	var warm sync.WaitGroup
	for range spec.concurrency {
		warm.Go(func() {
			if resp, err := client.Get(w.url("/healthz")); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	warm.Wait()
	jobs := make(chan int, spec.concurrency)
	start := time.Now()
	go func() {
		defer close(jobs)
		for i := 0; ; i++ {
			if spec.count > 0 && i >= spec.count || spec.duration > 0 && time.Since(start) >= spec.duration {
				return
			}
			if spec.rate > 0 {
				// Admissions are paced so that reviews arrive at spec.rate; a late sender catches up.
				due := start.Add(time.Duration(float64(i*perAdmission) / spec.rate * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
			}
			jobs <- i
		}
	}()

	type worker struct {
		reviews, admissions []time.Duration
		byEndpoint          map[string][]time.Duration
		failures            int
		firstFailure        string
	}
	workers := make([]worker, spec.concurrency)
	var wg sync.WaitGroup
	for n := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := &workers[n]
			wk.byEndpoint = map[string][]time.Duration{}
			for i := range jobs {
				t0 := time.Now()
				for _, rv := range spec.admission(i) {
					t := time.Now()
					err := send(client, w, rv)
					took := time.Since(t)
					wk.reviews = append(wk.reviews, took)
					wk.byEndpoint[rv.endpoint] = append(wk.byEndpoint[rv.endpoint], took)
					if err != nil {
						wk.failures++
						if wk.firstFailure == "" {
							wk.firstFailure = err.Error()
						}
						break
					}
				}
				wk.admissions = append(wk.admissions, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	res := &loadResult{elapsed: time.Since(start), byEndpoint: map[string][]time.Duration{}}
	for _, wk := range workers {
		for ep, ds := range wk.byEndpoint {
			res.byEndpoint[ep] = append(res.byEndpoint[ep], ds...)
		}
		res.reviewLatency = append(res.reviewLatency, wk.reviews...)
		res.admissionLatency = append(res.admissionLatency, wk.admissions...)
		res.failures += wk.failures
		if res.firstFailure == "" {
			res.firstFailure = wk.firstFailure
		}
	}
	res.reviews, res.admissions = len(res.reviewLatency), len(res.admissionLatency)
	slices.Sort(res.reviewLatency)
	slices.Sort(res.admissionLatency)
	for _, ds := range res.byEndpoint {
		slices.Sort(ds)
	}
	return res
}

// send posts one review as the API server does (with ?timeout=) and checks that the answer
// admits the object, with a patch when one is due.
func send(c *http.Client, w *webhook, rv review) error {
	resp, err := c.Post(w.url("/"+rv.endpoint+"?timeout=10s"), "application/json", bytes.NewReader(rv.body))
	if err != nil {
		return fmt.Errorf("%s: %w", rv.endpoint, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return fmt.Errorf("%s: reading the answer: %w", rv.endpoint, err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s: %s: %s", rv.endpoint, resp.Status, clip(body))
	case !bytes.Contains(body, []byte(`"allowed":true`)):
		return fmt.Errorf("%s: not allowed: %s", rv.endpoint, clip(body))
	case rv.wantPatch != bytes.Contains(body, []byte(`"patch":"`)):
		return fmt.Errorf("%s: patch expected %v: %s", rv.endpoint, rv.wantPatch, clip(body))
	}
	return nil
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
