package chart

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// tlsVolumeSecret is the Secret the webhook pods mount their serving certificate from.
func tlsVolumeSecret(t *testing.T, r *rendered) string {
	t.Helper()
	d := deployment(t, r)
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "tls" && v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	t.Fatal("the Deployment mounts no tls Secret")
	return ""
}

func TestChartGeneratedCertificateIsTrustedThroughTheCABundle(t *testing.T) {
	t.Parallel()
	r := render(t)
	var secret corev1.Secret
	r.one(t, "Secret", &secret)
	if secret.Type != corev1.SecretTypeTLS || secret.Name != tlsVolumeSecret(t, r) {
		t.Fatalf("Secret %s type %s; want the kubernetes.io/tls Secret the pods mount (%s)", secret.Name, secret.Type, tlsVolumeSecret(t, r))
	}
	pair, err := tls.X509KeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
	if err != nil {
		t.Fatalf("tls.crt and tls.key are not a key pair: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for which, wh := range webhooks(t, r) {
		if string(wh.ClientConfig.CABundle) != string(secret.Data["ca.crt"]) {
			t.Errorf("%s webhook caBundle is not the Secret's ca.crt", which)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(wh.ClientConfig.CABundle) {
			t.Fatalf("%s webhook caBundle holds no PEM certificate", which)
		}
		// The API server dials <service>.<namespace>.svc and checks the name.
		host := fullname + "." + namespace + ".svc"
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("%s webhook: the serving certificate does not verify for %s with the caBundle: %v", which, host, err)
		}
	}
	if cn := leaf.Subject.CommonName; cn != fullname+"."+namespace+".svc" {
		t.Errorf("certificate common name %q", cn)
	}
}

func TestCertManagerModeInjectsTheCertificatesCA(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		set        []string
		wantIssuer string
		selfSigned bool
	}{
		"Without an issuer the chart makes a self-signed one.": {
			wantIssuer: fullname + "-selfsigned", selfSigned: true,
		},
		"A named ClusterIssuer is used as is.": {
			set:        []string{"--set", "tls.certManager.issuerRef.name=corp-ca", "--set", "tls.certManager.issuerRef.kind=ClusterIssuer"},
			wantIssuer: "corp-ca",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"--set", "tls.mode=certManager", "--api-versions", "cert-manager.io/v1"}, tc.set...)
			r := render(t, args...)
			if r.has("Secret") {
				t.Error("certManager mode renders a Secret; cert-manager writes it")
			}
			certs := r.all("Certificate")
			if len(certs) != 1 {
				t.Fatalf("rendered %d Certificates, want 1", len(certs))
			}
			var cert unstructured.Unstructured
			certs[0].decode(t, &cert.Object)
			secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
			if secretName != tlsVolumeSecret(t, r) {
				t.Errorf("the Certificate writes Secret %q but the pods mount %q", secretName, tlsVolumeSecret(t, r))
			}
			dns, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
			if !slices.Contains(dns, fullname+"."+namespace+".svc") {
				t.Errorf("Certificate dnsNames %v lack the Service's name", dns)
			}
			issuer, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name")
			if issuer != tc.wantIssuer {
				t.Errorf("issuerRef.name = %q, want %q", issuer, tc.wantIssuer)
			}
			if r.has("Issuer") != tc.selfSigned {
				t.Errorf("chart-made Issuer rendered = %v, want %v", r.has("Issuer"), tc.selfSigned)
			}
			for _, kind := range []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"} {
				o := r.all(kind)[0]
				if got, want := o.Metadata.Annotations["cert-manager.io/inject-ca-from"], namespace+"/"+cert.GetName(); got != want {
					t.Errorf("%s inject-ca-from = %q, want %q", kind, got, want)
				}
			}
			for which, wh := range webhooks(t, r) {
				if len(wh.ClientConfig.CABundle) != 0 {
					t.Errorf("%s webhook has a caBundle; cainjector owns it in certManager mode", which)
				}
			}
		})
	}
	if msg := renderError(t, "--set", "tls.mode=certManager"); !strings.Contains(msg, "cert-manager.io/v1") {
		t.Errorf("certManager mode without cert-manager: error %q does not say what is missing", msg)
	}
}

// testCA is a throwaway CA certificate in PEM, made for the test.
func testCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestExistingSecretMode(t *testing.T) {
	t.Parallel()
	ca := testCA(t)
	r := render(t, "--set", "tls.mode=secret", "--set", "tls.secret.name=corp-webhook-tls", "--set-string", "tls.secret.caBundle="+ca)
	if r.has("Secret") || r.has("Certificate") {
		t.Error("secret mode renders its own Secret or Certificate")
	}
	if got := tlsVolumeSecret(t, r); got != "corp-webhook-tls" {
		t.Errorf("pods mount %q, want the existing corp-webhook-tls", got)
	}
	for which, wh := range webhooks(t, r) {
		if string(wh.ClientConfig.CABundle) != ca {
			t.Errorf("%s webhook caBundle is not tls.secret.caBundle", which)
		}
	}
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"--set", "tls.mode=secret", "--set-string", "tls.secret.caBundle=" + ca}, "tls.secret.name"},
		{[]string{"--set", "tls.mode=secret", "--set", "tls.secret.name=corp-webhook-tls"}, "tls.secret.caBundle"},
	} {
		if msg := renderError(t, tc.set...); !strings.Contains(msg, tc.want) {
			t.Errorf("secret mode missing %s: error %q does not name it", tc.want, msg)
		}
	}
}

func TestExternalURLModeInstallsNoWorkload(t *testing.T) {
	t.Parallel()
	ca := testCA(t)
	r := render(t, "--set", "webhook.external.url=https://signet.corp.example:9443/", "--set-string", "webhook.external.caBundle="+ca)
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget", "Secret", "Pod", "NetworkPolicy"} {
		if r.has(kind) {
			t.Errorf("external mode renders a %s", kind)
		}
	}
	want := map[string]string{"mutating": "https://signet.corp.example:9443/mutate", "validating": "https://signet.corp.example:9443/validate"}
	for which, wh := range webhooks(t, r) {
		if wh.ClientConfig.Service != nil || wh.ClientConfig.URL == nil || *wh.ClientConfig.URL != want[which] {
			t.Errorf("%s webhook clientConfig = %+v, want url %s", which, wh.ClientConfig, want[which])
		}
		if string(wh.ClientConfig.CABundle) != ca {
			t.Errorf("%s webhook caBundle is not webhook.external.caBundle", which)
		}
		sel := wh.NamespaceSelector.String()
		if !strings.Contains(sel, "kube-system") {
			t.Errorf("%s webhook in external mode no longer excludes kube-system: %s", which, sel)
		}
	}
	if !r.has("ClusterRole") || !r.has("ServiceAccount") {
		t.Error("external mode drops the ServiceAccount and RBAC the outside webhook authenticates as")
	}
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"--set", "webhook.external.url=https://signet.corp.example"}, "webhook.external.caBundle"},
		{[]string{"--set", "webhook.external.url=http://signet.corp.example", "--set-string", "webhook.external.caBundle=" + ca}, "/webhook/external/url"},
	} {
		if msg := renderError(t, tc.set...); !strings.Contains(msg, tc.want) {
			t.Errorf("external mode: error %q does not name %s", msg, tc.want)
		}
	}
}
