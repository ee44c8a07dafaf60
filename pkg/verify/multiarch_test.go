package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/reason"
	"github.com/signet-dev/signet/pkg/verify"
)

// multiArch is an index pushed for a test and its platform manifests.
type multiArch struct {
	index     name.Digest
	platforms []name.Digest
}

// pushIndex pushes an OCI index of one random image per platform ("os/arch[/variant]"), plus a
// buildx-style attestation manifest when withAttestation is set.
func pushIndex(t *testing.T, reg *testRegistry, withAttestation bool, platforms ...string) multiArch {
	t.Helper()
	repo, err := name.NewRepository(reg.host + "/multi")
	if err != nil {
		t.Fatal(err)
	}
	var ma multiArch
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	add := func(p *v1.Platform, ann map[string]string) name.Digest {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p, Annotations: ann}})
		return repo.Digest(d.String())
	}
	for _, ps := range platforms {
		p, err := v1.ParsePlatform(ps)
		if err != nil {
			t.Fatal(err)
		}
		ma.platforms = append(ma.platforms, add(p, nil))
	}
	if withAttestation {
		add(&v1.Platform{OS: "unknown", Architecture: "unknown"}, map[string]string{"vnd.docker.reference.type": "attestation-manifest"})
	}
	if err := remote.WriteIndex(repo.Tag("latest"), idx); err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ma.index = repo.Digest(d.String())
	return ma
}

func TestVerifyMultiArch(t *testing.T) {
	t.Parallel()
	a := newKey(t, "p256")
	signIndex := func(t *testing.T, ma multiArch) { signBundle(t, ma.index, a, nil) }
	signPlatforms := func(n int) func(t *testing.T, ma multiArch) {
		return func(t *testing.T, ma multiArch) {
			for i, p := range ma.platforms[:n] {
				if i%2 == 0 {
					sign(t, p, a, nil)
				} else {
					signBundle(t, p, a, nil)
				}
			}
		}
	}
	both := func(t *testing.T, ma multiArch) { signIndex(t, ma); signPlatforms(len(ma.platforms))(t, ma) }
	amd64arm := []string{"linux/amd64", "linux/arm64/v8"}
	cases := map[string]struct {
		rule        policy.MultiArch
		platforms   []string
		attestation bool
		sign        func(t *testing.T, ma multiArch)
		want        reason.Code
		// wantMsg parts: "{index}" and "{pN}" stand for the index and platform digests.
		wantMsg     []string
		wantChecked int
	}{
		"Under the index rule a signed index passes.":                              {rule: policy.MultiArchIndex, platforms: amd64arm, sign: signIndex},
		"Under the default (empty) rule a signed index passes.":                    {rule: "", platforms: amd64arm, sign: signIndex},
		"Under the index rule signed platforms alone do not pass.":                 {rule: policy.MultiArchIndex, platforms: amd64arm, sign: signPlatforms(2), want: reason.NoSignatures},
		"Under the platforms rule every signed platform passes.":                   {rule: policy.MultiArchPlatforms, platforms: amd64arm, sign: signPlatforms(2), wantChecked: 2},
		"Under the platforms rule a signed index alone does not pass.":             {rule: policy.MultiArchPlatforms, platforms: amd64arm, sign: signIndex, want: reason.NoSignatures, wantMsg: []string{"2 of 2 platform manifests", "{p0} (linux/amd64)", "{p1} (linux/arm64/v8)"}},
		"Under the platforms rule one unsigned platform fails, naming it.":         {rule: policy.MultiArchPlatforms, platforms: amd64arm, sign: signPlatforms(1), want: reason.NoSignatures, wantMsg: []string{"1 of 2 platform manifests of index {index} fail: {p1} (linux/arm64/v8)", "checked {p0} (linux/amd64), {p1} (linux/arm64/v8)"}},
		"Under the platforms rule an index without linux/amd64 verifies alike.":    {rule: policy.MultiArchPlatforms, platforms: []string{"linux/s390x", "windows/arm64", "linux/riscv64"}, sign: signPlatforms(3), wantChecked: 3},
		"Under the platforms rule buildx attestation manifests need no signature.": {rule: policy.MultiArchPlatforms, platforms: amd64arm, attestation: true, sign: signPlatforms(2), wantChecked: 2},
		"Under the any rule a signed index passes.":                                {rule: policy.MultiArchAny, platforms: amd64arm, sign: signIndex, wantChecked: 1},
		"Under the any rule signed platforms pass.":                                {rule: policy.MultiArchAny, platforms: amd64arm, sign: signPlatforms(2), wantChecked: 2},
		"Under the any rule an index and platforms all signed pass.":               {rule: policy.MultiArchAny, platforms: amd64arm, sign: both, wantChecked: 1},
		"Under the any rule one signed platform of two fails, naming both checks.": {rule: policy.MultiArchAny, platforms: amd64arm, sign: signPlatforms(1), want: reason.NoSignatures,
			wantMsg: []string{"multi-arch rule any: neither the index nor every platform manifest verifies", "index {index}: no cosign signatures", "{p1} (linux/arm64/v8)"}, wantChecked: 3},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			reg := newRegistryWith(t, true)
			ma := pushIndex(t, reg, tc.attestation, tc.platforms...)
			tc.sign(t, ma)
			p := newPolicy("", 1, nil, authority("a", a))
			p.MultiArch = tc.rule
			res, err := verify.New().Verify(context.Background(), ma.index, p)
			t.Logf("Verify() = %v; checked %q", err, res.Checked)
			if got := reason.Of(err); got != tc.want {
				t.Fatalf("Verify() = %q (%v), want %q", got, err, tc.want)
			}
			for _, m := range tc.wantMsg {
				m = strings.ReplaceAll(m, "{index}", ma.index.DigestStr())
				for i, pd := range ma.platforms {
					m = strings.ReplaceAll(m, "{p"+string(rune('0'+i))+"}", pd.DigestStr())
				}
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
			if tc.wantChecked != 0 && len(res.Checked) != tc.wantChecked {
				t.Errorf("Result.Checked = %q, want %d entries", res.Checked, tc.wantChecked)
			}
			if tc.want == "" && (len(res.Authorities) != 1 || res.Authorities[0] != "a") {
				t.Errorf("Result.Authorities = %q, want [a]", res.Authorities)
			}
		})
	}
}

func TestVerifyMultiArchRuleOnASingleManifest(t *testing.T) {
	t.Parallel()
	a := newKey(t, "p256")
	for _, rule := range []policy.MultiArch{policy.MultiArchPlatforms, policy.MultiArchAny} {
		t.Run(string(rule), func(t *testing.T) {
			t.Parallel()
			reg := newRegistryWith(t, true)
			img := reg.push(t, "app")
			signBundle(t, img, a, nil)
			p := newPolicy("", 1, nil, authority("a", a))
			p.MultiArch = rule
			if _, err := verify.New().Verify(context.Background(), img, p); err != nil {
				t.Fatalf("Verify(single manifest, %s) = %v", rule, err)
			}
		})
	}
}

func TestVerifyRejectsAnUnknownMultiArchRule(t *testing.T) {
	t.Parallel()
	reg := newRegistry(t)
	img := reg.push(t, "app")
	p := newPolicy("", 1, nil, authority("a", newKey(t, "p256")))
	p.MultiArch = "all"
	_, err := verify.New().Verify(context.Background(), img, p)
	if reason.Of(err) != reason.PolicyError || !strings.Contains(err.Error(), `unknown multi-arch rule "all"`) {
		t.Fatalf("Verify() = %v, want a policy error naming the rule", err)
	}
}
