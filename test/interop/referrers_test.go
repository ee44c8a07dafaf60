package interop

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/pkg/verify"
)

// TestCosignBundleDiscoveryOnTheRealRegistry finds out which way the distribution registry holds
// cosign's bundle referrers (the OCI 1.1 referrers API, or the `sha256-<hex>` referrers tag that
// clients maintain when it lacks the API) and checks that the bundle is where that way says and
// that signet finds it there.
func TestCosignBundleDiscoveryOnTheRealRegistry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	keys := e.generateKeyPair(t)
	img := e.push(t, "discovery")
	e.mustRun(t, keys, "sign", "--key", "cosign.key", "--use-signing-config=false", "--tlog-upload=false", "-y",
		"--registry-cacert", e.reg.CAFile, img.Name())

	// Ask the referrers API directly.
	req, err := http.NewRequest(http.MethodGet, "https://"+e.reg.Host+"/v2/discovery/referrers/"+img.DigestStr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", string(types.OCIImageIndex))
	resp, err := e.reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hasAPI := resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), string(types.OCIImageIndex))
	t.Logf("distribution registry: GET /v2/<name>/referrers/<digest> answered %d %q; referrers API supported: %v",
		resp.StatusCode, resp.Header.Get("Content-Type"), hasAPI)

	fallback := img.Context().Tag(strings.Replace(img.DigestStr(), ":", "-", 1))
	idx, tagErr := remote.Index(fallback, e.remoteOptions(context.Background())...)
	if hasAPI {
		if tagErr == nil {
			t.Errorf("the registry has the referrers API, yet a referrers tag %s was written", fallback)
		}
	} else {
		if tagErr != nil {
			t.Fatalf("the registry lacks the referrers API, but the referrers tag %s cannot be read: %v", fallback, tagErr)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 1 || im.Manifests[0].ArtifactType != verify.BundleMediaType {
			t.Errorf("referrers tag %s lists %+v, want one %s", fallback, im.Manifests, verify.BundleMediaType)
		}
	}

	res, err := e.verifier().Verify(context.Background(), img, policyFor(t, filepath.Join(keys, "cosign.pub"), nil))
	if err != nil {
		t.Fatalf("signet does not find cosign's bundle: %v", err)
	}
	if res.Signatures != 1 {
		t.Errorf("Result.Signatures = %d, want 1", res.Signatures)
	}
}
