package publisher_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/verify"
)

func TestSignBundleWritesACosignStyleReferrer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	priv, pub, err := publisher.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := publisher.LoadSigner(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := pushImage(t)
	if err := publisher.SignBundle(ctx, img, signer, map[string]string{"env": "prod"}); err != nil {
		t.Fatalf("SignBundle() = %v", err)
	}

	// The referrer looks like what `cosign sign` v3 writes.
	idx, err := remote.Referrers(img)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("%d referrers, want 1", len(im.Manifests))
	}
	desc, err := remote.Get(img.Context().Digest(im.Manifests[0].Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ArtifactType string `json:"artifactType"`
		Layers       []struct {
			MediaType string `json:"mediaType"`
		} `json:"layers"`
		Subject struct {
			Digest string `json:"digest"`
		} `json:"subject"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m.ArtifactType != verify.BundleMediaType || len(m.Layers) != 1 || m.Layers[0].MediaType != verify.BundleMediaType {
		t.Errorf("referrer manifest: artifactType %q, layers %+v; want one %s layer", m.ArtifactType, m.Layers, verify.BundleMediaType)
	}
	if m.Subject.Digest != img.DigestStr() {
		t.Errorf("referrer subject = %q, want %s", m.Subject.Digest, img.DigestStr())
	}
	if got := m.Annotations["dev.sigstore.bundle.predicateType"]; got != "https://sigstore.dev/cosign/sign/v1" {
		t.Errorf("predicate type annotation = %q, want cosign's signature predicate", got)
	}

	pubKey, err := cryptoutils.UnmarshalPEMToPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	p := &policy.Policy{
		Threshold:   1,
		Annotations: map[string]string{"env": "prod"},
		Authorities: []policy.CompiledAuthority{{Name: "ci", Keys: []policy.PublicKey{{Key: pubKey}}}},
	}
	if _, err := verify.New().Verify(ctx, img, p); err != nil {
		t.Fatalf("Verify() = %v", err)
	}
}

func TestSignBundleRefusesAMissingImage(t *testing.T) {
	t.Parallel()
	img := pushImage(t)
	missing := img.Context().Digest("sha256:" + strings.Repeat("0", 64))
	err := publisher.SignBundle(context.Background(), missing, loadNewSigner(t), nil)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("SignBundle() = %v, want an image-not-found error", err)
	}
}

func TestSignBundleRefusesANilSigner(t *testing.T) {
	t.Parallel()
	if err := publisher.SignBundle(context.Background(), pushImage(t), nil, nil); err == nil || !strings.Contains(err.Error(), "no signer") {
		t.Fatalf("SignBundle(nil signer) = %v, want a no-signer error", err)
	}
}
