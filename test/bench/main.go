// Command bench measures signet-webhook on the admission path and writes docs/benchmarks.md: a
// load generator drives the real signet-webhook process over keep-alive TLS, as the API server
// does, against an in-process registry and against the CNCF distribution registry process, and
// verifies the same kind of image the way signet's peers do, side by side. `make bench` runs it;
// `-quick` runs every scenario once, briefly, to prove the harness still works (make test).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

type options struct {
	webhookBin string
	toolsDir   string
	out        string
	quick      bool
	micro      bool
	benchtime  string
	keepDir    bool
}

func main() {
	var o options
	flag.StringVar(&o.webhookBin, "webhook", "bin/signet-webhook", "signet-webhook binary to drive (make build)")
	flag.StringVar(&o.toolsDir, "tools", defaultToolsDir(), "directory holding the registry and cosign binaries (make tools)")
	flag.StringVar(&o.out, "out", "docs/benchmarks.md", "where to write the report; empty writes none")
	flag.BoolVar(&o.quick, "quick", false, "run every scenario once, briefly: proves the harness works; the figures mean nothing")
	flag.BoolVar(&o.micro, "micro", true, "also run the Go micro benchmarks of ./pkg/... and include them")
	flag.StringVar(&o.benchtime, "benchtime", "1s", "-benchtime for the micro benchmarks")
	flag.BoolVar(&o.keepDir, "keep", false, "keep the working directory (webhook logs, policies, keys)")
	flag.Parse()
	if err := run(context.Background(), &o, func(format string, args ...any) { fmt.Printf(format+"\n", args...) }); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func defaultToolsDir() string {
	if d := os.Getenv("SIGNET_TOOLS_BIN"); d != "" {
		return d
	}
	return filepath.Join(".tools", "bin")
}

// run measures everything, writes the report, and fails when any review was not answered as
// expected (the figures of a broken run would be meaningless).
func run(ctx context.Context, o *options, logf func(string, ...any)) error {
	for _, bin := range []string{o.webhookBin, filepath.Join(o.toolsDir, "registry"), filepath.Join(o.toolsDir, "cosign")} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%s is missing: run `make build tools` first (or pass -webhook / -tools)", bin)
		}
	}
	dir, err := os.MkdirTemp("", "signet-bench-")
	if err != nil {
		return err
	}
	if o.keepDir {
		logf("working directory: %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	s := fullSizes
	if o.quick {
		s = quickSizes
	}
	rep := &report{quick: o.quick, started: time.Now(), loadStart: loadAverage()}
	rep.settings = []string{
		fmt.Sprintf("signet-webhook | defaults (`--tag-cache-ttl 30s`, `--cache-size 10000`, `--log-level info`: one JSON line per decision to a file) unless a scenario says otherwise; GOMAXPROCS unset (%d)", numCPU()),
		fmt.Sprintf("Load generator | same machine, HTTP/1.1 keep-alive TLS, closed loop with %d admissions in flight, paced run at %.0f reviews/s over %d connections; %s per run", s.concurrency, s.rate, s.rateConns, s.loadDuration),
		"Images | one 2 KiB layer shared, a distinct config each, OCI media types; one legacy cosign signature per key (ECDSA P-256)",
		"Policy | one ClusterImagePolicy matching host/bench/** with one key, unless the row says otherwise",
	}
	b := &bench{o: o, s: s, dir: dir, rep: rep, logf: logf}
	if b.keys, err = makeKeys(dir, s.policies[len(s.policies)-1]); err != nil {
		return err
	}
	if o.micro {
		pkgs := "github.com/signet-dev/signet/pkg/..."
		if o.quick {
			pkgs = "github.com/signet-dev/signet/pkg/admission" // proves the micro benchmarks still run, cheaply
		}
		logf("micro benchmarks: go test -bench . %s", pkgs)
		if rep.micro, err = runMicro(ctx, o.benchtime, pkgs); err != nil {
			return err
		}
	}

	inproc, err := startInProcess(dir)
	if err != nil {
		return err
	}
	defer inproc.Close()
	logf("in-process registry at %s", inproc.Host())
	if err := b.runTarget(ctx, inproc); err != nil {
		return fmt.Errorf("in-process registry: %w", err)
	}
	if err := b.runRoundTrips(ctx, inproc); err != nil {
		return fmt.Errorf("round trips: %w", err)
	}
	if err := b.runPolicies(ctx, inproc); err != nil {
		return fmt.Errorf("policies: %w", err)
	}
	if err := b.runMemory(ctx, inproc); err != nil {
		return fmt.Errorf("memory: %w", err)
	}

	dist, err := startDistribution(filepath.Join(o.toolsDir, "registry"), dir)
	if err != nil {
		return err
	}
	defer dist.Close()
	logf("distribution registry at %s", dist.Host())
	if err := b.runTarget(ctx, dist); err != nil {
		return fmt.Errorf("distribution registry: %w", err)
	}

	rep.finished, rep.loadEnd = time.Now(), loadAverage()
	if o.out != "" {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(o.out, rep.markdown(), 0o644); err != nil {
			return err
		}
		logf("wrote %s in %s (load average %s)", o.out, rep.finished.Sub(rep.started).Round(time.Second), rep.loadEnd)
	}
	if len(rep.failures) > 0 {
		return errors.New("reviews were not answered as expected:\n" + strings.Join(rep.failures, "\n"))
	}
	return nil
}

// runMicro runs the Go benchmarks of pkgs and returns their output.
func runMicro(ctx context.Context, benchtime, pkgs string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", benchtime, pkgs)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go test -bench: %w\n%s", err, out)
	}
	var keep []string
	for _, line := range strings.Split(string(out), "\n") {
		// Packages without benchmarks say only "ok … [no test files]" or "PASS"; leave those out.
		if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "pkg:") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n"), nil
}

func numCPU() int { return runtime.NumCPU() }
