package kind

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	removeBuilds()
	os.Exit(code)
}

// TestEndToEnd starts one stack (API server, registry, signet-webhook, the chart's configuration)
// and runs every scenario against it: first those that can share it, in parallel, then those that
// change the policies, then those that stop the webhook.
func TestEndToEnd(t *testing.T) {
	s := startStack(t)
	t.Run("admission", func(t *testing.T) {
		t.Run("signed pods", func(t *testing.T) { t.Parallel(); testSignedPods(t, s) })
		t.Run("denied pods", func(t *testing.T) { t.Parallel(); testDeniedPods(t, s) })
		t.Run("workloads", func(t *testing.T) { t.Parallel(); testWorkloads(t, s) })
		t.Run("ephemeral containers", func(t *testing.T) { t.Parallel(); testEphemeralContainers(t, s) })
		t.Run("modes", func(t *testing.T) { t.Parallel(); testModes(t, s) })
		t.Run("opted-out namespace", func(t *testing.T) { t.Parallel(); testOptOut(t, s) })
		t.Run("server dry-run", func(t *testing.T) { t.Parallel(); testDryRun(t, s) })
		t.Run("re-apply", func(t *testing.T) { t.Parallel(); testReapply(t, s) })
		t.Run("chart", func(t *testing.T) { t.Parallel(); testChartDryRun(t, s) })
	})
	t.Run("live changes", func(t *testing.T) {
		t.Run("policy edit", func(t *testing.T) { t.Parallel(); testPolicyEdit(t, s) })
		t.Run("key rotation", func(t *testing.T) { t.Parallel(); testKeyRotation(t, s) })
		t.Run("cluster policy", func(t *testing.T) { t.Parallel(); testClusterPolicy(t, s) })
	})
	t.Run("webhook down", func(t *testing.T) { testWebhookDown(t, s) })
}
