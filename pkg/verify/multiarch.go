package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/reason"
)

const (
	// indexTTL is how long what a digest is (an index and its manifests) is remembered. The content
	// behind a digest cannot change, so this only bounds memory held for digests no longer asked about.
	indexTTL = 10 * time.Minute
	// referenceTypeAnnotation with attestationManifestType marks the entries buildx adds to an index for provenance and SBOMs
	// (platform unknown/unknown): they are not platform images and are not required to be signed.
	referenceTypeAnnotation = "vnd.docker.reference.type"
	attestationManifestType = "attestation-manifest"
)

// manifestInfo is what a digest names: a single manifest, or an index and the platform manifests
// it lists.
type manifestInfo struct {
	isIndex   bool
	platforms []platformManifest
}

type platformManifest struct {
	digest   name.Digest
	platform string
}

func (pm platformManifest) String() string { return pm.digest.DigestStr() + " (" + pm.platform + ")" }

// verifyOne checks the signatures of exactly img.
func (v *Verifier) verifyOne(ctx context.Context, img name.Digest, p *policy.Policy, auths []authority, threshold int) (Result, error) {
	fs, err := v.signatures(ctx, img)
	if err != nil {
		return Result{Digest: img}, err
	}
	return evaluate(ctx, img, p, auths, threshold, fs)
}

// verifyMultiArch applies the platforms and any rules.
func (v *Verifier) verifyMultiArch(ctx context.Context, img name.Digest, p *policy.Policy, auths []authority, threshold int) (Result, error) {
	info, err := v.manifestInfo(ctx, img)
	if err != nil {
		return Result{Digest: img}, err
	}
	if !info.isIndex {
		return v.verifyOne(ctx, img, p, auths, threshold)
	}

	var indexErr error
	if p.MultiArch == policy.MultiArchAny {
		res, err := v.verifyOne(ctx, img, p, auths, threshold)
		if err == nil || !cacheable(err) {
			res.Checked = []string{img.DigestStr() + " (index)"}
			return res, err
		}
		indexErr = err
	}

	res, err := v.verifyPlatforms(ctx, img, info.platforms, p, auths, threshold)
	if err == nil || indexErr == nil || !cacheable(err) {
		return res, err
	}
	// Under any, both the index and its platform manifests failed: say both.
	code := reason.Of(err)
	if code == reason.NoSignatures {
		code = reason.Of(indexErr)
	}
	res.Checked = append([]string{img.DigestStr() + " (index)"}, res.Checked...)
	return res, reason.New(code, img.Name(), fmt.Errorf("multi-arch rule any: neither the index nor every platform manifest verifies; index %s: %s; platforms: %s",
		img.DigestStr(), cause(indexErr), cause(err)))
}

// verifyPlatforms requires every platform manifest of an index to verify. It reports the first
// failure's code, with every digest checked.
func (v *Verifier) verifyPlatforms(ctx context.Context, img name.Digest, platforms []platformManifest, p *policy.Policy, auths []authority, threshold int) (Result, error) {
	res := Result{Digest: img}
	for _, pm := range platforms {
		res.Checked = append(res.Checked, pm.String())
	}
	if len(platforms) == 0 {
		return res, reason.Errorf(reason.NoSignatures, img.Name(),
			"multi-arch rule %s: index %s lists no platform manifests to verify", p.MultiArch, img.DigestStr())
	}
	var (
		failed   []string
		firstErr error
	)
	for i, pm := range platforms {
		r, err := v.verifyOne(ctx, pm.digest, p, auths, threshold)
		res.Signatures += r.Signatures
		for _, id := range r.KeyIDs {
			res.KeyIDs = appendUnique(res.KeyIDs, id)
		}
		if i == 0 {
			res.Authorities = r.Authorities
		} else {
			res.Authorities = intersect(res.Authorities, r.Authorities)
		}
		if err == nil {
			continue
		}
		if !cacheable(err) {
			return res, err // the registry could not be asked: no verdict
		}
		if firstErr == nil {
			firstErr = err
		}
		failed = append(failed, fmt.Sprintf("%s: %s", pm, cause(err)))
	}
	if firstErr == nil {
		return res, nil
	}
	return res, reason.New(reason.Of(firstErr), img.Name(), fmt.Errorf("multi-arch rule %s: %d of %d platform manifests of index %s fail: %s; checked %s",
		p.MultiArch, len(failed), len(platforms), img.DigestStr(), strings.Join(failed, "; "), listCapped(res.Checked)))
}

// manifestInfo fetches img's manifest once per digest and lists an index's platform manifests.
func (v *Verifier) manifestInfo(ctx context.Context, img name.Digest) (*manifestInfo, error) {
	key := img.Name()
	if mi, ok := v.indexes.Get(key, v.opts.now()); ok {
		return mi, nil
	}
	ch := v.flight.DoChan("manifest\x00"+key, func() (any, error) {
		desc, err := remote.Get(img, v.opts.remoteOptionsFor(ctx)...)
		if err != nil {
			return nil, registryError(err, key, "reading manifest")
		}
		mi := &manifestInfo{isIndex: desc.MediaType.IsIndex()}
		if mi.isIndex {
			im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
			if err != nil {
				return nil, reason.New(reason.ManifestUnknown, key, fmt.Errorf("reading index: %w", err))
			}
			for _, d := range im.Manifests {
				if d.Annotations[referenceTypeAnnotation] == attestationManifestType {
					continue
				}
				platform := "unknown platform"
				if d.Platform != nil {
					platform = d.Platform.String()
				}
				mi.platforms = append(mi.platforms, platformManifest{digest: img.Context().Digest(d.Digest.String()), platform: platform})
			}
		}
		now := v.opts.now()
		v.indexes.Put(key, mi, now, now.Add(indexTTL))
		return mi, nil
	})
	select {
	case <-ctx.Done():
		return nil, registryError(ctx.Err(), key, "waiting for manifest")
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*manifestInfo), nil
	}
}

// cause is the text of a reason.Error without its code and subject, for nesting in a message.
func cause(err error) string {
	var re *reason.Error
	if errors.As(err, &re) && re.Err != nil {
		return fmt.Sprintf("%s (%s)", re.Err, re.Code)
	}
	return err.Error()
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}
