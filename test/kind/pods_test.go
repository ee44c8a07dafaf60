package kind

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testSignedPods(t *testing.T, s *stack) {
	s.namespace(t, "e2e-signed", nil)
	cases := map[string]struct{ name, repo string }{
		"A Pod whose image signet's publisher signed is stored pinned to the digest.":  {name: "publisher-signed", repo: "enforce/app"},
		"A Pod whose image the real cosign CLI signed is stored pinned to the digest.": {name: "cosign-signed", repo: "enforce/cosigned"},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			pod := podWith(tc.name, s.tagged(tc.repo))
			pod.Spec.InitContainers = []corev1.Container{{Name: "init", Image: s.tagged(tc.repo)}}
			_, err := s.Kube.CoreV1().Pods("e2e-signed").Create(ctxFor(t), pod, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("creating a Pod with %s: %v", s.tagged(tc.repo), err)
			}
			stored, err := s.Kube.CoreV1().Pods("e2e-signed").Get(ctxFor(t), tc.name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range append(stored.Spec.InitContainers, stored.Spec.Containers...) {
				if c.Image != s.pinned(tc.repo) {
					t.Errorf("stored container %s has image %q, want %q", c.Name, c.Image, s.pinned(tc.repo))
				}
			}
		})
	}
}

func testDeniedPods(t *testing.T, s *stack) {
	s.namespace(t, "e2e-denied", nil)
	cases := map[string]struct {
		name, repo, reason string
	}{
		"A Pod with an unsigned image is denied, saying it has no signatures.": {
			name: "unsigned", repo: "enforce/unsigned", reason: "no signatures"},
		"A Pod with an image signed by an untrusted key is denied, saying no signature verifies.": {
			name: "wrong-key", repo: "enforce/wrongkey", reason: "signatures present but none verify with the policy's keys"},
	}
	for desc, tc := range cases {
		name := tc.name
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			_, err := s.Kube.CoreV1().Pods("e2e-denied").Create(ctxFor(t), podWith(name, s.tagged(tc.repo)), metav1.CreateOptions{})
			msg := deniedMessage(t, err)
			mustContain(t, "the denial", msg, tc.reason, "spec.containers[0].image", s.reg.Host+"/e2e/"+tc.repo, s.images[tc.repo].DigestStr(), "enforce")
			mustBeAbsent(t, "the denied Pod", func() error {
				_, err := s.Kube.CoreV1().Pods("e2e-denied").Get(ctxFor(t), name, metav1.GetOptions{})
				return err
			})
		})
	}
}

// testEphemeralContainers adds containers the way `kubectl debug` does: through the
// pods/ephemeralcontainers subresource of an existing Pod.
func testEphemeralContainers(t *testing.T, s *stack) {
	s.namespace(t, "e2e-ephemeral", nil)
	pods := s.Kube.CoreV1().Pods("e2e-ephemeral")
	cases := map[string]struct {
		repo   string
		denied bool
	}{
		"A signed ephemeral container is admitted and pinned.": {repo: "enforce/debug"},
		"An unsigned ephemeral container is denied.":           {repo: "enforce/unsigned", denied: true},
	}
	i := 0
	for desc, tc := range cases {
		i++
		name := "debugged-" + string(rune('a'+i))
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			if _, err := pods.Create(ctxFor(t), podWith(name, s.tagged("enforce/app")), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			pod, err := pods.Get(ctxFor(t), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{
				EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: s.tagged(tc.repo)},
				TargetContainerName:      "app",
			})
			_, err = pods.UpdateEphemeralContainers(ctxFor(t), name, pod, metav1.UpdateOptions{})
			if tc.denied {
				msg := deniedMessage(t, err)
				mustContain(t, "the denial", msg, "spec.ephemeralContainers[0].image", "no signatures")
				stored, err := pods.Get(ctxFor(t), name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if len(stored.Spec.EphemeralContainers) != 0 {
					t.Errorf("the denied ephemeral container was stored: %+v", stored.Spec.EphemeralContainers)
				}
				return
			}
			if err != nil {
				t.Fatalf("adding a signed ephemeral container: %v", err)
			}
			stored, err := pods.Get(ctxFor(t), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(stored.Spec.EphemeralContainers); n != 1 {
				t.Fatalf("stored Pod has %d ephemeral containers, want 1", n)
			}
			if got := stored.Spec.EphemeralContainers[0].Image; got != s.pinned(tc.repo) {
				t.Errorf("ephemeral container image is %q, want %q", got, s.pinned(tc.repo))
			}
		})
	}
}

func testModes(t *testing.T, s *stack) {
	s.namespace(t, "e2e-modes", nil)
	t.Run("A warn-mode policy admits an unsigned image and the client sees a warning naming it.", func(t *testing.T) {
		t.Parallel()
		var w warnings
		_, err := s.client(t, &w).CoreV1().Pods("e2e-modes").Create(ctxFor(t), podWith("warned", s.tagged("warn/unsigned")), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("a warn-mode policy denied: %v", err)
		}
		got := w.all()
		if len(got) == 0 {
			t.Fatal("the client saw no warnings")
		}
		var all string
		for _, g := range got {
			all += g + "\n"
		}
		mustContain(t, "the warnings", all, s.reg.Host+"/e2e/warn/unsigned", "no signatures")
	})
	t.Run("kubectl shows the warning of a warn-mode policy.", func(t *testing.T) {
		t.Parallel()
		manifest := []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: warned-kubectl, namespace: e2e-modes}\nspec:\n  automountServiceAccountToken: false\n  containers: [{name: app, image: " + s.tagged("warn/unsigned") + "}]\n")
		_, stderr, err := s.kubectl(t, manifest, "create", "-f", "-")
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, "kubectl's stderr", stderr, "Warning:", s.reg.Host+"/e2e/warn/unsigned")
	})
	t.Run("An audit-mode policy admits an unsigned image and signet records the violation.", func(t *testing.T) {
		t.Parallel()
		var w warnings
		_, err := s.client(t, &w).CoreV1().Pods("e2e-modes").Create(ctxFor(t), podWith("audited", s.tagged("audit/unsigned")), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("an audit-mode policy denied: %v", err)
		}
		if got := w.all(); len(got) != 0 {
			t.Errorf("audit mode must not warn the client; it saw %q", got)
		}
		logged := s.webhook.decisions(func(d decision) bool {
			return d.Namespace == "e2e-modes" && d.Name == "audited" && len(d.Audit) > 0
		})
		if len(logged) == 0 {
			t.Error("signet-webhook logged no audit violation for Pod e2e-modes/audited")
		}
	})
}

func testOptOut(t *testing.T, s *stack) {
	const ns = "e2e-opted-out"
	s.namespace(t, ns, map[string]string{"policy.signet.dev/exclude": "true"})
	if _, err := s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith("unchecked", s.tagged("enforce/unsigned")), metav1.CreateOptions{}); err != nil {
		t.Fatalf("a Pod in a namespace labelled policy.signet.dev/exclude was refused: %v", err)
	}
	stored, err := s.Kube.CoreV1().Pods(ns).Get(ctxFor(t), "unchecked", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := stored.Spec.Containers[0].Image; got != s.tagged("enforce/unsigned") {
		t.Errorf("image in an opted-out namespace is %q, want it untouched (%q)", got, s.tagged("enforce/unsigned"))
	}
	if n := len(s.webhook.decisions(func(d decision) bool { return d.Namespace == ns })); n != 0 {
		t.Errorf("signet-webhook reviewed %d requests from the opted-out namespace %s, want none", n, ns)
	}
	// The count above means something only if decisions are counted at all.
	if n := len(s.webhook.decisions(func(d decision) bool { return d.Namespace == "e2e-ready" })); n == 0 {
		t.Error("signet-webhook's log holds no decision for namespace e2e-ready, which the stack's start-up check sent it")
	}
}
