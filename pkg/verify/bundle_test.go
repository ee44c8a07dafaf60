package verify_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	intoto "github.com/in-toto/attestation/go/v1"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/reason"
	"github.com/signet-dev/signet/pkg/verify"
)

// registryKinds are the two ways a registry can hold referrers; every bundle case runs on both.
var registryKinds = map[string]bool{"with the referrers API": true, "with only the referrers tag": false}

func TestVerifyBundles(t *testing.T) {
	t.Parallel()
	k := keySet{a: newKey(t, "p256"), b: newKey(t, "p256"), c: newKey(t, "p256")}
	env := map[string]string{"env": "prod"}

	cases := map[string]struct {
		setup           func(t *testing.T, s scene)
		policy          *policy.Policy
		want            reason.Code
		wantMsg         []string
		wantAuthorities []string
		wantSignatures  int
	}{
		"A bundle signed with key A passes a policy trusting key A.": {
			setup:           func(t *testing.T, s scene) { signBundle(t, s.img, k.a, nil) },
			policy:          newPolicy("", 1, nil, authority("a", k.a)),
			wantAuthorities: []string{"a"},
			wantSignatures:  1,
		},
		"A bundle signed with key A fails a policy trusting only key B, naming what was examined.": {
			setup:          func(t *testing.T, s scene) { signBundle(t, s.img, k.a, nil) },
			policy:         newPolicy("", 1, nil, authority("b", k.b)),
			want:           reason.NoMatchingSignatures,
			wantMsg:        []string{"examined 1 sigstore bundle among the referrers of", k.b.pub.ID + " (authority b)"},
			wantSignatures: 1,
		},
		"A bundle made for another image and attached to this one does not verify.": {
			setup: func(t *testing.T, s scene) {
				signBundle(t, s.other, k.a, nil)
				copyBundle(t, s.other, s.img)
			},
			policy:  newPolicy("", 1, nil, authority("a", k.a)),
			want:    reason.NoMatchingSignatures,
			wantMsg: []string{"signatures for other images: key " + k.a.pub.ID + " signed {other}"},
		},
		"Required annotations signed in the bundle's subject pass.": {
			setup:           func(t *testing.T, s scene) { signBundle(t, s.img, k.a, map[string]string{"env": "prod", "team": "x"}) },
			policy:          newPolicy("", 1, env, authority("a", k.a)),
			wantAuthorities: []string{"a"},
		},
		"A bundle without a required annotation fails with AnnotationMismatch.": {
			setup:   func(t *testing.T, s scene) { signBundle(t, s.img, k.a, nil) },
			policy:  newPolicy("", 1, env, authority("a", k.a)),
			want:    reason.AnnotationMismatch,
			wantMsg: []string{`lacks required annotation "env" (policy requires "prod")`},
		},
		"A bundle with another value for a required annotation fails, naming both values.": {
			setup:   func(t *testing.T, s scene) { signBundle(t, s.img, k.a, map[string]string{"env": "Prod"}) },
			policy:  newPolicy("", 1, env, authority("a", k.a)),
			want:    reason.AnnotationMismatch,
			wantMsg: []string{`has annotation "env" = "Prod", policy requires "prod"`},
		},
		"A required empty annotation passes when the bundle has it present and empty.": {
			setup:           func(t *testing.T, s scene) { signBundle(t, s.img, k.a, map[string]string{"reviewed": ""}) },
			policy:          newPolicy("", 1, map[string]string{"reviewed": ""}, authority("a", k.a)),
			wantAuthorities: []string{"a"},
		},
		"Annotations outside the signed statement (on the referrer manifest) count for nothing.": {
			setup: func(t *testing.T, s scene) {
				signBundle(t, s.img, k.a, nil)
				// The referrer manifest's own annotations are not signed; "env" there must not count.
				writeReferrer(t, s.img, verify.BundleMediaType, []byte("{}"), map[string]string{"env": "prod"})
			},
			policy: newPolicy("", 1, env, authority("a", k.a)),
			want:   reason.AnnotationMismatch,
		},
		"A legacy signature and a bundle by two authorities meet a threshold of two.": {
			setup: func(t *testing.T, s scene) {
				sign(t, s.img, k.a, nil)
				signBundle(t, s.img, k.b, nil)
			},
			policy:          newPolicy("", 2, nil, authority("a", k.a), authority("b", k.b)),
			wantAuthorities: []string{"a", "b"},
			wantSignatures:  2,
		},
		"One key signing in both formats counts once toward the threshold.": {
			setup: func(t *testing.T, s scene) {
				sign(t, s.img, k.a, nil)
				signBundle(t, s.img, k.a, nil)
			},
			policy:          newPolicy("", 2, nil, authority("a", k.a), authority("b", k.b)),
			want:            reason.ThresholdNotMet,
			wantMsg:         []string{"1 of 2 required authorities verified: a; missing: b"},
			wantAuthorities: []string{"a"},
			wantSignatures:  2,
		},
		"A referrer that is not a bundle is not a signature.": {
			setup: func(t *testing.T, s scene) {
				writeReferrer(t, s.img, "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`), nil)
			},
			policy:  newPolicy("", 1, nil, authority("a", k.a)),
			want:    reason.NoSignatures,
			wantMsg: []string{"1 referrer is not sigstore bundles"},
		},
		"A referrer that says it is a bundle but holds garbage is reported as unreadable.": {
			setup: func(t *testing.T, s scene) {
				writeReferrer(t, s.img, verify.BundleMediaType, []byte("not a bundle"), nil)
			},
			policy:         newPolicy("", 1, nil, authority("a", k.a)),
			want:           reason.NoMatchingSignatures,
			wantMsg:        []string{"1 is not a readable cosign signature or sigstore v0.3 bundle"},
			wantSignatures: 1,
		},
		"An attestation by a policy key is not a signature.": {
			setup: func(t *testing.T, s scene) {
				writeStatementBundle(t, s.img, k.a, "https://slsa.dev/provenance/v1")
			},
			policy:  newPolicy("", 1, nil, authority("a", k.a)),
			want:    reason.NoMatchingSignatures,
			wantMsg: []string{`attestations, which are not signatures: key ` + k.a.pub.ID + ` attested "https://slsa.dev/provenance/v1"`},
		},
		"A statement with the cosign signature predicate, made by hand, verifies like cosign's.": {
			setup: func(t *testing.T, s scene) {
				writeStatementBundle(t, s.img, k.a, "https://sigstore.dev/cosign/sign/v1")
			},
			policy:          newPolicy("", 1, nil, authority("a", k.a)),
			wantAuthorities: []string{"a"},
		},
	}
	for kind, api := range registryKinds {
		for desc, tc := range cases {
			t.Run(kind+"/"+desc, func(t *testing.T) {
				t.Parallel()
				reg := newRegistryWith(t, api)
				s := scene{reg: reg, img: reg.push(t, "app"), other: reg.push(t, "app")}
				tc.setup(t, s)
				res, err := verify.New().Verify(context.Background(), s.img, tc.policy)
				t.Logf("Verify() error: %v", err)
				if got := reason.Of(err); got != tc.want {
					t.Fatalf("Verify() = %q (%v), want %q", got, err, tc.want)
				}
				for _, m := range tc.wantMsg {
					m = strings.ReplaceAll(m, "{other}", s.other.DigestStr())
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not contain %q", err, m)
					}
				}
				if strings.Join(res.Authorities, ",") != strings.Join(tc.wantAuthorities, ",") {
					t.Errorf("Result.Authorities = %q, want %q", res.Authorities, tc.wantAuthorities)
				}
				if tc.wantSignatures != 0 && res.Signatures != tc.wantSignatures {
					t.Errorf("Result.Signatures = %d, want %d", res.Signatures, tc.wantSignatures)
				}
				if api && reg.referrersTagGets.Load() != 0 {
					t.Errorf("the referrers tag was read %d times although the registry has the referrers API", reg.referrersTagGets.Load())
				}
				if !api && reg.referrersTagGets.Load() == 0 {
					t.Error("the referrers tag was never read although the registry lacks the referrers API")
				}
			})
		}
	}
}

func TestVerifyReferrersFallback(t *testing.T) {
	t.Parallel()
	a := newKey(t, "p256")
	reg := newRegistryWith(t, false)
	img := reg.push(t, "app")
	signBundle(t, img, a, nil) // go-containerregistry's writer takes any 200 for the API: answer 404 while signing
	reg.referrersNotIndex.Store(true)
	if _, err := verify.New().Verify(context.Background(), img, newPolicy("", 1, nil, authority("a", a))); err != nil {
		t.Fatalf("Verify() = %v, want a pass through the referrers tag", err)
	}
	if reg.referrersGets.Load() == 0 || reg.referrersTagGets.Load() == 0 {
		t.Errorf("referrers API asked %d times, referrers tag read %d times; want both", reg.referrersGets.Load(), reg.referrersTagGets.Load())
	}
}

func TestVerifyReferrersFailureIsARegistryError(t *testing.T) {
	t.Parallel()
	a := newKey(t, "p256")
	cases := map[string]struct {
		api    bool
		status int
		want   reason.Code
	}{
		"A server error from the referrers API is registry unreachable, not unsigned.": {api: true, status: http.StatusInternalServerError, want: reason.RegistryUnreachable},
		"Unauthorized from the referrers API is an auth failure.":                      {api: true, status: http.StatusUnauthorized, want: reason.AuthFailed},
		"A server error on the referrers tag is registry unreachable, not unsigned.":   {api: false, status: http.StatusInternalServerError, want: reason.RegistryUnreachable},
		"Too many requests on the referrers tag is rate limiting.":                     {api: false, status: http.StatusTooManyRequests, want: reason.RateLimited},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			reg := newRegistryWith(t, tc.api)
			img := reg.push(t, "app")
			sign(t, img, a, nil) // a valid legacy signature does not hide the failure
			reg.failReferrers.Store(int32(tc.status))
			v := verify.New(verify.WithRemoteOptions(noRetries))
			_, err := v.Verify(context.Background(), img, newPolicy("fp", 1, nil, authority("a", a)))
			if got := reason.Of(err); got != tc.want {
				t.Fatalf("Verify() = %q (%v), want %q", got, err, tc.want)
			}
			reg.failReferrers.Store(0)
			if _, err := v.Verify(context.Background(), img, newPolicy("fp", 1, nil, authority("a", a))); err != nil {
				t.Fatalf("Verify() after recovery = %v", err)
			}
		})
	}
}

func TestVerifyExaminesAtMostMaxSignaturesReferrers(t *testing.T) {
	t.Parallel()
	a := newKey(t, "p256")
	reg := newRegistryWith(t, true)
	img := reg.push(t, "app")
	for range 3 {
		writeReferrer(t, img, "application/spdx+json", []byte("{}"), nil)
	}
	signBundle(t, img, a, nil)
	// The bundle is preferred over the SBOMs when only two referrers may be read.
	res, err := verify.New(verify.WithMaxSignatures(2)).Verify(context.Background(), img, newPolicy("", 1, nil, authority("a", a)))
	if err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	if res.Signatures != 1 {
		t.Errorf("Result.Signatures = %d, want 1", res.Signatures)
	}
}

// copyBundle attaches every bundle referrer of from, unchanged, as a referrer of to.
func copyBundle(t *testing.T, from, to name.Digest) {
	t.Helper()
	idx, err := remote.Referrers(from)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		img, err := remote.Image(from.Context().Digest(d.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := ociremote.WriteAttestationNewBundleFormat(to, raw, "https://sigstore.dev/cosign/sign/v1"); err != nil {
			t.Fatal(err)
		}
	}
}

// writeReferrer attaches an artifact of artifactType holding content to img.
func writeReferrer(t *testing.T, img name.Digest, artifactType string, content []byte, annotations map[string]string) {
	t.Helper()
	layer := static.NewLayer(content, types.MediaType(artifactType))
	if err := ociremote.WriteReferrer(img, artifactType, []v1.Layer{layer}, annotations); err != nil {
		t.Fatal(err)
	}
}

// writeStatementBundle signs, with k, a bundle whose in-toto statement about img has predicateType,
// using sigstore-go directly rather than pkg/publisher.
func writeStatementBundle(t *testing.T, img name.Digest, k testKey, predicateType string) {
	t.Helper()
	st, err := protojson.Marshal(&intoto.Statement{
		Type:          intoto.StatementTypeUri,
		Subject:       []*intoto.ResourceDescriptor{{Digest: map[string]string{"sha256": strings.TrimPrefix(img.DigestStr(), "sha256:")}}},
		PredicateType: predicateType,
		Predicate:     &structpb.Struct{},
	})
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadDefaultSignerVerifier(k.priv, sigopts.WithED25519ph())
	if err != nil {
		t.Fatal(err)
	}
	kp := &testKeypair{sv: sv}
	pb, err := sgsign.Bundle(&sgsign.DSSEData{Data: st, PayloadType: "application/vnd.in-toto+json"}, kp, sgsign.BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteAttestationNewBundleFormat(img, raw, predicateType); err != nil {
		t.Fatal(err)
	}
}
