package publisher

import (
	"errors"
	"fmt"

	"github.com/sigstore/cosign/v3/pkg/cosign"
	"github.com/sigstore/sigstore/pkg/signature"
)

// ErrWrongPassword is returned by LoadSigner when the private key does not decrypt with the
// password given.
var ErrWrongPassword = errors.New("wrong password for private key")

// GenerateKeyPair makes a cosign key pair: an ECDSA P-256 private key encrypted with password in
// an `ENCRYPTED SIGSTORE PRIVATE KEY` PEM block (cosign.key) and its PKIX `PUBLIC KEY` PEM
// (cosign.pub). An empty password is allowed, as in cosign.
func GenerateKeyPair(password []byte) (privPEM, pubPEM []byte, err error) {
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		return nil, nil, fmt.Errorf("generating key pair: %w", err)
	}
	return kb.PrivateBytes, kb.PublicBytes, nil
}

// LoadSigner decrypts a cosign private key (`ENCRYPTED SIGSTORE PRIVATE KEY` or the older
// `ENCRYPTED COSIGN PRIVATE KEY`) with password. The signer uses cosign's default algorithm for
// the key (ECDSA P-256 with SHA-256 for keys cosign makes). A wrong password yields an error
// matching ErrWrongPassword.
func LoadSigner(privPEM, password []byte) (signature.SignerVerifier, error) {
	sv, err := cosign.LoadPrivateKey(privPEM, password, nil)
	if err != nil {
		// cosign reports a failed decryption as "decrypt: encrypted: decryption failed"; the
		// scrypt/secretbox box cannot tell a wrong password from a corrupted key.
		if inner := errors.Unwrap(err); inner != nil && inner.Error() == "encrypted: decryption failed" {
			return nil, fmt.Errorf("loading private key: %w (or the key is corrupted)", ErrWrongPassword)
		}
		return nil, fmt.Errorf("loading private key: %w", err)
	}
	return sv, nil
}
