package kind

import (
	"fmt"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// allowedEventually waits until the API server admits a dry-run Pod running repo's image, then
// creates it for real and checks that it is pinned.
func allowedEventually(t *testing.T, s *stack, ns, name, repo string) {
	t.Helper()
	eventually(t, "admitting "+s.tagged(repo), func() error {
		_, err := s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith(name, s.tagged(repo)), dryRunAll)
		return err
	})
	pod, err := s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith(name, s.tagged(repo)), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pod.Spec.Containers[0].Image; got != s.pinned(repo) {
		t.Errorf("image is %q, want %q", got, s.pinned(repo))
	}
}

func testPolicyEdit(t *testing.T, s *stack) {
	const ns = "e2e-policy-edit"
	s.namespace(t, ns, nil)
	_, err := s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith("before", s.tagged("edit/app")), metav1.CreateOptions{})
	mustContain(t, "the denial before the edit", deniedMessage(t, err), "signatures present but none verify")

	// The edit: trust the key that signed the image. signet-webhook keeps running.
	s.writePolicy(t, "edit", "enforce", "other.pub")
	allowedEventually(t, s, ns, "after", "edit/app")
}

func testKeyRotation(t *testing.T, s *stack) {
	const ns = "e2e-key-rotation"
	s.namespace(t, ns, nil)
	_, err := s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith("before", s.tagged("rotate/app")), metav1.CreateOptions{})
	mustContain(t, "the denial before the rotation", deniedMessage(t, err), "signatures present but none verify")

	// The rotation: the key file the policy names now holds the new key. signet-webhook keeps running.
	writeFile(t, filepath.Join(s.policyDir, "rotate.pub"), s.other.Pub)
	allowedEventually(t, s, ns, "after", "rotate/app")

	// And the old key no longer counts: an image signed only with it is refused.
	d := s.reg.push(t, "e2e/rotate/old:v1")
	s.reg.sign(t, d, s.trusted)
	_, err = s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith("old-key", d.Context().Tag("v1").String()), metav1.CreateOptions{})
	mustContain(t, "the denial of an image signed with the rotated-out key", deniedMessage(t, err), "signatures present but none verify", fmt.Sprint(d.DigestStr()))
}
