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

// fetchedSignatures is what one read of a digest's signature tag yields. It is shared by every
// caller for the signature TTL and must not be modified.
type fetchedSignatures struct {
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

// payloadFetchWorkers bounds the concurrent blob reads of one signature tag.
const payloadFetchWorkers = 4

// signatures returns img's signatures, from the short cache or from a fetch shared with every
// concurrent caller asking about the same digest.
func (v *Verifier) signatures(ctx context.Context, img name.Digest) (*fetchedSignatures, error) {
	key := img.Name()
	if fs, ok := v.sigCache.get(key, v.opts.now()); ok {
		return fs, nil
	}
	// A shared fetch runs with the context of the caller that started it. When that caller goes
	// away its fetch fails with a context error; a caller whose own context is still live asks again.
	for attempt := 0; ; attempt++ {
		ch := v.flight.DoChan(key, func() (any, error) {
			if fs, ok := v.sigCache.get(key, v.opts.now()); ok {
				return fs, nil
			}
			fs, err := v.fetchSignatures(ctx, img)
			if err != nil {
				return nil, err
			}
			now := v.opts.now()
			v.sigCache.put(key, fs, now, now.Add(v.opts.signatureTTL))
			return fs, nil
		})
		select {
		case <-ctx.Done():
			return nil, registryError(ctx.Err(), key, "waiting for signatures")
		case r := <-ch:
			if r.Err != nil {
				if reason.Of(r.Err) == reason.TimedOut && ctx.Err() == nil && attempt < 2 {
					continue
				}
				return nil, r.Err
			}
			return r.Val.(*fetchedSignatures), nil
		}
	}
}

// fetchSignatures reads the legacy signature tag of img and the payload of each of its newest
// MaxSignatures layers.
func (v *Verifier) fetchSignatures(ctx context.Context, img name.Digest) (*fetchedSignatures, error) {
	v.stats.signatureFetches.Add(1)
	ropts := []ociremote.Option{ociremote.WithRemoteOptions(v.opts.remoteOptionsFor(ctx)...)}
	tag, err := ociremote.SignatureTag(img, ropts...)
	if err != nil {
		return nil, reason.New(reason.Internal, img.Name(), fmt.Errorf("naming signature tag: %w", err))
	}
	subject := tag.Name()
	// A missing tag (404) yields an empty list, any other failure an error.
	sigs, err := ociremote.Signatures(tag, ropts...)
	if err != nil {
		return nil, registryError(err, subject, "reading signature manifest")
	}
	all, err := sigs.Get()
	if err != nil {
		var tooMany *oci.MaxLayersExceeded
		if errors.As(err, &tooMany) {
			return nil, reason.New(reason.NoMatchingSignatures, img.Name(),
				fmt.Errorf("signature tag %s: %w; refusing to examine it", subject, err))
		}
		return nil, registryError(err, subject, "listing signatures")
	}
	if len(all) > v.opts.maxSignatures {
		// Signatures are appended: the newest are last, and the newest matter after a key rotation.
		all = all[len(all)-v.opts.maxSignatures:]
	}

	read := make([]*signedPayload, len(all))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(payloadFetchWorkers)
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
		return nil, registryError(err, subject, "reading signature payload")
	}

	fs := &fetchedSignatures{tag: subject, examined: len(all)}
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
