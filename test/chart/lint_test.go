package chart

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// valueCombinations are the settings admins combine; each must lint and render.
var valueCombinations = map[string][]string{
	"The defaults lint cleanly.": nil,
	"One replica with a priority class and strict spreading lints cleanly.": {
		"--set", "replicaCount=1", "--set", "priorityClassName=system-cluster-critical", "--set", "topologySpread.whenUnsatisfiable=DoNotSchedule",
	},
	"Validating only, failing open, with excluded namespaces lints cleanly.": {
		"--set", "webhook.mutating.enabled=false", "--set", "webhook.failurePolicy=Ignore", "--set", "webhook.excludedNamespaces={ci,sandbox}",
	},
	"File policies, registry settings and Secret namespaces lint cleanly.": {
		"--set-string", "policies.files.team\\.yaml=kind: ClusterImagePolicy", "--set", "policies.cluster=false",
		"--set", "registries.insecure={zot.local:5000}", "--set", "registries.credentialsSecret=pull", "--set", "secretNamespaces={keys}",
	},
	"An image by digest with a NetworkPolicy lints cleanly.": {
		"--set", "image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "--set", "networkPolicy.enabled=true",
	},
	"An existing TLS Secret lints cleanly.": {
		"--set", "tls.mode=secret", "--set", "tls.secret.name=corp-tls", "--set-string", "tls.secret.caBundle=-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
	},
	"An external webhook URL lints cleanly.": {
		"--set", "webhook.external.url=https://signet.corp.example:9443", "--set-string", "webhook.external.caBundle=-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
	},
}

func TestHelmLintAcrossValueCombinations(t *testing.T) {
	t.Parallel()
	for name, set := range valueCombinations {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"lint", chartDir(), "--strict", "--namespace", namespace}, set...)
			out, errOut, err := helmOutput(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			// helm lint logs a template's fail() and still passes; catch it.
			if strings.Contains(out, "[ERROR]") || !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") || strings.Contains(errOut, "fail") {
				t.Errorf("helm lint:\n%s\n%s", out, errOut)
			}
			if _, err := helm(t, templateArgs(set...)...); err != nil {
				t.Errorf("renders with lint's values but not with template's: %v", err)
			}
		})
	}
}

func TestExamplePolicyAndKeySecret(t *testing.T) {
	t.Parallel()
	const key = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----"
	r := render(t, "--set", "policies.example.enabled=true", "--set", "policies.example.images={zot.corp.example/apps/**}",
		"--set-string", "policies.example.publicKey="+key)
	var secret corev1.Secret
	for _, o := range r.all("Secret") {
		if strings.HasSuffix(o.Metadata.Name, "-key") {
			o.decode(t, &secret)
		}
	}
	if strings.TrimSpace(secret.StringData["cosign.pub"]) != key || secret.Namespace != namespace {
		t.Fatalf("key Secret %s/%s cosign.pub = %q, want the public key in the release namespace", secret.Namespace, secret.Name, secret.StringData["cosign.pub"])
	}
	objs := r.all("ClusterImagePolicy")
	if len(objs) != 1 || objs[0].APIVersion != "policy.signet.dev/v1alpha1" {
		t.Fatalf("rendered %d ClusterImagePolicies (%v), want one policy.signet.dev/v1alpha1", len(objs), objs)
	}
	var cip unstructured.Unstructured
	objs[0].decode(t, &cip.Object)
	images, _, _ := unstructured.NestedSlice(cip.Object, "spec", "images")
	if len(images) != 1 || images[0].(map[string]any)["glob"] != "zot.corp.example/apps/**" {
		t.Errorf("policy images = %v", images)
	}
	auth, _, _ := unstructured.NestedSlice(cip.Object, "spec", "authorities")
	ref, _, _ := unstructured.NestedStringMap(auth[0].(map[string]any), "key", "secretRef")
	if ref["name"] != secret.Name || ref["namespace"] != secret.Namespace {
		t.Errorf("policy secretRef %v does not name the key Secret %s/%s", ref, secret.Namespace, secret.Name)
	}
	if render(t).has("ClusterImagePolicy") {
		t.Error("the default install creates a policy; it must exempt or require nothing silently")
	}
}

func TestNetworkPolicyOpensOnlyTheWebhookPort(t *testing.T) {
	t.Parallel()
	if render(t).has("NetworkPolicy") {
		t.Error("a NetworkPolicy is rendered by default")
	}
	r := render(t, "--set", "networkPolicy.enabled=true", "--set-json", `networkPolicy.egress=[{"ports":[{"port":53,"protocol":"UDP"}]}]`)
	var np networkingv1.NetworkPolicy
	r.one(t, "NetworkPolicy", &np)
	if !matches(&np.Spec.PodSelector, deployment(t, r).Spec.Template.Labels) {
		t.Errorf("NetworkPolicy selects %v, not the webhook pods", np.Spec.PodSelector)
	}
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || np.Spec.Ingress[0].Ports[0].Port.IntValue() != 8443 {
		t.Errorf("ingress = %+v, want port 8443 only", np.Spec.Ingress)
	}
	if len(np.Spec.Egress) != 1 || len(np.Spec.PolicyTypes) != 2 {
		t.Errorf("egress rules given but policyTypes %v egress %+v", np.Spec.PolicyTypes, np.Spec.Egress)
	}
}

func TestServiceMonitorScrapesOverTLS(t *testing.T) {
	t.Parallel()
	r := render(t, "--set", "metrics.serviceMonitor.enabled=true", "--api-versions", "monitoring.coreos.com/v1")
	objs := r.all("ServiceMonitor")
	if len(objs) != 1 {
		t.Fatalf("rendered %d ServiceMonitors, want 1", len(objs))
	}
	var sm unstructured.Unstructured
	objs[0].decode(t, &sm.Object)
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	ep := eps[0].(map[string]any)
	if ep["scheme"] != "https" || ep["path"] != "/metrics" || ep["port"] != "https" {
		t.Errorf("endpoint = %v, want https /metrics on the https port", ep)
	}
	ca, _, _ := unstructured.NestedString(ep, "tlsConfig", "ca", "secret", "name")
	if ca != tlsVolumeSecret(t, r) {
		t.Errorf("scrape CA from Secret %q, want the webhook's %q", ca, tlsVolumeSecret(t, r))
	}
}
