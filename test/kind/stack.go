package kind

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// stack is everything a scenario needs: the API server, the registry holding signed and unsigned
// images, signet-webhook with its policies, and the chart's webhook configurations pointing at it.
type stack struct {
	*cluster
	reg       *registry
	webhook   *webhook
	policyDir string
	// trusted signs what the policies trust; other is a key they do not trust (at first).
	trusted, other keyPair
	// images by repository path under the registry (e.g. "enforce/app"), each pushed as :v1.
	images map[string]name.Digest
}

// The images the suite pushes, and who signs them: "trusted", "other", "cosign" (the real cosign
// CLI with the trusted key) or "" (unsigned). Each policy covers <registry>/e2e/<first segment>/**.
var suiteImages = map[string]string{
	"enforce/app":      "trusted",
	"enforce/debug":    "trusted",
	"enforce/cosigned": "cosign",
	"enforce/unsigned": "",
	"enforce/wrongkey": "other",
	"warn/unsigned":    "",
	"audit/unsigned":   "",
	"edit/app":         "other",
	"rotate/app":       "other",
	"crd/app":          "other",
	"crd/unsigned":     "",
}

func startStack(t testing.TB) *stack {
	t.Helper()
	start := time.Now()
	prebuildWebhook()
	step := func(what string) { t.Logf("%6.1fs  %s", time.Since(start).Seconds(), what) }
	s := &stack{cluster: newCluster(t), images: map[string]name.Digest{}}
	step("API server ready")
	s.reg = startRegistry(t)
	step("registry ready")
	dir := t.TempDir()
	s.trusted, s.other = newKeyPair(t, dir, "trusted"), newKeyPair(t, dir, "other")
	for repo, signer := range suiteImages {
		d := s.reg.push(t, "e2e/"+repo+":v1")
		switch signer {
		case "trusted":
			s.reg.sign(t, d, s.trusted)
		case "other":
			s.reg.sign(t, d, s.other)
		case "cosign":
			s.reg.cosignSign(t, d, s.trusted)
		}
		s.images[repo] = d
	}
	step("images pushed and signed")

	s.policyDir = filepath.Join(dir, "policies")
	mkdir(t, s.policyDir)
	writeFile(t, filepath.Join(s.policyDir, "trusted.pub"), s.trusted.Pub)
	writeFile(t, filepath.Join(s.policyDir, "other.pub"), s.other.Pub)
	// rotate.pub is replaced in place by the key rotation scenario.
	writeFile(t, filepath.Join(s.policyDir, "rotate.pub"), s.trusted.Pub)
	s.writePolicy(t, "enforce", "enforce", "trusted.pub")
	s.writePolicy(t, "warn", "warn", "trusted.pub")
	s.writePolicy(t, "audit", "audit", "trusted.pub")
	s.writePolicy(t, "edit", "enforce", "trusted.pub")
	s.writePolicy(t, "rotate", "enforce", "rotate.pub")

	webhookBinary(t)
	step("signet-webhook built")
	s.webhook = newWebhook(t, s.WebhookHost,
		"--policy", s.policyDir, "--policy-reload-interval", "200ms",
		"--registry-ca-file", s.reg.CAFile, "--docker-config", s.reg.DockerConfig(t, dir),
		"--unmatched", "allow")
	s.namespace(t, chartNamespace, nil)
	s.apply(t, externalChart(t, s.webhook))
	// Cluster policies, read as the chart's ServiceAccount: the chart's RBAC must be enough.
	s.webhook.args = append(s.webhook.args, "--cluster-policies", "--secret-namespaces", "*",
		"--kubeconfig", s.serviceAccountKubeconfig(t, dir, chartNamespace, "signet"))
	s.webhook.start(t)
	step("signet-webhook ready")
	s.waitForWebhook(t)
	step("the API server calls signet-webhook")
	return s
}

// serviceAccountKubeconfig writes a kubeconfig holding a token for the ServiceAccount ns/name
// (the TokenRequest API, as the kubelet gets one for a pod).
func (s *stack) serviceAccountKubeconfig(t testing.TB, dir, ns, name string) string {
	t.Helper()
	hour := int64(3600)
	tr, err := s.Kube.CoreV1().ServiceAccounts(ns).CreateToken(ctxFor(t), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("getting a token for ServiceAccount %s/%s (made by the chart): %v", ns, name, err)
	}
	cfg := rest.AnonymousClientConfig(s.Config)
	cfg.BearerToken = tr.Status.Token
	path := filepath.Join(dir, name+".kubeconfig")
	if err := writeKubeconfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	return path
}

// writePolicy writes policies/<name>.yaml: images under <registry>/e2e/<name>/ in mode, trusting
// the keys in keyFile (relative to the policy directory).
func (s *stack) writePolicy(t testing.TB, name, mode, keyFile string) {
	t.Helper()
	doc := fmt.Sprintf(`apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata:
  name: %s
spec:
  images:
    - glob: %q
  mode: %s
  authorities:
    - name: %s
      key:
        path: %s
`, name, s.reg.Host+"/e2e/"+name+"/**", mode, strings.TrimSuffix(keyFile, ".pub"), keyFile)
	writeFile(t, filepath.Join(s.policyDir, name+".yaml"), []byte(doc))
}

// tagged is the image as a user writes it: <registry>/e2e/<repo>:v1.
func (s *stack) tagged(repo string) string {
	if _, ok := s.images[repo]; !ok {
		panic("no suite image " + repo)
	}
	return s.reg.Host + "/e2e/" + repo + ":v1"
}

// pinned is what signet pins tagged(repo) to: the tag and the digest.
func (s *stack) pinned(repo string) string {
	return s.tagged(repo) + "@" + s.images[repo].DigestStr()
}

// waitForWebhook waits until the API server calls the webhook: the webhook configurations are
// read by the API server a moment after they are written.
func (s *stack) waitForWebhook(t testing.TB) {
	t.Helper()
	s.namespace(t, "e2e-ready", nil)
	pod := podWith("ready", s.tagged("enforce/unsigned"))
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		_, err := s.Kube.CoreV1().Pods("e2e-ready").Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		cancel()
		if err != nil && strings.Contains(err.Error(), "denied the request") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API server did not call signet-webhook within a minute of applying the webhook configurations; last answer to an unsigned Pod: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// podWith is a Pod with one container running image. It does not mount a service account token:
// the local control plane has no token controller, and signet does not care.
func podWith(name, image string) *corev1.Pod {
	no := false
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: &no,
			Containers:                   []corev1.Container{{Name: "app", Image: image}},
		},
	}
}
