package verify

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	// BundleMediaType is the media type of a sigstore bundle v0.3, as `cosign sign` stores it: the
	// artifactType of the referrer manifest and the media type of its one layer.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// bundleMediaTypePrefix matches every sigstore bundle version; older ones are reported, not verified.
	bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"
	// maxBundleSize bounds a bundle layer read into memory. A key-signed bundle is a few kilobytes;
	// one with a certificate chain and log entries some tens.
	maxBundleSize = 1 << 20
	// createdAnnotation orders referrers, newest first, when there are more than MaxSignatures.
	createdAnnotation = "org.opencontainers.image.created"
)

// referrerBundles is what one listing of a digest's referrers yields.
type referrerBundles struct {
	// where names what was listed, for messages.
	where string
	// examined counts the referrers classified as sigstore bundles (at most MaxSignatures
	// referrers are fetched), malformed ones included.
	examined int
	// malformed counts bundle referrers that could not be read as a v0.3 bundle.
	malformed int
	// others counts referrers that are not sigstore bundles (SBOMs, legacy artifacts, …).
	others  int
	bundles []*sgbundle.Bundle
}

// fetchBundles lists the referrers of img through the OCI 1.1 referrers API, which
// go-containerregistry falls back from to the `sha256-<hex>` referrers tag when the registry lacks
// the API (404, or a 200 that is not an image index), and reads every referrer that is a sigstore
// bundle. Each referrer is classified by its own manifest, not by what the index says of it.
func (v *Verifier) fetchBundles(ctx context.Context, img name.Digest) (referrerBundles, error) {
	ropts := v.opts.remoteOptionsFor(ctx)
	rb := referrerBundles{where: "the referrers of " + img.Name()}
	idx, err := remote.Referrers(img, ropts...)
	if err != nil {
		return rb, registryError(err, img.Name(), "listing referrers")
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return rb, registryError(err, img.Name(), "reading the referrers index")
	}
	descs := pickReferrers(im.Manifests, v.opts.maxSignatures)

	kinds := make([]referrerKind, len(descs))
	read := make([]*sgbundle.Bundle, len(descs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(fetchWorkers)
	for i, d := range descs {
		g.Go(func() error {
			ref := img.Context().Digest(d.Digest.String())
			k, b, err := readReferrer(ref, append(ropts, remote.WithContext(gctx))...)
			if err != nil {
				return registryError(err, ref.Name(), "reading referrer")
			}
			kinds[i], read[i] = k, b
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return referrerBundles{}, err
	}
	for i, k := range kinds {
		switch k {
		case kindOther:
			rb.others++
		case kindBundle:
			rb.examined++
			rb.bundles = append(rb.bundles, read[i])
		case kindBrokenBundle:
			rb.examined++
			rb.malformed++
		}
	}
	return rb, nil
}

// pickReferrers keeps at most n referrers: those the index calls sigstore bundles first, newest
// first by their created annotation. Which are bundles is decided later, from their manifests.
func pickReferrers(descs []v1.Descriptor, n int) []v1.Descriptor {
	descs = slices.Clone(descs)
	slices.SortStableFunc(descs, func(a, b v1.Descriptor) int {
		ab, bb := strings.HasPrefix(a.ArtifactType, bundleMediaTypePrefix), strings.HasPrefix(b.ArtifactType, bundleMediaTypePrefix)
		if ab != bb {
			if ab {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.Annotations[createdAnnotation], a.Annotations[createdAnnotation])
	})
	if len(descs) > n {
		descs = descs[:n]
	}
	return descs
}

type referrerKind int

const (
	kindOther        referrerKind = iota // not a sigstore bundle, or a referrer that is gone
	kindBundle                           // a readable v0.3 bundle
	kindBrokenBundle                     // says it is a bundle but cannot be read as a v0.3 one
)

// readReferrer fetches one referrer manifest, classifies it, and reads the bundle it holds. The
// error is set only when the registry could not be read.
func readReferrer(ref name.Digest, ropts ...remote.Option) (referrerKind, *sgbundle.Bundle, error) {
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		if notFound(err) {
			return kindOther, nil, nil // listed (e.g. in a stale fallback tag) but deleted since
		}
		if fromRegistry(err) {
			return kindOther, nil, err
		}
		return kindOther, nil, nil
	}
	var m v1.Manifest
	if json.Unmarshal(desc.Manifest, &m) != nil {
		return kindOther, nil, nil
	}
	if !strings.HasPrefix(m.ArtifactType, bundleMediaTypePrefix) && !strings.HasPrefix(string(m.Config.MediaType), bundleMediaTypePrefix) {
		return kindOther, nil, nil
	}
	if len(m.Layers) != 1 || !strings.HasPrefix(string(m.Layers[0].MediaType), bundleMediaTypePrefix) || m.Layers[0].Size > maxBundleSize {
		return kindBrokenBundle, nil, nil
	}
	raw, err := readBlob(ref.Context().Digest(m.Layers[0].Digest.String()), ropts...)
	if err != nil {
		if notFound(err) || !fromRegistry(err) {
			return kindBrokenBundle, nil, nil
		}
		return kindOther, nil, err
	}
	b, err := parseBundle(raw)
	if err != nil {
		return kindBrokenBundle, nil, nil
	}
	return kindBundle, b, nil
}

// readBlob reads a blob of at most maxBundleSize bytes; go-containerregistry checks its digest.
func readBlob(ref name.Digest, ropts ...remote.Option) ([]byte, error) {
	l, err := remote.Layer(ref, ropts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(rc, maxBundleSize+1))
	if err != nil {
		return nil, err
	}
	if n > maxBundleSize {
		return nil, fmt.Errorf("bundle %s is larger than %d bytes", ref, maxBundleSize)
	}
	return buf.Bytes(), nil
}

// parseBundle reads a sigstore bundle as cosign does, and refuses versions before v0.3.
func parseBundle(raw []byte) (*sgbundle.Bundle, error) {
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(raw, &pb); err != nil {
		return nil, fmt.Errorf("parsing sigstore bundle: %w", err)
	}
	b, err := sgbundle.NewBundle(&pb)
	if err != nil {
		return nil, fmt.Errorf("reading sigstore bundle: %w", err)
	}
	if !b.MinVersion("v0.3") {
		return nil, errors.New("sigstore bundle older than v0.3")
	}
	return b, nil
}

func notFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}
