package kind

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func podManifest(ns, name, image string) []byte {
	return []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + ", namespace: " + ns + "}\n" +
		"spec:\n  automountServiceAccountToken: false\n  containers: [{name: app, image: " + image + "}]\n")
}

// testDryRun: `kubectl apply --dry-run=server` gets the answer a real create gets, and stores nothing.
func testDryRun(t *testing.T, s *stack) {
	const ns = "e2e-dry-run"
	s.namespace(t, ns, nil)
	t.Run("A dry run of a signed Pod shows the pinned image and stores nothing.", func(t *testing.T) {
		t.Parallel()
		out, _, err := s.kubectl(t, podManifest(ns, "dry-signed", s.tagged("enforce/app")),
			"apply", "--dry-run=server", "-f", "-", "-o", "jsonpath={.spec.containers[0].image}")
		if err != nil {
			t.Fatal(err)
		}
		if out != s.pinned("enforce/app") {
			t.Errorf("dry-run image is %q, want %q", out, s.pinned("enforce/app"))
		}
		mustBeAbsent(t, "the dry-run Pod", func() error {
			_, err := s.Kube.CoreV1().Pods(ns).Get(ctxFor(t), "dry-signed", metav1.GetOptions{})
			return err
		})
		if len(s.webhook.decisions(func(d decision) bool { return d.Name == "dry-signed" && d.DryRun })) == 0 {
			t.Error("signet-webhook logged no dry-run decision for Pod dry-signed")
		}
	})
	t.Run("A dry run of an unsigned Pod is denied with the message a real create gets.", func(t *testing.T) {
		t.Parallel()
		// The same name for both: the message names the object.
		_, err := s.Kube.CoreV1().Pods(ns).Create(ctxFor(t), podWith("unsigned", s.tagged("enforce/unsigned")), metav1.CreateOptions{})
		want := deniedMessage(t, err)
		_, stderr, err := s.kubectl(t, podManifest(ns, "unsigned", s.tagged("enforce/unsigned")), "apply", "--dry-run=server", "-f", "-")
		if err == nil {
			t.Fatal("kubectl apply --dry-run=server of an unsigned Pod succeeded")
		}
		if got := deniedMessage(t, err); strings.TrimSpace(got) != strings.TrimSpace(want) {
			t.Errorf("dry-run denial differs from the real one:\ndry run: %s\nreal:    %s", got, want)
		}
		mustContain(t, "kubectl's stderr", stderr, "denied the request")
	})
}

// testReapply: applying the same manifest again changes nothing: signet pins the tag to the
// digest already stored, so the API server sees an unchanged object and keeps its resourceVersion.
func testReapply(t *testing.T, s *stack) {
	const ns = "e2e-reapply"
	s.namespace(t, ns, nil)
	kinds := map[string]string{
		"Re-applying a Pod manifest (server-side apply) leaves the stored Pod unchanged.":               "pod",
		"Re-applying a Deployment manifest (server-side apply) leaves the stored Deployment unchanged.": "deployment",
	}
	for desc, kind := range kinds {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			var manifest []byte
			if kind == "pod" {
				manifest = podManifest(ns, "reapplied", s.tagged("enforce/app"))
			} else {
				manifest = []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"reapplied","namespace":"` + ns + `"},"spec":{"selector":{"matchLabels":{"app":"r"}},"template":{"metadata":{"labels":{"app":"r"}},"spec":{"containers":[{"name":"app","image":"` + s.tagged("enforce/app") + `"}]}}}}`)
			}
			get := []string{"get", kind, "reapplied", "-n", ns, "-o", "jsonpath={.metadata.resourceVersion} {.metadata.generation} {..image}"}
			s.apply(t, manifest)
			first, _, err := s.kubectl(t, nil, get...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(first, " "+s.pinned("enforce/app")) {
				t.Fatalf("after the first apply: %q, want the image pinned to %s", first, s.pinned("enforce/app"))
			}
			out := s.apply(t, manifest)
			second, _, err := s.kubectl(t, nil, get...)
			if err != nil {
				t.Fatal(err)
			}
			if second != first {
				t.Errorf("re-applying changed the %s: resourceVersion, generation and image went from %q to %q (kubectl: %s)", kind, first, second, out)
			}
		})
	}
}

// testChartDryRun: the chart as installed in a cluster (webhook in a Deployment behind a Service)
// is valid to the real API server: server-side dry-run of every object.
func testChartDryRun(t *testing.T, s *stack) {
	// `helm test`'s Pod goes to default, which needs its ServiceAccount.
	s.namespace(t, "default", nil)
	manifests := renderChart(t, []string{"policies.example.enabled=true", "policies.example.images={" + s.reg.Host + "/e2e/**}"},
		map[string]string{"image.digest": s.images["enforce/app"].DigestStr(), "policies.example.publicKey": string(s.trusted.Pub)})
	out := s.apply(t, manifests, "--dry-run=server")
	for _, kind := range []string{"deployment.apps/signet", "service/signet", "mutatingwebhookconfiguration.admissionregistration.k8s.io/signet", "clusterimagepolicy.policy.signet.dev/"} {
		mustContain(t, "kubectl apply --dry-run=server", out, kind)
	}
}
