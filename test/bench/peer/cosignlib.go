package peer

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v3/pkg/cosign"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// CosignLibrary verifies images with one public key over one shared transport (keep-alive, as a
// long-running controller keeps it).
type CosignLibrary struct {
	verifier  signature.Verifier
	transport http.RoundTripper
}

// NewCosignLibrary parses pubPEM (a cosign.pub) and keeps tr for every registry request.
func NewCosignLibrary(pubPEM []byte, tr http.RoundTripper) (*CosignLibrary, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
	if err != nil {
		return nil, fmt.Errorf("parsing the public key: %w", err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading the public key: %w", err)
	}
	return &CosignLibrary{verifier: v, transport: tr}, nil
}

// Verify resolves tag with a GET of its manifest and verifies the digest's legacy cosign
// signatures, offline (no transparency log), comparing the signed digest with the image's. It
// returns the digest and how many signatures verified.
func (c *CosignLibrary) Verify(ctx context.Context, tag string) (string, int, error) {
	ref, err := name.NewTag(tag)
	if err != nil {
		return "", 0, fmt.Errorf("tag %q: %w", tag, err)
	}
	ropts := []remote.Option{remote.WithTransport(c.transport), remote.WithContext(ctx)}
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return "", 0, fmt.Errorf("resolving %s: %w", tag, err)
	}
	d := ref.Context().Digest(desc.Digest.String())
	sigs, _, err := cosign.VerifyImageSignatures(ctx, d, &cosign.CheckOpts{
		RegistryClientOpts: []ociremote.Option{ociremote.WithRemoteOptions(ropts...)},
		SigVerifier:        c.verifier,
		ClaimVerifier:      cosign.SimpleClaimVerifier,
		IgnoreTlog:         true,
		IgnoreSCT:          true,
	})
	if err != nil {
		return d.DigestStr(), 0, fmt.Errorf("verifying %s: %w", d, err)
	}
	if len(sigs) == 0 {
		return d.DigestStr(), 0, errors.New("verifying " + d.String() + ": no signature verified")
	}
	return d.DigestStr(), len(sigs), nil
}
