package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// report is everything docs/benchmarks.md shows.
type report struct {
	quick             bool
	started, finished time.Time
	loadStart         string
	loadEnd           string
	settings          []string
	micro             string
	rows              []*row
	roundTrips        []*row
	peers             []*peerResult
	idle, cached      memory
	underLoad         float64
	cachedImages      int
	failures          []string
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotal() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return fmt.Sprintf("%.1f GiB", kb/(1<<20))
		}
	}
	return "unknown"
}

func goVersion() string {
	out, err := exec.Command("go", "version").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func kernel() string {
	data, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return "Linux " + strings.TrimSpace(string(data))
}

// find returns the first row of the scenario tables matching.
func (rep *report) find(target, scenario string, containers int) *row {
	for _, r := range rep.rows {
		if r.group == "target" && r.target == target && r.scenario == scenario && r.containers == containers {
			return r
		}
	}
	return nil
}

func (rep *report) peer(target, how string) *peerResult {
	for _, p := range rep.peers {
		if p.target == target && strings.HasPrefix(p.how, how) {
			return p
		}
	}
	return nil
}

// markdown renders docs/benchmarks.md.
func (rep *report) markdown() []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# signet benchmarks")
	p("")
	p("Written by `make bench` (`go run ./test/bench`); every figure below comes from the run described here. Regenerate")
	p("rather than edit. Latencies are wall-clock on a shared machine: read them with the load average next to them.")
	if rep.quick {
		p("")
		p("**This is a -quick run** (a smoke test of the harness): the figures are too short to mean anything.")
	}
	p("")
	p("## Machine and settings")
	p("")
	p("| | |")
	p("|---|---|")
	p("| CPUs (`nproc`) | %d |", runtime.NumCPU())
	p("| CPU model | %s |", cpuModel())
	p("| Memory | %s |", memTotal())
	p("| Kernel | %s |", kernel())
	p("| Go | %s |", goVersion())
	p("| Run | %s, %s |", rep.started.UTC().Format("2006-01-02 15:04 MST"), rep.finished.Sub(rep.started).Round(time.Second))
	p("| Load average (1, 5, 15 min) | %s at the start, %s at the end |", rep.loadStart, rep.loadEnd)
	for _, s := range rep.settings {
		p("| %s |", s)
	}
	p("")
	rep.targets(p)
	rep.scenarioTables(p)
	rep.roundTripTable(p)
	rep.policyTable(p)
	rep.memoryTable(p)
	rep.peerTable(p)
	b.WriteString(notes)
	if rep.micro != "" {
		p("## Micro benchmarks")
		p("")
		p("`go test -run '^$' -bench . -benchmem` over pkg/: one AdmissionReview through the HTTP handler with warm caches")
		p("(decode, walk, policy match, cache lookups, patch or verdicts, encode; no TLS), the image walk alone, and")
		p("pkg/verify's own benchmarks.")
		p("")
		p("```")
		b.WriteString(strings.TrimSpace(rep.micro))
		p("")
		p("```")
		p("")
	}
	if len(rep.failures) > 0 {
		p("## Failures")
		p("")
		for _, f := range rep.failures {
			p("- %s", f)
		}
		p("")
	}
	return b.Bytes()
}

type printer func(format string, args ...any)

// targets is the list of targets with what this run reached next to each.
func (rep *report) targets(p printer) {
	p("## Targets and what this run reached")
	p("")
	p("Targets from issue #9 (2 cores, loopback registry). Server-side latencies come from the webhook's")
	p("`signet_admission_duration_seconds` histogram (interpolated inside its buckets, as `histogram_quantile` does);")
	p("client-side ones from the load generator, TLS and HTTP included. One admission is the API server's /mutate")
	p("call followed by its /validate call for one Pod.")
	p("")
	p("| target | reached | |")
	p("|---|---|---|")
	for _, tl := range []string{"in-process", "distribution"} {
		if r := rep.find(tl, "warm", 1); r != nil {
			p50, p99 := r.server.quantile(.5), r.server.quantile(.99)
			p("| warm: server p50 ≤ 0.5 ms, p99 ≤ 3 ms (%s, 1 container) | p50 %s, p99 %s | %s |", tl, secs(p50), secs(p99), verdict(p50 <= 0.0005 && p99 <= 0.003))
		}
	}
	for _, tl := range []string{"in-process", "distribution"} {
		if r := rep.find(tl, "warm, paced", 1); r != nil {
			got, p99 := r.res.reviewsPerSecond(), percentile(r.res.reviewLatency, .99)
			p("| warm: ≥ 1,500 reviews/s with client p99 ≤ 25 ms (%s, paced at %.0f/s over %d connections) | %.0f reviews/s, client p99 %s | %s |",
				tl, r.rate, r.concurrency, got, ms(p99), verdict(got >= 1500*0.98 && p99 <= 25*time.Millisecond))
		}
	}
	if len(rep.roundTrips) > 0 {
		var parts []string
		worst := 0.0
		for _, r := range rep.roundTrips {
			rt := rep.tripsOf(r)
			worst = math.Max(worst, rt)
			parts = append(parts, fmt.Sprintf("%d containers: %.1f", r.containers, rt))
		}
		p("| cold: ≤ 4 sequential registry round trips per admission whatever the number of containers | %s | %s |", strings.Join(parts, "; "), verdict(worst <= 4.5))
	}
	for _, tl := range []string{"in-process", "distribution"} {
		var parts []string
		ok := true
		for _, n := range []int{1, 5} {
			if r := rep.find(tl, "cold", n); r != nil {
				p50 := percentile(r.res.admissionLatency, .5)
				ok = ok && p50 <= 10*time.Millisecond
				parts = append(parts, fmt.Sprintf("%d images: %s", n, ms(p50)))
			}
		}
		if len(parts) > 0 {
			p("| cold: p50 ≤ 10 ms for 1–10 distinct images (%s, per admission) | %s | %s |", tl, strings.Join(parts, "; "), verdict(ok))
		}
	}
	if r := rep.find("in-process", "semi-warm", 20); r != nil {
		heads := r.registry["HEAD manifest"] / float64(r.res.admissions)
		w := rep.find("in-process", "warm", 20)
		warmReqs := 0.0
		if w != nil {
			warmReqs = sum(w.registry)
		}
		p("| registry: ≤ 1 HEAD per distinct tag per TTL | warm (TTL 30 s): %s requests in %d admissions; TTL 0: %s HEAD per admission of 20 tags | %s |",
			trimFloat(warmReqs), w.admissionsOr0(), trimFloat(heads), verdict(warmReqs == 0 && heads <= 20))
	}
	getImage := 0.0
	for _, r := range rep.rows {
		if r.target == "in-process" {
			getImage += r.registry["GET manifest"]
		}
	}
	p("| registry: no GET of image manifests on the happy path | %s image-manifest GETs in every in-process run (signature manifests counted apart) | %s |", trimFloat(getImage), verdict(getImage == 0))
	var sigParts []string
	sigOK := true
	for _, r := range rep.rows {
		if r.group == "policies" && r.scenario == "cold" {
			n := r.registry["GET signature manifest"] / float64(r.res.admissions)
			sigOK = sigOK && n <= 1
			sigParts = append(sigParts, fmt.Sprintf("%d policies: %s", r.policies, trimFloat(n)))
		}
	}
	if h := rep.find("in-process", "herd", 1); h != nil {
		n := h.registry["GET signature manifest"]
		sigOK = sigOK && n <= 1
		sigParts = append(sigParts, fmt.Sprintf("%d Pods at once: %s in all", h.res.admissions, trimFloat(n)))
	}
	if len(sigParts) > 0 {
		p("| registry: signatures fetched once per digest whatever the number of policies and keys (signature-manifest GETs per new digest) | %s | %s |", strings.Join(sigParts, "; "), verdict(sigOK))
	}
	if rep.idle.rss > 0 {
		p("| memory: idle RSS ≤ 30 MiB | %s (%s anonymous, %s file-backed executable pages; Go heap in use %s) | %s |",
			mib(rep.idle.rss), mib(rep.idle.rssAnon), mib(rep.idle.rssFile), mib(rep.idle.heapInuse), verdict(rep.idle.rss <= 30<<20))
	}
	if rep.cached.rss > 0 {
		p("| memory: ≤ 64 MiB with 10,000 cached images | %s with %d images (%s anonymous; Go heap in use %s) | %s |",
			mib(rep.cached.rss), rep.cachedImages, mib(rep.cached.rssAnon), mib(rep.cached.heapInuse), verdict(rep.cached.rss <= 64<<20 && rep.cachedImages >= 10000))
	}
	p("")
}

func (r *row) admissionsOr0() int {
	if r == nil {
		return 0
	}
	return r.res.admissions
}

// tripsOf counts the sequential round trips of r's admissions: the median latency the injected
// delay added (over the same cold admission without it), in units of the delay.
func (rep *report) tripsOf(r *row) float64 {
	added := percentile(r.res.admissionLatency, .5)
	if base := rep.find("in-process", "cold", r.containers); base != nil {
		added -= percentile(base.res.admissionLatency, .5)
	}
	return float64(added) / float64(injectedDelay)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func (rep *report) scenarioTables(p printer) {
	p("## Scenarios")
	p("")
	p("Warm: every tag, digest and verdict cached. Semi-warm: `--tag-cache-ttl 0`, so every admission resolves each tag")
	p("again (HEAD) while verdicts stay cached. Cold: every admission names images the webhook has never seen (new")
	p("digests), one admission at a time. Herd: a Deployment scaled to N Pods at once: N Pod CREATE admissions of the")
	p("same pinned, never-seen image, all in flight together. Closed-loop runs keep `conc.` admissions in flight, each")
	p("on its own keep-alive TLS connection; the paced run sends at a fixed rate. Registry requests are counted at the")
	p("registry (in-process: a wrapper around its handler; distribution: its own Prometheus counters) and divided by")
	p("admissions; `signature manifest` is the `sha256-….sig` tag (in-process only: distribution counts it as `manifest`).")
	p("")
	for _, tl := range []string{"in-process", "distribution"} {
		var rows []*row
		for _, r := range rep.rows {
			if r.target == tl && r.group == "target" {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		p("### Against the %s registry", tl)
		p("")
		p("| scenario | containers | conc. | reviews | reviews/s | client p50 | p90 | p99 | max | admission p50 | server p50 | p90 | p99 | registry requests per admission |")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
		for _, r := range rows {
			p("| %s | %d | %d | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s |", scenarioName(r), r.containers, r.concurrency, r.res.reviews, r.res.reviewsPerSecond(),
				ms(percentile(r.res.reviewLatency, .5)), ms(percentile(r.res.reviewLatency, .9)), ms(percentile(r.res.reviewLatency, .99)), ms(percentile(r.res.reviewLatency, 1)),
				ms(percentile(r.res.admissionLatency, .5)),
				secs(r.server.quantile(.5)), secs(r.server.quantile(.9)), secs(r.server.quantile(.99)), r.registryPerAdmission())
		}
		p("")
		if counted := webhookCounted(rows); counted != "" {
			p("As signet-webhook counted its own registry requests (`signet_registry_requests_total`), per admission: %s.", counted)
			p("")
		}
	}
}

func scenarioName(r *row) string {
	if r.rate > 0 {
		return fmt.Sprintf("%s at %.0f/s", r.scenario, r.rate)
	}
	return r.scenario
}

// webhookCounted renders the webhook's own request counts for the cold rows, when it exports them.
func webhookCounted(rows []*row) string {
	var parts []string
	for _, r := range rows {
		if r.scenario == "cold" && len(r.webhookRegs) > 0 {
			parts = append(parts, fmt.Sprintf("cold, %d containers: %s", r.containers, perAdmission(r.webhookRegs, r.res.admissions)))
		}
	}
	return strings.Join(parts, "; ")
}

func (rep *report) roundTripTable(p printer) {
	if len(rep.roundTrips) == 0 {
		return
	}
	p("## Sequential registry round trips (cold)")
	p("")
	p("The in-process registry waits %s before every answer; the median latency this adds to a cold admission (over", injectedDelay)
	p("the cold row above), divided by the delay, counts the registry round trips on its critical path: requests made in")
	p("parallel count once.")
	p("")
	p("| containers | admissions | /mutate p50 | /validate p50 | admission p50 | round trips per admission | registry requests per admission |")
	p("|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rep.roundTrips {
		p("| %d | %d | %s | %s | %s | %.1f | %s |", r.containers, r.res.admissions, ms(percentile(r.res.byEndpoint["mutate"], .5)), ms(percentile(r.res.byEndpoint["validate"], .5)),
			ms(percentile(r.res.admissionLatency, .5)), rep.tripsOf(r), r.registryPerAdmission())
	}
	p("")
}

func (rep *report) policyTable(p printer) {
	var rows []*row
	for _, r := range rep.rows {
		if r.group == "policies" {
			rows = append(rows, r)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].policies != rows[j].policies {
			return rows[i].policies < rows[j].policies
		}
		return rows[i].scenario < rows[j].scenario
	})
	if len(rows) == 0 {
		return
	}
	p("## Policies and keys")
	p("")
	p("N policies, policy i trusting key i, all matching the image, which carries N signatures (one per key): every")
	p("policy must pass. In-process registry, one container per Pod.")
	p("")
	p("| policies and keys | scenario | conc. | reviews | reviews/s | client p50 | p99 | admission p50 | server p50 | p99 | registry requests per admission |")
	p("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		p("| %d | %s | %d | %d | %.0f | %s | %s | %s | %s | %s | %s |", r.policies, r.scenario, r.concurrency, r.res.reviews, r.res.reviewsPerSecond(),
			ms(percentile(r.res.reviewLatency, .5)), ms(percentile(r.res.reviewLatency, .99)), ms(percentile(r.res.admissionLatency, .5)),
			secs(r.server.quantile(.5)), secs(r.server.quantile(.99)), r.registryPerAdmission())
	}
	p("")
}

func (rep *report) memoryTable(p printer) {
	if rep.idle.rss == 0 {
		return
	}
	p("## Memory")
	p("")
	p("RSS from `/proc/PID/status` (VmRSS), Go heap from the webhook's `go_memstats_heap_inuse_bytes`.")
	p("")
	p("RSS splits into anonymous memory (heap, stacks, runtime) and file-backed pages of the executable that were")
	p("touched (clean, shared with the page cache, reclaimable).")
	p("")
	p("| state | RSS | of which anonymous | of which file-backed | Go heap in use |")
	p("|---|---:|---:|---:|---:|")
	p("| idle (started, policies loaded, no review yet) | %s | %s | %s | %s |", mib(rep.idle.rss), mib(rep.idle.rssAnon), mib(rep.idle.rssFile), mib(rep.idle.heapInuse))
	if rep.underLoad > 0 {
		p("| under load (peak RSS sampled every 100 ms during the warm 1-container run) | %s | – | – | – |", mib(rep.underLoad))
	}
	if rep.cached.rss > 0 {
		p("| after reviewing %d distinct signed images (tag, digest, signature and verdict caches holding them) | %s | %s | %s | %s |",
			rep.cachedImages, mib(rep.cached.rss), mib(rep.cached.rssAnon), mib(rep.cached.rssFile), mib(rep.cached.heapInuse))
	}
	if r := rep.findGroup("memory"); r != nil {
		p("")
		p("Filling the caches: %d cold admissions of 20 new images each, %d at a time: %.0f images/s, admission p50 %s, p99 %s; registry requests per image: %s.",
			r.res.admissions, r.concurrency, float64(r.res.admissions*20)/r.res.elapsed.Seconds(), ms(percentile(r.res.admissionLatency, .5)), ms(percentile(r.res.admissionLatency, .99)),
			perAdmission(r.registry, r.res.admissions*20))
	}
	p("")
}

func (rep *report) findGroup(group string) *row {
	for _, r := range rep.rows {
		if r.group == group {
			return r
		}
	}
	return nil
}

func (rep *report) peerTable(p printer) {
	if len(rep.peers) == 0 {
		return
	}
	p("## Side by side with the peers")
	p("")
	p("Verifying one new image (never seen before: a new digest), one at a time, same registry, same kind of image (one")
	p("legacy cosign signature, ECDSA P-256 key), in the same run:")
	p("")
	p("- signet library: `resolver.Resolve` (HEAD) then `verify.Verify` in this process, wired as cmd/webhook wires them;")
	p("- cosign library: a GET of the tag's manifest, then `cosign.VerifyImageSignatures` with the key, transparency log")
	p("  ignored, claims checked, over one keep-alive transport: what policy-controller does for a key authority;")
	p("- cosign CLI: `cosign verify --key cosign.pub --insecure-ignore-tlog --new-bundle-format=false --registry-cacert CA")
	p("  IMAGE`, a new process per image;")
	p("- signet webhook: the cold and the paced warm one-container admissions above (/mutate resolves and pins,")
	p("  /validate verifies; TLS, HTTP and JSON included).")
	p("")
	p("Ratios are the row's median over signet's: above 1 is slower than signet.")
	p("")
	p("| registry | how | images | p50 | p90 | max | registry requests per image | ÷ signet library | ÷ signet webhook, cold |")
	p("|---|---|---:|---:|---:|---:|---|---:|---:|")
	for _, tl := range []string{"in-process", "distribution"} {
		lib := rep.peer(tl, "signet library")
		cold, warm := rep.find(tl, "cold", 1), rep.find(tl, "warm, paced", 1)
		if lib == nil || cold == nil || warm == nil {
			continue
		}
		libP50, coldP50 := percentile(lib.latency, .5), percentile(cold.res.admissionLatency, .5)
		ratio := func(d time.Duration) string {
			return fmt.Sprintf("%.1f× | %.1f×", float64(d)/float64(libP50), float64(d)/float64(coldP50))
		}
		p("| %s | signet webhook, cold admission | %d | %s | %s | %s | %s | %s |", tl, cold.res.admissions, ms(coldP50),
			ms(percentile(cold.res.admissionLatency, .9)), ms(percentile(cold.res.admissionLatency, 1)), cold.registryPerAdmission(), ratio(coldP50))
		warmP50 := percentile(warm.res.admissionLatency, .5)
		p("| %s | signet webhook, warm admission (paced at %.0f reviews/s) | %d | %s | %s | %s | %s | %s |", tl, warm.rate, warm.res.admissions, ms(warmP50),
			ms(percentile(warm.res.admissionLatency, .9)), ms(percentile(warm.res.admissionLatency, 1)), warm.registryPerAdmission(), ratio(warmP50))
		for _, pr := range rep.peers {
			if pr.target != tl {
				continue
			}
			p50 := percentile(pr.latency, .5)
			p("| %s | %s | %d | %s | %s | %s | %s | %s |", tl, pr.how, pr.runs, ms(p50), ms(percentile(pr.latency, .9)), ms(percentile(pr.latency, 1)),
				perAdmission(pr.registry, pr.runs), ratio(p50))
		}
	}
	p("")
}

func sum(m map[string]float64) float64 {
	var s float64
	for _, v := range m {
		s += v
	}
	return s
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func trimFloat(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-0" {
		return "0"
	}
	return s
}

func ms(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func secs(s float64) string {
	if math.IsNaN(s) {
		return "–"
	}
	return ms(time.Duration(s * float64(time.Second)))
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

// notes are written by hand, when the benchmarks were added: what the profiles showed, what was
// fixed, and why some targets cannot be met by tuning. Check them against the figures above.
const notes = `## Notes from profiling (hand-written; check against the figures above)

Fixed while writing these benchmarks:

- **Deadlock against registries without the referrers API** (CNCF distribution, and so most self-hosted
  registries): the resolver's per-host limit (16 requests) held a slot until a response body was closed, and
  go-containerregistry keeps the body of a referrers-API 404 open while it asks for the ` + "`sha256-<hex>`" + ` fallback
  tag. Sixteen new digests verified at once (one Pod of 20 new images, or 16 Pods of one) took every slot and
  waited for a second one: every review timed out at the API server's deadline. pkg/resolver now frees the
  slot of a failed response as soon as its headers arrive (regression test:
  pkg/resolver/limiter_test.go). Before: the cold 20-container run against distribution denied with
  "timed out"; after: it passes.
- **Warm-path allocations**: pkg/admission built a ` + "`strings.Replacer`" + ` for every JSON-pointer token of every image
  (half of a warm review's allocated bytes in the CPU and memory profiles), and parsed each image reference
  twice. Allocations per warm /mutate review, before → after: Pod of 1: 62.6 KB → 35.2 KB (301 → 265
  allocations); Pod of 20: 800 KB → 252 KB (1,973 → 1,254 allocations).

Where the time goes now, and why some targets are missed:

- **Warm reviews** are dominated by JSON: in the CPU profile of a warm one-container review, ` + "`encoding/json`" + `
  is about two thirds of the handler's time. The object is decoded by the handler, then walked twice (images,
  then pull secrets), and each walk decodes ` + "`map[string]json.RawMessage`" + ` level by level, re-validating the
  nested bytes every time. One typed decode of the pod-spec path shared by both walks would remove most of it.
- **Cold round trips grow with containers** because of the per-host limit, not the critical path: an image
  needs a ping and a HEAD (/mutate), then the referrers list and the signature manifest in parallel, then the
  signature blob (/validate): 4 round trips, met for one container. A Pod of 20 new images makes about 100
  requests to one host, which 16 slots serve in waves. Raising the limit (resolver.WithMaxConcurrencyPerHost;
  no webhook flag yet) trades registry politeness for latency. go-containerregistry also pings once per new
  repository, not once per registry.
- **Idle RSS** is mostly file-backed pages of the executable (see the memory table): the binary links
  client-go, cosign and sigstore-go, and their package initialisation touches them. The anonymous part (heap,
  stacks) is what signet's own code and caches control.
- **10,000 cached images** grow the Go heap by about 4 KB per image. An in-process heap profile of the resolver and
  verifier alone (3,000 images) attributes under 2 KB per image to them (tag and digest cache entries, parsed
  signatures, verdicts); the rest is not attributed yet. Every benchmark image lives in its own repository,
  and go-containerregistry keeps per-repository state (a transport per repository in each Puller).
  signet-webhook has no pprof endpoint; an opt-in one would let this be profiled in place.
- **Many policies and signatures**: a legacy cosign signature names no key, so a policy must try its key
  against each signature until one verifies. 100 policies with one key each on an image carrying 100
  signatures cost about 5,000 ECDSA verifications (about half a second of CPU on this machine) on the first
  admission of that digest; later ones hit the verdict cache.

`
