package policy

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
)

// ErrNoPublicKey is returned by ParsePublicKeys when the data holds no PUBLIC KEY PEM block. A
// Secret's entries that fail this way (cosign.key, cosign.password) are skipped.
var ErrNoPublicKey = errors.New("no PUBLIC KEY PEM block found")

const (
	pemPublicKey    = "PUBLIC KEY"     // PKIX, what cosign writes to cosign.pub
	pemRSAPublicKey = "RSA PUBLIC KEY" // PKCS #1
)

// ParsePublicKeys returns every public key in pemData: each "PUBLIC KEY" (PKIX) and
// "RSA PUBLIC KEY" (PKCS #1) block, in order, without duplicates. Other blocks, private keys
// included, are skipped and never appear in errors. Lines may be indented (PEM pasted into YAML).
// Supported keys are those cosign verifies with: ECDSA P-256/P-384/P-521, RSA 2048/3072/4096 and
// Ed25519. Errors say which block failed, not where the data came from: that is the caller's job.
func ParsePublicKeys(pemData []byte) ([]PublicKey, error) {
	rest := trimLines(pemData)
	var keys []PublicKey
	seen := map[string]bool{}
	n := 0 // public key blocks seen, for messages
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != pemPublicKey && block.Type != pemRSAPublicKey {
			continue
		}
		n++
		k, err := parsePublicKeyBlock(block)
		if err != nil {
			return nil, fmt.Errorf("%s block %d: %w", block.Type, n, err)
		}
		if !seen[k.ID] {
			seen[k.ID] = true
			keys = append(keys, k)
		}
	}
	if n == 0 {
		return nil, ErrNoPublicKey
	}
	return keys, nil
}

// trimLines strips leading and trailing white space from every line, so that PEM indented in a
// YAML block scalar or pasted with trailing spaces or CRLF still decodes.
func trimLines(data []byte) []byte {
	out := make([]byte, 0, len(data))
	for line := range bytes.Lines(data) {
		out = append(out, bytes.TrimSpace(line)...)
		out = append(out, '\n')
	}
	return out
}

func parsePublicKeyBlock(block *pem.Block) (PublicKey, error) {
	var (
		key any
		err error
	)
	if block.Type == pemRSAPublicKey {
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	} else {
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return PublicKey{}, fmt.Errorf("parsing: %w", err)
	}
	if err := checkPublicKey(key); err != nil {
		return PublicKey{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return PublicKey{}, fmt.Errorf("encoding as PKIX: %w", err)
	}
	return PublicKey{Key: key, ID: keyID(der)}, nil
}

// keyID hashes the PKIX encoding, so a key has one ID whichever PEM form it came in.
func keyID(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])[:16]
}

// checkPublicKey accepts what sigstore's verifiers accept (cryptoutils.ValidatePubKey), so a key
// that compiles here also verifies in pkg/verify.
func checkPublicKey(key any) error {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("ECDSA curve %s is not supported; use P-256, P-384 or P-521", k.Curve.Params().Name)
	case *rsa.PublicKey:
		switch bits := k.N.BitLen(); {
		case bits < 2048:
			return fmt.Errorf("RSA key of %d bits is too weak; use 2048, 3072 or 4096 bits", bits)
		case k.Size()*8 != 2048 && k.Size()*8 != 3072 && k.Size()*8 != 4096:
			return fmt.Errorf("RSA key of %d bits is not supported; use 2048, 3072 or 4096 bits", bits)
		}
		return nil
	case ed25519.PublicKey:
		return nil
	case *ecdh.PublicKey:
		return fmt.Errorf("%s keys cannot sign; use an ECDSA, RSA or Ed25519 key", k.Curve())
	default:
		return fmt.Errorf("key type %T is not supported; use an ECDSA, RSA or Ed25519 key", key)
	}
}

// pkixDER returns the PKIX encoding of a key from ParsePublicKeys.
func pkixDER(k PublicKey) ([]byte, error) {
	return x509.MarshalPKIXPublicKey(k.Key)
}
