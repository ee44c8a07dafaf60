package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/internal/testtools"
)

// TestBenchSmoke runs every benchmark scenario once, briefly (-quick), against a freshly built
// signet-webhook, the registry process and the cosign CLI: it proves that `make bench` still
// builds, runs and writes its report. It asserts nothing about speed; it fails when a review is
// not answered as the scenario expects or a section of the report is missing.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPING: -short: the benchmark smoke test starts processes and pushes images")
	}
	tools := testtools.Dir()
	testtools.Path(t, "registry")
	testtools.Path(t, "cosign")
	dir := t.TempDir()
	bin := filepath.Join(dir, "signet-webhook")
	build := exec.Command("go", "build", "-o", bin, "github.com/signet-dev/signet/cmd/webhook")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building signet-webhook: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "benchmarks.md")
	o := &options{webhookBin: bin, toolsDir: tools, out: out, quick: true, micro: true, benchtime: "1x"}
	if err := run(context.Background(), o, t.Logf); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{
		"## Machine and settings", "## Targets and what this run reached", "### Against the in-process registry",
		"### Against the distribution registry", "## Sequential registry round trips", "## Policies and keys", "## Memory",
		"## Side by side with the peers", "cosign verify CLI process", "## Micro benchmarks", "BenchmarkReviewWarm",
	} {
		if !bytes.Contains(doc, []byte(section)) {
			t.Errorf("the report has no %q:\n%s", section, doc)
		}
	}
	if strings.Contains(string(doc), "## Failures") {
		t.Errorf("the report lists failures:\n%s", doc)
	}
}
