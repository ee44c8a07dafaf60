package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signet-dev/signet/test/bench/workload"
)

// sizes are the knobs that differ between the full run and -quick.
type sizes struct {
	loadDuration  time.Duration // each closed-loop or paced run
	concurrency   int           // closed-loop runs
	rate          float64       // the paced run, reviews/s
	rateConns     int           // connections for the paced run
	cold          map[int]int   // containers per Pod → admissions of new images
	delayed       int           // admissions per size with the injected registry delay
	herd          int           // Pods created at once
	policies      []int         // policy (and key) counts
	policyCold    int           // admissions of new images per policy count
	cachedImages  int           // images held in the caches for the memory figure
	peerLibRuns   int           // images verified with the cosign library
	peerCLIRuns   int           // images verified with the cosign CLI
	containerSets []int
}

var fullSizes = sizes{
	loadDuration: 6 * time.Second, concurrency: 8, rate: 1500, rateConns: 32,
	cold: map[int]int{1: 50, 5: 20, 20: 8}, delayed: 4, herd: 200,
	policies: []int{1, 10, 100}, policyCold: 5, cachedImages: 10000,
	peerLibRuns: 20, peerCLIRuns: 5, containerSets: []int{1, 5, 20},
}

var quickSizes = sizes{
	loadDuration: 300 * time.Millisecond, concurrency: 4, rate: 200, rateConns: 4,
	cold: map[int]int{1: 2, 5: 1, 20: 1}, delayed: 1, herd: 10,
	policies: []int{1, 10}, policyCold: 1, cachedImages: 60,
	peerLibRuns: 2, peerCLIRuns: 1, containerSets: []int{1, 5, 20},
}

// injectedDelay is added to every in-process registry answer to count sequential round trips.
const injectedDelay = 20 * time.Millisecond

// row is one measured load run.
type row struct {
	group                 string // which table: "target", "roundtrips", "policies", "memory"
	target, scenario      string
	containers, policies  int
	concurrency           int
	rate                  float64
	res                   *loadResult
	server                histogram
	registry, webhookRegs map[string]float64 // request deltas: at the registry; as signet counted them
	peakRSS               float64
}

// registryPerAdmission renders the registry requests per admission by method and handler.
func (r *row) registryPerAdmission() string {
	if r.scenario == "herd" {
		// What matters is the total: one flight for all the Pods.
		return perAdmission(r.registry, 1) + fmt.Sprintf(" in all, for %d admissions", r.res.admissions)
	}
	return perAdmission(r.registry, r.res.admissions)
}

func perAdmission(reqs map[string]float64, admissions int) string {
	if admissions == 0 {
		return "–"
	}
	var parts []string
	for _, k := range sortedKeys(reqs) {
		if v := reqs[k]; v > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", trimFloat(v/float64(admissions)), k))
		}
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, " · ")
}

// bench holds what every scenario shares.
type bench struct {
	o    *options
	s    sizes
	dir  string
	keys []key
	rep  *report
	logf func(format string, args ...any)
}

// measure runs spec against w and records the client's view, the server histogram, the registry's
// request counts and the webhook's peak RSS during the run.
func (b *bench) measure(w *webhook, t target, r row, spec loadSpec) (*row, error) {
	beforeM, err := w.metrics()
	if err != nil {
		return nil, err
	}
	beforeR, err := t.Requests()
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	var peak float64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if m, err := w.rss(); err == nil && m > peak {
				peak = m
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	res := runLoad(w, spec)
	close(stop)
	wg.Wait()
	afterM, err := w.metrics()
	if err != nil {
		return nil, err
	}
	afterR, err := t.Requests()
	if err != nil {
		return nil, err
	}
	r.target, r.res, r.peakRSS = targetLabel(t), res, peak
	r.concurrency, r.rate = spec.concurrency, spec.rate
	r.server = histogramOf(afterM, "signet_admission_duration_seconds").minus(histogramOf(beforeM, "signet_admission_duration_seconds"))
	r.registry = minus(afterR, beforeR)
	r.webhookRegs = minus(counterBy(afterM, "signet_registry_requests_total", "method"), counterBy(beforeM, "signet_registry_requests_total", "method"))
	b.rep.rows = append(b.rep.rows, &r)
	b.logf("  %-10s %-14s containers=%-2d policies=%-3d conc=%-3d reviews=%-6d %7.0f reviews/s  client p50 %-9s p99 %-9s server p50 %s  registry/admission: %s%s",
		r.target, r.scenario, r.containers, r.policies, spec.concurrency, res.reviews, res.reviewsPerSecond(),
		ms(percentile(res.reviewLatency, .5)), ms(percentile(res.reviewLatency, .99)), secs(r.server.quantile(.5)),
		r.registryPerAdmission(), failureNote(res))
	if res.failures > 0 {
		b.rep.failures = append(b.rep.failures, fmt.Sprintf("%s %s (%d containers): %d failed reviews; first: %s", r.target, r.scenario, r.containers, res.failures, res.firstFailure))
	}
	return &r, nil
}

func failureNote(res *loadResult) string {
	if res.failures == 0 {
		return ""
	}
	return fmt.Sprintf("  FAILURES %d: %s", res.failures, res.firstFailure)
}

func minus(after, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func targetLabel(t target) string {
	if _, ok := t.(*inProcess); ok {
		return "in-process"
	}
	return "distribution"
}

// podAdmission is the API server's traffic for creating a Pod of imgs, one container each:
// /mutate with tags (signet pins them), then /validate with the pinned Pod.
func podAdmission(imgs []image) []review {
	return []review{
		{endpoint: "mutate", body: workload.Review("bench-uid", "Pod", "bench", "app", workload.Pod("bench", "app", tags(imgs)...)), wantPatch: true},
		{endpoint: "validate", body: workload.Review("bench-uid", "Pod", "bench", "app", workload.Pod("bench", "app", pinned(imgs)...))},
	}
}

// pinnedPodAdmission is a Pod whose images are already pinned, as a Deployment's Pods are once
// signet pinned the Deployment: /mutate has nothing to pin.
func pinnedPodAdmission(imgs []image) []review {
	body := workload.Review("bench-uid", "Pod", "bench", "app", workload.Pod("bench", "app", pinned(imgs)...))
	return []review{{endpoint: "mutate", body: body}, {endpoint: "validate", body: body}}
}

func same(reviews []review) func(int) []review { return func(int) []review { return reviews } }

// fresh gives admission i the images imgs[i*n:(i+1)*n]: new digests every time.
func fresh(imgs []image, n int) func(int) []review {
	return func(i int) []review { return podAdmission(imgs[i*n : (i+1)*n]) }
}

func (b *bench) startWebhook(name string, args ...string) (*webhook, error) {
	return startWebhook(b.o.webhookBin, filepath.Join(b.dir, "webhooks", name), args...)
}

// runTarget measures warm, semi-warm, cold and the thundering herd against one registry, and the
// peers side by side.
func (b *bench) runTarget(ctx context.Context, t target) error {
	label := targetLabel(t)
	m, err := newImageMaker(t)
	if err != nil {
		return err
	}
	key0 := b.keys[:1]
	pol, err := writePolicies(filepath.Join(b.dir, label), t.Host(), key0)
	if err != nil {
		return err
	}
	common := []string{"--policy", pol, "--registry-ca-file", t.CAFile()}
	maxN := b.s.containerSets[len(b.s.containerSets)-1]

	b.logf("%s: pushing and signing %d images for the warm runs", label, maxN)
	warm, err := m.push(ctx, "bench/warm/app", maxN, key0)
	if err != nil {
		return err
	}
	w, err := b.startWebhook(label+"-warm", common...)
	if err != nil {
		return err
	}
	if label == "in-process" {
		if b.rep.idle, err = w.memory(); err != nil {
			return err
		}
	}
	for _, n := range b.s.containerSets {
		adm := podAdmission(warm[:n])
		if err := prime(w, adm); err != nil {
			return err
		}
		r, err := b.measure(w, t, row{group: "target", scenario: "warm", containers: n, policies: 1}, loadSpec{concurrency: b.s.concurrency, duration: b.s.loadDuration, admission: same(adm)})
		if err != nil {
			return err
		}
		if n == 1 && label == "in-process" {
			b.rep.underLoad = r.peakRSS
		}
	}
	if _, err := b.measure(w, t, row{group: "target", scenario: "warm, paced", containers: 1, policies: 1},
		loadSpec{concurrency: b.s.rateConns, rate: b.s.rate, duration: b.s.loadDuration, admission: same(podAdmission(warm[:1]))}); err != nil {
		return err
	}
	if err := w.stop(); err != nil {
		return err
	}

	w, err = b.startWebhook(label+"-semiwarm", append(common, "--tag-cache-ttl", "0")...)
	if err != nil {
		return err
	}
	for _, n := range b.s.containerSets {
		adm := podAdmission(warm[:n])
		if err := prime(w, adm); err != nil {
			return err
		}
		if _, err := b.measure(w, t, row{group: "target", scenario: "semi-warm", containers: n, policies: 1}, loadSpec{concurrency: b.s.concurrency, duration: b.s.loadDuration, admission: same(adm)}); err != nil {
			return err
		}
	}
	if err := w.stop(); err != nil {
		return err
	}

	w, err = b.startWebhook(label+"-cold", common...)
	if err != nil {
		return err
	}
	for _, n := range b.s.containerSets {
		count := b.s.cold[n]
		b.logf("%s: pushing and signing %d new images for cold Pods of %d", label, n*count, n)
		imgs, err := m.push(ctx, fmt.Sprintf("bench/cold%d/app", n), n*count, key0)
		if err != nil {
			return err
		}
		if _, err := b.measure(w, t, row{group: "target", scenario: "cold", containers: n, policies: 1}, loadSpec{concurrency: 1, count: count, admission: fresh(imgs, n)}); err != nil {
			return err
		}
	}
	if err := w.stop(); err != nil {
		return err
	}

	herd, err := m.push(ctx, "bench/herd/app", 1, key0)
	if err != nil {
		return err
	}
	w, err = b.startWebhook(label+"-herd", common...)
	if err != nil {
		return err
	}
	if _, err := b.measure(w, t, row{group: "target", scenario: "herd", containers: 1, policies: 1},
		loadSpec{concurrency: b.s.herd, count: b.s.herd, admission: same(pinnedPodAdmission(herd))}); err != nil {
		return err
	}
	if err := w.stop(); err != nil {
		return err
	}
	return b.runPeers(ctx, t, m)
}

// prime sends one admission so that the caches hold its images, and fails when it is not admitted.
func prime(w *webhook, adm []review) error {
	res := runLoad(w, loadSpec{concurrency: 1, count: 1, admission: same(adm)})
	if res.failures > 0 {
		return fmt.Errorf("warming up: %s", res.firstFailure)
	}
	return nil
}

// runRoundTrips measures cold admissions with injectedDelay before every registry answer: the
// latency of each review divided by the delay is the number of sequential round trips.
func (b *bench) runRoundTrips(ctx context.Context, t *inProcess) error {
	m, err := newImageMaker(t)
	if err != nil {
		return err
	}
	pol, err := writePolicies(filepath.Join(b.dir, "roundtrips"), t.Host(), b.keys[:1])
	if err != nil {
		return err
	}
	w, err := b.startWebhook("roundtrips", "--policy", pol, "--registry-ca-file", t.CAFile())
	if err != nil {
		return err
	}
	defer w.stop()
	for _, n := range b.s.containerSets {
		imgs, err := m.push(ctx, fmt.Sprintf("bench/rt%d/app", n), n*b.s.delayed, b.keys[:1])
		if err != nil {
			return err
		}
		t.setDelay(injectedDelay)
		r, err := b.measure(w, t, row{group: "roundtrips", scenario: "cold, +20ms/request", containers: n, policies: 1}, loadSpec{concurrency: 1, count: b.s.delayed, admission: fresh(imgs, n)})
		t.setDelay(0)
		if err != nil {
			return err
		}
		b.rep.roundTrips = append(b.rep.roundTrips, r)
	}
	return w.stop()
}

// runPolicies measures 1, 10 and 100 policies, each with its own key, all matching the image,
// which is signed by every key: cold (registry requests: signatures must be fetched once) and warm.
func (b *bench) runPolicies(ctx context.Context, t target) error {
	m, err := newImageMaker(t)
	if err != nil {
		return err
	}
	for _, n := range b.s.policies {
		keys := b.keys[:n]
		b.logf("policies: pushing %d images signed by %d keys", 1+b.s.policyCold, n)
		imgs, err := m.push(ctx, fmt.Sprintf("bench/pol%d/app", n), 1+b.s.policyCold, keys)
		if err != nil {
			return err
		}
		pol, err := writePolicies(filepath.Join(b.dir, "policies"), t.Host(), keys)
		if err != nil {
			return err
		}
		w, err := b.startWebhook(fmt.Sprintf("policies-%d", n), "--policy", pol, "--registry-ca-file", t.CAFile(), "--max-signatures", strconv.Itoa(max(32, n)))
		if err != nil {
			return err
		}
		if _, err := b.measure(w, t, row{group: "policies", scenario: "cold", containers: 1, policies: n}, loadSpec{concurrency: 1, count: b.s.policyCold, admission: fresh(imgs[1:], 1)}); err != nil {
			w.stop()
			return err
		}
		adm := podAdmission(imgs[:1])
		if err := prime(w, adm); err != nil {
			w.stop()
			return err
		}
		if _, err := b.measure(w, t, row{group: "policies", scenario: "warm", containers: 1, policies: n}, loadSpec{concurrency: b.s.concurrency, duration: b.s.loadDuration, admission: same(adm)}); err != nil {
			w.stop()
			return err
		}
		if err := w.stop(); err != nil {
			return err
		}
	}
	return nil
}

// runMemory fills a webhook's caches with cachedImages distinct signed images (Pods of 20) and
// reads its memory.
func (b *bench) runMemory(ctx context.Context, t target) error {
	m, err := newImageMaker(t)
	if err != nil {
		return err
	}
	b.logf("memory: pushing and signing %d images", b.s.cachedImages)
	start := time.Now()
	imgs, err := m.push(ctx, "bench/mem/app", b.s.cachedImages, b.keys[:1])
	if err != nil {
		return err
	}
	b.logf("memory: pushed in %s", time.Since(start).Round(time.Millisecond))
	pol, err := writePolicies(filepath.Join(b.dir, "memory"), t.Host(), b.keys[:1])
	if err != nil {
		return err
	}
	w, err := b.startWebhook("memory", "--policy", pol, "--registry-ca-file", t.CAFile())
	if err != nil {
		return err
	}
	defer w.stop()
	const perPod = 20
	if _, err := b.measure(w, t, row{group: "memory", scenario: fmt.Sprintf("fill %d images", len(imgs)), containers: perPod, policies: 1},
		loadSpec{concurrency: 4, count: len(imgs) / perPod, admission: fresh(imgs, perPod)}); err != nil {
		return err
	}
	b.rep.cachedImages = len(imgs) / perPod * perPod
	if b.rep.cached, err = w.memory(); err != nil {
		return err
	}
	return w.stop()
}
