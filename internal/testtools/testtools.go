// Package testtools finds the heavy test tools (registry, cosign, helm, kube-apiserver, etcd) that
// hack/tools.sh builds into .tools/bin. A missing tool fails the test: integration tests skip only
// when SIGNET_SKIP_TOOLS=1 says so, and then they say so loudly.
package testtools

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir is where the tools are: $SIGNET_TOOLS_BIN, or .tools/bin at the repository root.
func Dir() string {
	if d := os.Getenv("SIGNET_TOOLS_BIN"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", ".tools", "bin")
}

// Path returns the path of tool, failing t when it has not been built.
func Path(t testing.TB, tool string) string {
	t.Helper()
	p := filepath.Join(Dir(), tool)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("SIGNET_SKIP_TOOLS") == "1" {
			t.Skipf("SKIPPING: SIGNET_SKIP_TOOLS=1 and %s is not built (run `make tools`)", tool)
		}
		t.Fatalf("test tool %s is missing: run `make tools` (or `make test`, which builds it); set SIGNET_SKIP_TOOLS=1 to skip tests that need it", p)
	}
	return p
}
