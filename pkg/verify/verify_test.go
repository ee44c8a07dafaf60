package verify_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/reason"
	"github.com/signet-dev/signet/pkg/verify"
)

// keys are generated once and shared read-only by the parallel cases.
type keySet struct{ a, b, c, p384, rsa, ed25519 testKey }

// scene is what a case acts on: a registry holding the image under test and another image.
type scene struct {
	reg   *testRegistry
	img   name.Digest
	other name.Digest
}

func TestVerify(t *testing.T) {
	t.Parallel()
	k := keySet{
		a: newKey(t, "p256"), b: newKey(t, "p256"), c: newKey(t, "p256"),
		p384: newKey(t, "p384"), rsa: newKey(t, "rsa"), ed25519: newKey(t, "ed25519"),
	}
	env := map[string]string{"env": "prod"}

	cases := map[string]struct {
		opts   []verify.Option
		setup  func(t *testing.T, s scene)
		policy *policy.Policy
		want   reason.Code // "" means pass
		// wantMsg are parts of the error text; "{other}" stands for the other image's digest.
		wantMsg []string
		// wantAuthorities are the satisfied authorities reported, pass or fail.
		wantAuthorities []string
		wantSignatures  int
	}{
		"An image signed with key A passes a policy trusting key A.": {
			setup:           func(t *testing.T, s scene) { sign(t, s.img, k.a, nil) },
			policy:          newPolicy("", 1, nil, authority("a", k.a)),
			wantAuthorities: []string{"a"},
			wantSignatures:  1,
		},
		"An image signed with key A fails a policy trusting only key B, naming the key tried.": {
			setup:          func(t *testing.T, s scene) { sign(t, s.img, k.a, nil) },
			policy:         newPolicy("", 1, nil, authority("b", k.b)),
			want:           reason.NoMatchingSignatures,
			wantMsg:        []string{"examined 1 signature at", k.b.pub.ID + " (authority b)"},
			wantSignatures: 1,
		},
		"An unsigned image fails with NoSignatures and says how to sign it.": {
			policy:  newPolicy("", 1, nil, authority("a", k.a)),
			want:    reason.NoSignatures,
			wantMsg: []string{"no cosign signatures found for", "signet sign --key cosign.key"},
		},
		"A signature made for another digest and copied onto this image's tag does not verify.": {
			setup: func(t *testing.T, s scene) {
				sign(t, s.other, k.a, nil)
				copySignatures(t, s.other, s.img)
			},
			policy:         newPolicy("", 1, nil, authority("a", k.a)),
			want:           reason.NoMatchingSignatures,
			wantMsg:        []string{"signatures for other images: key " + k.a.pub.ID + " signed {other}"},
			wantSignatures: 1,
		},
		"Two authorities that both signed meet a threshold of two.": {
			setup: func(t *testing.T, s scene) {
				sign(t, s.img, k.a, nil)
				sign(t, s.img, k.b, nil)
			},
			policy:          newPolicy("", 2, nil, authority("a", k.a), authority("b", k.b)),
			wantAuthorities: []string{"a", "b"},
			wantSignatures:  2,
		},
		"One of two authorities signing misses a threshold of two.": {
			setup:           func(t *testing.T, s scene) { sign(t, s.img, k.a, nil) },
			policy:          newPolicy("", 2, nil, authority("a", k.a), authority("b", k.b), authority("c", k.c)),
			want:            reason.ThresholdNotMet,
			wantMsg:         []string{"1 of 2 required authorities verified: a; missing: b, c"},
			wantAuthorities: []string{"a"},
			wantSignatures:  1,
		},
		"One key signing twice counts once toward the threshold.": {
			setup: func(t *testing.T, s scene) {
				sign(t, s.img, k.a, map[string]string{"n": "1"})
				sign(t, s.img, k.a, map[string]string{"n": "2"})
			},
			policy:          newPolicy("", 2, nil, authority("a", k.a), authority("b", k.b)),
			want:            reason.ThresholdNotMet,
			wantMsg:         []string{"1 of 2 required authorities verified: a; missing: b"},
			wantAuthorities: []string{"a"},
			wantSignatures:  2,
		},
		"An authority with several keys is satisfied by any one of them.": {
			setup:           func(t *testing.T, s scene) { sign(t, s.img, k.b, nil) },
			policy:          newPolicy("", 1, nil, authority("ab", k.a, k.b)),
			wantAuthorities: []string{"ab"},
			wantSignatures:  1,
		},
		"Required annotations signed with exactly the required values pass.": {
			setup:           func(t *testing.T, s scene) { sign(t, s.img, k.a, map[string]string{"env": "prod", "team": "x"}) },
			policy:          newPolicy("", 1, env, authority("a", k.a)),
			wantAuthorities: []string{"a"},
			wantSignatures:  1,
		},
		"A signature lacking a required annotation fails with AnnotationMismatch.": {
			setup:          func(t *testing.T, s scene) { sign(t, s.img, k.a, nil) },
			policy:         newPolicy("", 1, env, authority("a", k.a)),
			want:           reason.AnnotationMismatch,
			wantMsg:        []string{`lacks required annotation "env" (policy requires "prod")`, k.a.pub.ID},
			wantSignatures: 1,
		},
		"A signature with another value for a required annotation fails, naming the value required.": {
			setup:          func(t *testing.T, s scene) { sign(t, s.img, k.a, map[string]string{"env": "staging"}) },
			policy:         newPolicy("", 1, env, authority("a", k.a)),
			want:           reason.AnnotationMismatch,
			wantMsg:        []string{`has annotation "env" = "staging", policy requires "prod"`},
			wantSignatures: 1,
		},
		"Annotation values compare exactly, not by prefix or case.": {
			setup:   func(t *testing.T, s scene) { sign(t, s.img, k.a, map[string]string{"env": "Prod"}) },
			policy:  newPolicy("", 1, env, authority("a", k.a)),
			want:    reason.AnnotationMismatch,
			wantMsg: []string{`"Prod"`},
		},
		"One signature with the right annotations is enough among several by the same key.": {
			setup: func(t *testing.T, s scene) {
				sign(t, s.img, k.a, map[string]string{"env": "dev"})
				sign(t, s.img, k.a, env)
			},
			policy:          newPolicy("", 1, env, authority("a", k.a)),
			wantAuthorities: []string{"a"},
			wantSignatures:  2,
		},
		"A required empty annotation passes when signed present and empty.": {
			setup:           func(t *testing.T, s scene) { sign(t, s.img, k.a, map[string]string{"reviewed": ""}) },
			policy:          newPolicy("", 1, map[string]string{"reviewed": ""}, authority("a", k.a)),
			wantAuthorities: []string{"a"},
		},
		"A required empty annotation fails when signed with a value.": {
			setup:   func(t *testing.T, s scene) { sign(t, s.img, k.a, map[string]string{"reviewed": "yes"}) },
			policy:  newPolicy("", 1, map[string]string{"reviewed": ""}, authority("a", k.a)),
			want:    reason.AnnotationMismatch,
			wantMsg: []string{`has annotation "reviewed" = "yes", policy requires ""`},
		},
		"A required empty annotation fails when absent.": {
			setup:   func(t *testing.T, s scene) { sign(t, s.img, k.a, map[string]string{"other": ""}) },
			policy:  newPolicy("", 1, map[string]string{"reviewed": ""}, authority("a", k.a)),
			want:    reason.AnnotationMismatch,
			wantMsg: []string{`lacks required annotation "reviewed"`},
		},
		"Annotation trouble is reported with the threshold when it keeps an authority out.": {
			setup: func(t *testing.T, s scene) {
				sign(t, s.img, k.a, env)
				sign(t, s.img, k.b, nil)
			},
			policy:          newPolicy("", 2, env, authority("a", k.a), authority("b", k.b)),
			want:            reason.AnnotationMismatch,
			wantMsg:         []string{"authority b", "1 of 2 required authorities verified: a; missing: b"},
			wantAuthorities: []string{"a"},
		},
		"A P-384 key verifies its cosign-default SHA-384 signature.": {
			setup:           func(t *testing.T, s scene) { sign(t, s.img, k.p384, nil) },
			policy:          newPolicy("", 1, nil, authority("p384", k.p384)),
			wantAuthorities: []string{"p384"},
		},
		"A P-384 key verifies a SHA-256 signature as older cosign made them.": {
			setup: func(t *testing.T, s scene) {
				signWith(t, s.img, k.p384.priv, func(pk crypto.PrivateKey) (signature.Signer, error) {
					return signature.LoadSignerVerifier(pk, crypto.SHA256)
				})
			},
			policy:          newPolicy("", 1, nil, authority("p384", k.p384)),
			wantAuthorities: []string{"p384"},
		},
		"An RSA 2048 key verifies its PKCS #1 v1.5 SHA-256 signature.": {
			setup:           func(t *testing.T, s scene) { sign(t, s.img, k.rsa, nil) },
			policy:          newPolicy("", 1, nil, authority("rsa", k.rsa)),
			wantAuthorities: []string{"rsa"},
		},
		"An Ed25519 key verifies its cosign-default Ed25519ph signature.": {
			setup:           func(t *testing.T, s scene) { sign(t, s.img, k.ed25519, nil) },
			policy:          newPolicy("", 1, nil, authority("ed", k.ed25519)),
			wantAuthorities: []string{"ed"},
		},
		"An Ed25519 key verifies a pure Ed25519 signature.": {
			setup: func(t *testing.T, s scene) {
				signWith(t, s.img, k.ed25519.priv, func(pk crypto.PrivateKey) (signature.Signer, error) {
					return signature.LoadED25519SignerVerifier(pk.(ed25519.PrivateKey))
				})
			},
			policy:          newPolicy("", 1, nil, authority("ed", k.ed25519)),
			wantAuthorities: []string{"ed"},
		},
		"A signature by an RSA key does not verify with an ECDSA key of the policy.": {
			setup:  func(t *testing.T, s scene) { sign(t, s.img, k.rsa, nil) },
			policy: newPolicy("", 1, nil, authority("a", k.a), authority("ed", k.ed25519)),
			want:   reason.NoMatchingSignatures,
		},
		"Layers that are not cosign signatures are examined and reported, never trusted.": {
			setup: func(t *testing.T, s scene) {
				junk, err := random.Image(64, 2)
				if err != nil {
					t.Fatal(err)
				}
				tag, err := ociremote.SignatureTag(s.img)
				if err != nil {
					t.Fatal(err)
				}
				if err := remote.Write(tag, junk); err != nil {
					t.Fatal(err)
				}
			},
			policy:         newPolicy("", 1, nil, authority("a", k.a)),
			want:           reason.NoMatchingSignatures,
			wantMsg:        []string{"examined 2 signatures", "2 are not a readable cosign signature"},
			wantSignatures: 2,
		},
		"Only the newest MaxSignatures signatures are examined.": {
			opts: []verify.Option{verify.WithMaxSignatures(1)},
			setup: func(t *testing.T, s scene) {
				sign(t, s.img, k.a, nil)
				sign(t, s.img, k.b, nil)
			},
			policy:         newPolicy("", 1, nil, authority("a", k.a)),
			want:           reason.NoMatchingSignatures,
			wantMsg:        []string{"examined 1 signature at"},
			wantSignatures: 1,
		},
		"A policy without authorities is a policy error.": {
			policy: newPolicy("", 1, nil),
			want:   reason.PolicyError,
		},
		"A policy with a nil key is a policy error.": {
			policy:  newPolicy("", 1, nil, policy.CompiledAuthority{Name: "a", Keys: []policy.PublicKey{{ID: "deadbeef"}}}),
			want:    reason.PolicyError,
			wantMsg: []string{"authority a key 0 (deadbeef): no key"},
		},
		"An authority without keys is a policy error.": {
			policy: newPolicy("", 1, nil, policy.CompiledAuthority{Name: "a"}),
			want:   reason.PolicyError,
		},
		"A threshold above the number of authorities is a policy error.": {
			policy: newPolicy("", 3, nil, authority("a", k.a), authority("b", k.b)),
			want:   reason.PolicyError,
		},
		"A key shared by two authorities under a threshold of two is a policy error.": {
			policy:  newPolicy("", 2, nil, authority("a", k.a), authority("b", k.a)),
			want:    reason.PolicyError,
			wantMsg: []string{"distinct signers"},
		},
		"A nil policy is a policy error.": {
			want: reason.PolicyError,
		},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			reg := newRegistry(t)
			s := scene{reg: reg, img: reg.push(t, "app"), other: reg.push(t, "app")}
			if tc.setup != nil {
				tc.setup(t, s)
			}
			v := verify.New(tc.opts...)
			res, err := v.Verify(context.Background(), s.img, tc.policy)
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
			if res == nil {
				t.Fatal("Verify returned a nil Result")
			}
			if res.Digest != s.img {
				t.Errorf("Result.Digest = %s, want %s", res.Digest, s.img)
			}
			if !slices.Equal(res.Authorities, tc.wantAuthorities) {
				t.Errorf("Result.Authorities = %q, want %q", res.Authorities, tc.wantAuthorities)
			}
			if tc.wantSignatures != 0 && res.Signatures != tc.wantSignatures {
				t.Errorf("Result.Signatures = %d, want %d", res.Signatures, tc.wantSignatures)
			}
			if tc.want == "" && len(res.KeyIDs) == 0 {
				t.Error("a pass reports no key IDs")
			}
		})
	}
}

// copySignatures writes from's signature tag, unchanged, to to's signature tag.
func copySignatures(t *testing.T, from, to name.Digest) {
	t.Helper()
	src, err := ociremote.SignatureTag(from)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := ociremote.SignatureTag(to)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img); err != nil {
		t.Fatal(err)
	}
}

// signWith signs img with a signer made from priv by load, for hash choices SignWithKey doesn't make.
func signWith(t *testing.T, img name.Digest, priv crypto.PrivateKey, load func(crypto.PrivateKey) (signature.Signer, error)) {
	t.Helper()
	s, err := load(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := publisher.Sign(context.Background(), img, s, nil); err != nil {
		t.Fatal(err)
	}
}
