package kind

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testClusterPolicy drives a ClusterImagePolicy with its key in a Secret: the policy is enforced
// once created, reports Ready in its status, and a key rotation in the Secret and an edit of the
// policy take effect while signet-webhook keeps running.
func testClusterPolicy(t *testing.T, s *stack) {
	const ns, keysNS = "e2e-cluster-policy", "e2e-keys"
	s.namespace(t, ns, nil)
	s.namespace(t, keysNS, nil)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "crd-key", Namespace: keysNS},
		Data:       map[string][]byte{"cosign.pub": s.trusted.Pub},
	}
	if _, err := s.Kube.CoreV1().Secrets(keysNS).Create(ctxFor(t), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	policy := func(mode string) []byte {
		return []byte(fmt.Sprintf(`apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata:
  name: crd
spec:
  images:
    - glob: %q
  mode: %s
  authorities:
    - name: from-secret
      key:
        secretRef: {name: crd-key, namespace: %s}
`, s.reg.Host+"/e2e/crd/**", mode, keysNS))
	}
	s.apply(t, policy("enforce"))

	t.Run("A new ClusterImagePolicy is enforced and reports Ready.", func(t *testing.T) {
		eventually(t, "denying an unsigned image under the new ClusterImagePolicy", func() error {
			_, err := s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith("unsigned", s.tagged("crd/unsigned")), dryRunAll)
			if err == nil {
				return fmt.Errorf("admitted")
			}
			if msg := err.Error(); !strings.Contains(msg, "ClusterImagePolicy/crd") {
				return fmt.Errorf("denied, but not by the new policy: %v", err)
			}
			return nil
		})
		eventually(t, "the policy's Ready condition", func() error {
			out, _, err := s.kubectl(t, nil, "get", "clusterimagepolicy", "crd", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
			if err != nil {
				return err
			}
			if out != "True" {
				return fmt.Errorf("Ready is %q", out)
			}
			return nil
		})
	})
	t.Run("Rotating the key in the Secret takes effect without a restart.", func(t *testing.T) {
		_, err := s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith("before-rotation", s.tagged("crd/app")), metav1.CreateOptions{})
		mustContain(t, "the denial before the rotation", deniedMessage(t, err), "signatures present but none verify", "ClusterImagePolicy/crd")
		secret.Data["cosign.pub"] = s.other.Pub
		if _, err := s.Kube.CoreV1().Secrets(keysNS).Update(ctxFor(t), secret, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		allowedEventually(t, s, ns, "after-rotation", "crd/app")
	})
	t.Run("Editing the policy to warn mode takes effect without a restart.", func(t *testing.T) {
		s.apply(t, policy("warn"))
		allowedEventually(t, s, ns, "after-edit", "crd/unsigned")
	})
}
