package publisher

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	cosignremote "github.com/sigstore/cosign/v3/pkg/cosign/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// Sign signs img in cosign's legacy format: it signs the simple-signing payload naming img's
// digest and carrying annotations, and appends the signature to the `sha256-<hex>.sig` tag in
// img's repository, keeping the signatures already there. Signing the same payload again with the
// same key does not add a duplicate when signer is also a signature.Verifier. Two signers
// appending to the same tag at the same moment can lose one signature (the registry has no
// compare-and-swap); sign again if that matters.
//
// opts are go-containerregistry options (auth, transport); remote.WithContext(ctx) is added first.
// img must exist in the registry.
func Sign(ctx context.Context, img name.Digest, signer signature.Signer, annotations map[string]string, opts ...remote.Option) error {
	if signer == nil {
		return errors.New("signing: no signer")
	}
	pl, err := payload.Cosign{Image: img, Annotations: toAny(annotations)}.MarshalJSON()
	if err != nil {
		return fmt.Errorf("making signature payload for %s: %w", img, err)
	}
	raw, err := signer.SignMessage(bytes.NewReader(pl), sigopts.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("signing %s: %w", img, err)
	}
	sig, err := static.NewSignature(pl, base64.StdEncoding.EncodeToString(raw))
	if err != nil {
		return fmt.Errorf("signing %s: %w", img, err)
	}

	ropts := []ociremote.Option{ociremote.WithRemoteOptions(append([]remote.Option{remote.WithContext(ctx)}, opts...)...)}
	se, err := ociremote.SignedEntity(img, ropts...)
	var notFound *ociremote.EntityNotFoundError
	if errors.As(err, &notFound) {
		return fmt.Errorf("signing %s: image not found in the registry", img)
	} else if err != nil {
		return fmt.Errorf("signing %s: reading image: %w", img, err)
	}
	var attach []mutate.SignOption
	if v, ok := signer.(signature.Verifier); ok {
		attach = append(attach, mutate.WithDupeDetector(cosignremote.NewDupeDetector(v)))
	}
	signed, err := mutate.AttachSignatureToEntity(se, sig, attach...)
	if err != nil {
		return fmt.Errorf("signing %s: attaching signature: %w", img, err)
	}
	if err := ociremote.WriteSignatures(img.Context(), signed, ropts...); err != nil {
		return fmt.Errorf("signing %s: writing signatures: %w", img, err)
	}
	return nil
}

// SignWithKey is Sign with a raw private key (*ecdsa.PrivateKey, *rsa.PrivateKey or
// ed25519.PrivateKey), signed with cosign's default algorithm for that key: ECDSA with the curve's
// hash (P-256: SHA-256, P-384: SHA-384, P-521: SHA-512), RSA PKCS #1 v1.5 with SHA-256, Ed25519ph.
// pkg/verify accepts all of these.
func SignWithKey(ctx context.Context, img name.Digest, key crypto.PrivateKey, annotations map[string]string, opts ...remote.Option) error {
	sv, err := signerForKey(key)
	if err != nil {
		return err
	}
	return Sign(ctx, img, sv, annotations, opts...)
}

func signerForKey(key crypto.PrivateKey) (signature.SignerVerifier, error) {
	sv, err := signature.LoadDefaultSignerVerifier(key, sigopts.WithED25519ph())
	if err != nil {
		return nil, fmt.Errorf("loading signing key: %w", err)
	}
	return sv, nil
}

func toAny(m map[string]string) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
