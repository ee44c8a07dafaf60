package admission_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/signet-dev/signet/internal/wiring"
	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/resolver"
	"github.com/signet-dev/signet/pkg/verify"
)

// TestKeyRotationThroughASecret rotates a policy's key in its Secret the documented way (add the
// new key, re-sign, remove the old key) and checks real signatures after each step. The policy and
// Secret live in client-go's fake clientsets, since no API server runs in unit tests; the
// registry, signing and verification are real.
func TestKeyRotationThroughASecret(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	keys := testKeys(t)
	oldPub, newPub := keys[0].pub, keys[1].pub // w.signed is signed with keys[0]

	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": policy.APIVersion, "kind": policy.KindClusterImagePolicy,
		"metadata": map[string]any{"name": "apps", "generation": int64(1)},
		"spec": map[string]any{
			"images":      []any{map[string]any{"glob": w.host + "/apps/**"}},
			"authorities": []any{map[string]any{"key": map[string]any{"secretRef": map[string]any{"namespace": "keys", "name": "release"}}}},
		},
	}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		policy.ClusterImagePolicyResource: "ClusterImagePolicyList",
		policy.ImagePolicyResource:        "ImagePolicyList",
	}, u)
	secret := func(pems ...string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "keys", Name: "release"},
			Data: map[string][]byte{"cosign.pub": []byte(strings.Join(pems, "\n"))}}
	}
	kube := kubefake.NewClientset(secret(oldPub))
	src, err := policy.NewClusterSource(policy.ClusterOptions{Dynamic: dyn, Kube: kube, SecretNamespaces: []string{"keys"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = src.Run(ctx) }()
	waitUntil(t, "the first sync", src.Synced)

	// Fetched signatures are normally reused for 10s, so a re-signature counts within 10s; here
	// it must count at once.
	reg, err := resolver.New(resolver.WithCABundle(w.caPEM))
	if err != nil {
		t.Fatal(err)
	}
	r := &admission.Reviewer{
		Policies: src,
		Resolver: wiring.Resolver(reg),
		Verifier: wiring.Verifier(verify.New(verify.WithRemoteOptions(reg.RemoteOptions), verify.WithSignatureTTL(0)), reg),
	}
	admitted := func(img string) (bool, string) {
		resp := r.Review(context.Background(), admission.Validate, request("Pod", admissionv1.Create, pod(img), ""))
		return resp.Allowed, message(resp)
	}
	update := func(pems ...string) {
		t.Helper()
		before := src.Policies().Fingerprint()
		if _, err := kube.CoreV1().Secrets("keys").Update(ctx, secret(pems...), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the Secret's new keys", func() bool { return src.Policies().Fingerprint() != before })
	}

	if ok, msg := admitted(w.signed); !ok {
		t.Fatalf("before rotation, the image signed with the old key was denied: %s", msg)
	}
	update(oldPub, newPub)
	if ok, msg := admitted(w.signed); !ok {
		t.Fatalf("with both keys, the image signed with the old key was denied: %s", msg)
	}
	// Re-sign with the new key.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(w.caPEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	d, err := name.NewDigest(strings.SplitN(w.signed, ":v1", 2)[0] + "@" + w.signedDigest)
	if err != nil {
		t.Fatal(err)
	}
	if err := publisher.Sign(ctx, d, keys[1].signer, nil, remote.WithTransport(tr)); err != nil {
		t.Fatal(err)
	}
	update(newPub)
	if ok, msg := admitted(w.signed); !ok {
		t.Fatalf("after removing the old key, the re-signed image was denied: %s", msg)
	}
	ok, msg := admitted(w.annotated) // signed with the old key only
	if ok || !strings.Contains(msg, "none verify") {
		t.Fatalf("after removing the old key, an image signed only with it: allowed=%v %s", ok, msg)
	}
}

// waitUntil polls cond; the limit only stops a broken test from hanging.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
