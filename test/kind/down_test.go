package kind

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testWebhookDown stops signet-webhook: the API server must do what the webhook configurations'
// failurePolicy says. It runs last; it starts the webhook again and restores the chart's default.
func testWebhookDown(t *testing.T, s *stack) {
	const ns = "e2e-webhook-down"
	s.namespace(t, ns, nil)
	s.webhook.stop(t)
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			s.webhook.start(t)
		}
	})

	t.Run("With failurePolicy Fail (the chart's default) the API server refuses Pods while the webhook is down.", func(t *testing.T) {
		_, err := s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith("refused", s.tagged("enforce/app")), metav1.CreateOptions{})
		if err == nil {
			t.Fatal("the API server admitted a Pod while signet-webhook was down and failurePolicy is Fail")
		}
		if !strings.Contains(err.Error(), `failed calling webhook "pin.signet.dev"`) {
			t.Errorf("want the API server's webhook-call failure, got: %v", err)
		}
	})

	t.Run("With failurePolicy Ignore the API server admits Pods unchecked and unpinned while the webhook is down.", func(t *testing.T) {
		s.apply(t, externalChart(t, s.webhook, "webhook.failurePolicy=Ignore"))
		eventually(t, "admitting an unsigned Pod with failurePolicy Ignore", func() error {
			_, err := s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith("ignored", s.tagged("enforce/unsigned")), dryRunAll)
			return err
		})
		pod, err := s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith("ignored", s.tagged("enforce/unsigned")), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := pod.Spec.Containers[0].Image; got != s.tagged("enforce/unsigned") {
			t.Errorf("image is %q, want it untouched", got)
		}
	})

	t.Run("Started again, the webhook denies unsigned Pods again.", func(t *testing.T) {
		s.webhook.start(t)
		restarted = true
		s.apply(t, externalChart(t, s.webhook))
		s.waitForWebhook(t)
		_, err := s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith("denied-again", s.tagged("enforce/unsigned")), metav1.CreateOptions{})
		mustContain(t, "the denial after the restart", deniedMessage(t, err), "no signatures")
	})
}
