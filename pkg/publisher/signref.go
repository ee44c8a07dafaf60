package publisher

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/pkg/resolver"
)

// Format is which signature formats SignReference writes.
type Format string

const (
	// FormatLegacy is the `sha256-<hex>.sig` tag that cosign v1/v2 and the cosigned webhook read.
	FormatLegacy Format = "legacy"
	// FormatBundle is a sigstore bundle stored as an OCI 1.1 referrer, as cosign v3 writes it.
	FormatBundle Format = "bundle"
	// FormatBoth writes both, so that every verifier finds a signature.
	FormatBoth Format = "both"
)

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatLegacy, FormatBundle, FormatBoth:
		return f, nil
	}
	return "", fmt.Errorf("signature format %q: use legacy, bundle or both", s)
}

// SignOptions configure SignReference.
type SignOptions struct {
	// Format is what to write. Default FormatBoth.
	Format Format
	// Annotations go into the signed payload.
	Annotations map[string]string
	// Recursive also signs each platform manifest of a multi-platform index.
	Recursive bool
}

// Signed says what SignReference signed.
type Signed struct {
	// Digest is the digest reference signed (for Recursive, the index).
	Digest name.Digest
	// Tag is the tag it was resolved from, when the reference was a tag.
	Tag string
	// Platforms are the platform manifests also signed (Recursive).
	Platforms []name.Digest
	// Formats are the formats written.
	Formats []Format
}

// SignReference resolves ref to its digest through reg (a tag is never signed, its digest is)
// and signs that digest in o.Format.
func SignReference(ctx context.Context, reg *resolver.Registry, ref name.Reference, signer signature.SignerVerifier, o SignOptions) (Signed, error) {
	format := o.Format
	if format == "" {
		format = FormatBoth
	}
	if _, err := ParseFormat(string(format)); err != nil {
		return Signed{}, err
	}
	dig, err := reg.Resolve(ctx, ref)
	if err != nil {
		return Signed{}, fmt.Errorf("resolving %s: %w", ref, err)
	}
	dig = reg.Reference(dig).(name.Digest)
	out := Signed{Digest: dig}
	if t, ok := ref.(name.Tag); ok {
		out.Tag = t.TagStr()
	}
	targets := []name.Digest{dig}
	if o.Recursive {
		children, err := platformManifests(ctx, reg, dig)
		if err != nil {
			return Signed{}, err
		}
		out.Platforms = children
		targets = append(targets, children...)
	}
	for _, f := range []Format{FormatLegacy, FormatBundle} {
		if format != FormatBoth && format != f {
			continue
		}
		for _, t := range targets {
			opts := reg.RemoteOptions(ctx)
			switch f {
			case FormatLegacy:
				err = Sign(ctx, t, signer, o.Annotations, opts...)
			case FormatBundle:
				err = SignBundle(ctx, t, signer, o.Annotations, opts...)
			}
			if err != nil {
				return out, fmt.Errorf("%s signature: %w", f, resolver.Classify(err, t.String(), true))
			}
		}
		out.Formats = append(out.Formats, f)
	}
	return out, nil
}

// platformManifests lists the manifests of the index at dig; none when dig is an image.
func platformManifests(ctx context.Context, reg *resolver.Registry, dig name.Digest) ([]name.Digest, error) {
	desc, err := remote.Get(dig, reg.RemoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dig, resolver.Classify(err, dig.String(), true))
	}
	if !desc.MediaType.IsIndex() {
		return nil, nil
	}
	ii, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("reading index %s: %w", dig, err)
	}
	m, err := ii.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading index %s: %w", dig, err)
	}
	var out []name.Digest
	for _, d := range m.Manifests {
		out = append(out, dig.Context().Digest(d.Digest.String()))
	}
	return out, nil
}
