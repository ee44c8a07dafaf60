package verify_test

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/reason"
	"github.com/signet-dev/signet/pkg/verify"
)

// TestVerifyEveryKeyType signs with every supported key and algorithm in both formats and checks
// that the key verifies its own signature and that another key of the same kind does not.
func TestVerifyEveryKeyType(t *testing.T) {
	t.Parallel()
	pss := func(h crypto.Hash) func(crypto.PrivateKey) (signature.SignerVerifier, error) {
		return func(pk crypto.PrivateKey) (signature.SignerVerifier, error) {
			return signature.LoadRSAPSSSignerVerifier(pk.(*rsa.PrivateKey), h, &rsa.PSSOptions{Hash: h})
		}
	}
	pkcs1 := func(h crypto.Hash) func(crypto.PrivateKey) (signature.SignerVerifier, error) {
		return func(pk crypto.PrivateKey) (signature.SignerVerifier, error) {
			return signature.LoadRSAPKCS1v15SignerVerifier(pk.(*rsa.PrivateKey), h)
		}
	}
	cosignDefault := func(pk crypto.PrivateKey) (signature.SignerVerifier, error) {
		return signature.LoadDefaultSignerVerifier(pk, sigopts.WithED25519ph())
	}
	cases := map[string]struct {
		kind string
		load func(crypto.PrivateKey) (signature.SignerVerifier, error)
	}{
		"ECDSA P-256 with SHA-256 verifies.":                {"p256", cosignDefault},
		"ECDSA P-384 with SHA-384 verifies.":                {"p384", cosignDefault},
		"ECDSA P-521 with SHA-512 verifies.":                {"p521", cosignDefault},
		"RSA 2048 PKCS #1 v1.5 with SHA-256 verifies.":      {"rsa2048", pkcs1(crypto.SHA256)},
		"RSA 3072 PKCS #1 v1.5 with SHA-384 verifies.":      {"rsa3072", pkcs1(crypto.SHA384)},
		"RSA 4096 PKCS #1 v1.5 with SHA-512 verifies.":      {"rsa4096", pkcs1(crypto.SHA512)},
		"RSA 2048 PSS with SHA-256 verifies.":               {"rsa2048", pss(crypto.SHA256)},
		"RSA 3072 PSS with SHA-384 verifies.":               {"rsa3072", pss(crypto.SHA384)},
		"RSA 4096 PSS with SHA-512 verifies.":               {"rsa4096", pss(crypto.SHA512)},
		"Ed25519 in cosign's default (Ed25519ph) verifies.": {"ed25519", cosignDefault},
		"Ed25519 signing pure Ed25519 (older cosign) verifies.": {"ed25519", func(pk crypto.PrivateKey) (signature.SignerVerifier, error) {
			return signature.LoadED25519SignerVerifier(pk.(ed25519.PrivateKey))
		}},
	}
	for desc, tc := range cases {
		for _, format := range []string{"legacy", "bundle"} {
			t.Run(format+"/"+desc, func(t *testing.T) {
				t.Parallel()
				k, other := newKey(t, tc.kind), newKey(t, tc.kind)
				sv, err := tc.load(k.priv)
				if err != nil {
					t.Fatal(err)
				}
				reg := newRegistryWith(t, format == "bundle")
				img := reg.push(t, "app")
				switch format {
				case "legacy":
					err = publisher.Sign(context.Background(), img, sv, nil)
				case "bundle":
					err = publisher.SignBundle(context.Background(), img, sv, nil)
				}
				if err != nil {
					t.Fatalf("signing: %v", err)
				}
				v := verify.New()
				if _, err := v.Verify(context.Background(), img, newPolicy("", 1, nil, authority("k", k))); err != nil {
					t.Errorf("Verify(own key) = %v", err)
				}
				if _, err := v.Verify(context.Background(), img, newPolicy("", 1, nil, authority("other", other))); reason.Of(err) != reason.NoMatchingSignatures {
					t.Errorf("Verify(another key) = %v, want %q", err, reason.NoMatchingSignatures)
				}
			})
		}
	}
}

func TestVerifyUnsupportedKeysArePolicyErrors(t *testing.T) {
	t.Parallel()
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		key     crypto.PublicKey
		wantMsg string
	}{
		"A P-224 ECDSA key is refused, naming the curves that work.": {p224.Public(), "ECDSA curve P-224 is not supported; use P-256, P-384 or P-521"},
		"An X25519 key is refused, naming the key types that work.":  {x25519.PublicKey(), "key type *ecdh.PublicKey is not supported; use an ECDSA"},
		"An RSA 1024 key is refused, naming the sizes that work.":    {rsa1024.Public(), "RSA key of 1024 bits is not supported; use 2048 to 4096 bits"},
		"A typed nil ECDSA key is refused, not a panic.":             {(*ecdsa.PublicKey)(nil), "no key"},
		"A truncated Ed25519 key is refused, not a panic.":           {ed25519.PublicKey{1, 2, 3}, "Ed25519 key of 3 bytes is malformed"},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			reg := newRegistry(t)
			img := reg.push(t, "app")
			p := newPolicy("", 1, nil, policy.CompiledAuthority{Name: "a", Keys: []policy.PublicKey{{Key: tc.key, ID: "k1"}}})
			_, err := verify.New().Verify(context.Background(), img, p)
			if reason.Of(err) != reason.PolicyError {
				t.Fatalf("Verify() = %v, want %q", err, reason.PolicyError)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tc.wantMsg)
			}
		})
	}
}
