package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sigstore/cosign/v3/pkg/oci"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"golang.org/x/sync/errgroup"

	"github.com/signet-dev/signet/pkg/reason"
)

// legacySignatures is what one read of a digest's `sha256-<hex>.sig` tag yields.
type legacySignatures struct {
	// tag is the signature tag that was read.
	tag string
	// examined counts the signature layers looked at (at most MaxSignatures), malformed ones included.
	examined int
	// malformed counts layers that could not be read as a cosign signature.
	malformed int
	sigs      []signedPayload
}

// signedPayload is one usable signature with its payload already read and parsed.
type signedPayload struct {
	sig oci.Signature
	// claim is the parsed simple-signing payload; nil when the payload is not one (it cannot verify
	// then: cosign's claim verifier parses it too).
	claim *payload.SimpleContainerImage
}

// fetchLegacy reads the legacy signature tag of img and the payload of each of its newest
// MaxSignatures layers.
func (v *Verifier) fetchLegacy(ctx context.Context, img name.Digest) (legacySignatures, error) {
	ropts := []ociremote.Option{ociremote.WithRemoteOptions(v.opts.remoteOptionsFor(ctx)...)}
	tag, err := ociremote.SignatureTag(img, ropts...)
	if err != nil {
		return legacySignatures{}, reason.New(reason.Internal, img.Name(), fmt.Errorf("naming signature tag: %w", err))
	}
	subject := tag.Name()
	// A missing tag (404) yields an empty list, any other failure an error.
	sigs, err := ociremote.Signatures(tag, ropts...)
	if err != nil {
		return legacySignatures{}, registryError(err, subject, "reading signature manifest")
	}
	all, err := sigs.Get()
	if err != nil {
		var tooMany *oci.MaxLayersExceeded
		if errors.As(err, &tooMany) {
			return legacySignatures{}, reason.New(reason.NoMatchingSignatures, img.Name(),
				fmt.Errorf("signature tag %s: %w; refusing to examine it", subject, err))
		}
		return legacySignatures{}, registryError(err, subject, "listing signatures")
	}
	if len(all) > v.opts.maxSignatures {
		// Signatures are appended: the newest are last, and the newest matter after a key rotation.
		all = all[len(all)-v.opts.maxSignatures:]
	}

	read := make([]*signedPayload, len(all))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchWorkers)
	for i, sig := range all {
		g.Go(func() error {
			if gctx.Err() != nil {
				return gctx.Err()
			}
			sp, err := readSignature(sig)
			if err != nil {
				return registryError(err, subject, "reading signature payload")
			}
			read[i] = sp
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return legacySignatures{}, registryError(err, subject, "reading signature payload")
	}

	fs := legacySignatures{tag: subject, examined: len(all)}
	for _, sp := range read {
		if sp == nil {
			fs.malformed++
			continue
		}
		fs.sigs = append(fs.sigs, *sp)
	}
	return fs, nil
}

// readSignature reads one signature layer into memory. It returns (nil, nil) for a layer that is
// not a usable cosign signature, and an error only when the registry could not be read.
func readSignature(sig oci.Signature) (*signedPayload, error) {
	pl, err := sig.Payload()
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return nil, nil // the manifest names a blob the registry does not have: a broken signature
		}
		if fromRegistry(err) {
			return nil, err
		}
		return nil, nil // oversized, or content that does not match its digest
	}
	b64, err := sig.Base64Signature()
	if err != nil {
		return nil, nil
	}
	// Only the payload and the signature take part in key-based verification; certificates, Rekor
	// bundles and timestamps are deliberately left behind.
	s, err := static.NewSignature(pl, b64)
	if err != nil {
		return nil, nil
	}
	sp := &signedPayload{sig: s}
	var claim payload.SimpleContainerImage
	if json.Unmarshal(pl, &claim) == nil {
		sp.claim = &claim
	}
	return sp, nil
}
