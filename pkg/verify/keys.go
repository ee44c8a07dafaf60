package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"

	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/signet-dev/signet/pkg/policy"
)

// keyVerifiers returns the signature verifiers a key's legacy cosign signatures may have been made
// with. cosign signs the simple-signing payload with the key's sigstore default algorithm (cosign
// v2.x and older always used SHA-256), so each key accepts:
//
//   - ECDSA: SHA-256, and the curve's default hash (P-384: SHA-384, P-521: SHA-512);
//   - RSA: PKCS #1 v1.5 and PSS, each with SHA-256, SHA-384 and SHA-512 (cosign signs PKCS #1 v1.5
//     with SHA-256; the others are what other signers and `--signing-algorithm` choose);
//   - Ed25519: Ed25519ph (what cosign.LoadPrivateKey signs with today) and pure Ed25519 (older cosign, and
//     `cosign verify`'s own default).
//
// Every accepted combination is a standard, collision-resistant one: accepting several does not
// weaken what a signature proves.
func keyVerifiers(pub crypto.PublicKey) ([]signature.Verifier, error) {
	var loads [][]signature.LoadOption
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return nil, fmt.Errorf("no key")
		}
		loads = append(loads, []signature.LoadOption{sigopts.WithHash(crypto.SHA256)})
		switch k.Curve {
		case elliptic.P256():
		case elliptic.P384():
			loads = append(loads, []signature.LoadOption{sigopts.WithHash(crypto.SHA384)})
		case elliptic.P521():
			loads = append(loads, []signature.LoadOption{sigopts.WithHash(crypto.SHA512)})
		default:
			return nil, fmt.Errorf("ECDSA curve %s is not supported; use P-256, P-384 or P-521", k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return nil, fmt.Errorf("no key")
		}
		if bits := k.N.BitLen(); bits < 2048 || bits > 4096 {
			return nil, fmt.Errorf("RSA key of %d bits is not supported; use 2048 to 4096 bits", bits)
		}
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			loads = append(loads, []signature.LoadOption{sigopts.WithHash(h)})
		}
		for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
			// PSSSaltLengthAuto accepts any salt length, as signers differ (Go's default is the
			// maximum, others use the hash length).
			loads = append(loads, []signature.LoadOption{sigopts.WithHash(h), sigopts.WithRSAPSS(&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: h})})
		}
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("Ed25519 key of %d bytes is malformed; it must be %d bytes", len(k), ed25519.PublicKeySize)
		}
		loads = append(loads, []signature.LoadOption{sigopts.WithED25519ph()}, nil)
	case nil:
		return nil, fmt.Errorf("no key")
	default:
		return nil, fmt.Errorf("key type %T is not supported; use an ECDSA (P-256, P-384, P-521), RSA (2048 to 4096 bits) or Ed25519 key", pub)
	}
	vs := make([]signature.Verifier, 0, len(loads))
	for _, opts := range loads {
		v, err := signature.LoadVerifierWithOpts(pub, opts...)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// keyID returns k.ID, or computes it the way pkg/policy does (the first 16 hex characters of the
// SHA-256 of the key's PKIX DER) when a caller built the key by hand.
func keyID(k policy.PublicKey) string {
	if k.ID != "" {
		return k.ID
	}
	der, err := x509.MarshalPKIXPublicKey(k.Key)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])[:16]
}
