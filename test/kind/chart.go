package kind

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/internal/testtools"
)

// chartNamespace is the release namespace; the chart keeps the webhook from reviewing it.
const chartNamespace = "signet-system"

// renderChart runs `helm template` on deploy/helm/signet with set (key=value) and setString
// values, CRDs included.
func renderChart(t testing.TB, set []string, setString map[string]string) []byte {
	t.Helper()
	args := []string{"template", "signet", filepath.Join(repoRoot(), "deploy", "helm", "signet"),
		"--namespace", chartNamespace, "--include-crds"}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	for k, v := range setString {
		args = append(args, "--set-string", k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testtools.Path(t, "helm"), args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "HELM_CACHE_HOME=" + t.TempDir(), "HELM_CONFIG_HOME=" + t.TempDir(), "HELM_DATA_HOME=" + t.TempDir()}
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return out
}

// externalChart renders the chart in url mode: the API server calls the webhook running on this
// machine at w.Addr and trusts w's CA. It renders the CRDs, the ServiceAccount, the RBAC and the
// webhook configurations, and no workload.
func externalChart(t testing.TB, w *webhook, set ...string) []byte {
	t.Helper()
	return renderChart(t, set, map[string]string{
		"webhook.external.url":      "https://" + w.Addr,
		"webhook.external.caBundle": string(w.CAPEM),
	})
}

// apply server-side-applies manifests with kubectl (extra args e.g. --dry-run=server).
func (c *cluster) apply(t testing.TB, manifests []byte, extra ...string) string {
	t.Helper()
	out, _, err := c.kubectl(t, manifests, append([]string{"apply", "--server-side", "--force-conflicts", "-f", "-"}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
