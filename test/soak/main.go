// Command soak drives mixed cached and uncached admission reviews against a real signet-webhook
// process for a bounded time while the registry it reads flaps between healthy, 503 and stalled,
// samples the process's memory, goroutines and open file descriptors, and writes a report.
// It exits non-zero on any unexpected denial, allow or error, or when file descriptors or memory
// grow. `make soak` runs it (SOAK_DURATION, default 2m) and writes docs/soak.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	def := 2 * time.Minute
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			fatalf("SOAK_DURATION=%q: %v; use a Go duration such as 2m", v, err)
		}
		def = d
	}
	bin := flag.String("webhook", "bin/signet-webhook", "signet-webhook binary (make build)")
	duration := flag.Duration("duration", def, "how long to drive reviews (default SOAK_DURATION or 2m)")
	out := flag.String("out", "", "write the markdown report here (default: standard output only)")
	workers := flag.Int("workers", 4, "concurrent reviewers, each with its own kept-alive connection")
	pause := flag.Duration("pause", 20*time.Millisecond, "pause between one worker's reviews")
	every := flag.Duration("sample", 3*time.Second, "how often the process is sampled")
	flag.Parse()
	if *duration < cycleLength() {
		fatalf("-duration %s is shorter than one flap cycle (%s)", *duration, cycleLength())
	}

	dir, err := os.MkdirTemp("", "signet-soak-")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(dir)
	reg, err := newFlapping(dir)
	if err != nil {
		fatalf("registry: %v", err)
	}
	defer reg.srv.Close()
	priv, pub, err := newKey()
	if err != nil {
		fatalf("%v", err)
	}
	ctx := context.Background()
	var imgs images
	for i := range 4 {
		imgs.hot = append(imgs.hot, must(reg.push(ctx, fmt.Sprintf("apps/hot-%d:v1", i), priv)))
	}
	for i := range 300 {
		imgs.cold = append(imgs.cold, must(reg.push(ctx, fmt.Sprintf("apps/cold-%d:v1", i), priv)))
	}
	for i := range 3 {
		imgs.unsigned = append(imgs.unsigned, must(reg.push(ctx, fmt.Sprintf("apps/unsigned-%d:v1", i), nil)))
	}
	policyFile := filepath.Join(dir, "policy.yaml")
	pol := fmt.Sprintf("apiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: soak}\nspec:\n  images: [{glob: %q}]\n  failurePolicy: closed\n  authorities: [{key: {data: %q}}]\n", reg.host+"/apps/**", pub)
	if err := os.WriteFile(policyFile, []byte(pol), 0o644); err != nil {
		fatalf("%v", err)
	}
	cfg := settings{
		duration: *duration, workers: *workers, pause: *pause, timeout: 3 * time.Second, every: *every,
		flags: []string{"--policy", policyFile, "--registry-ca-file", reg.caFile, "--tag-cache-ttl", "3s", "--verdict-pass-ttl", "3s"},
		hot:   len(imgs.hot), cold: len(imgs.cold), unsigned: len(imgs.unsigned),
	}
	w, err := startWebhook(*bin, dir, cfg.flags...)
	if err != nil {
		fatalf("%v", err)
	}

	start := time.Now()
	reg.begin(start)
	stop := make(chan struct{})
	samples := make(chan []sample, 1)
	go func() {
		var got []sample
		tick := time.NewTicker(*every)
		defer tick.Stop()
		for {
			s, err := w.sample()
			if err != nil {
				fmt.Fprintf(os.Stderr, "soak: sampling: %v\n", err)
			} else {
				s.at, s.phase = time.Since(start), phaseAt(start, time.Now())
				got = append(got, s)
			}
			select {
			case <-stop:
				samples <- got
				return
			case <-tick.C:
			}
		}
	}()
	time.AfterFunc(*duration, func() { close(stop) })
	outcomes := drive(w, imgs, *workers, *pause, cfg.timeout, stop)
	got := <-samples
	if s, err := w.sample(); err == nil {
		s.at, s.phase = time.Since(start), phaseAt(start, time.Now())
		got = append(got, s)
	}
	stopErr := w.stop()

	r := summarize(cfg, start, outcomes, got, reg, stopErr)
	text := r.markdown()
	fmt.Print(text)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
			fatalf("writing %s: %v", *out, err)
		}
	}
	if !r.passed() {
		fmt.Fprintf(os.Stderr, "soak: FAILED (webhook log kept at %s)\n", keepLog(w.LogFile))
		os.Exit(1)
	}
}

// keepLog copies the webhook's log out of the temporary directory, for a failed run.
func keepLog(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return path
	}
	f, err := os.CreateTemp("", "signet-soak-webhook-*.log")
	if err != nil {
		return path
	}
	defer f.Close()
	f.Write(data)
	return f.Name()
}

func must(s string, err error) string {
	if err != nil {
		fatalf("%v", err)
	}
	return s
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "soak: "+format+"\n", args...)
	os.Exit(2)
}
