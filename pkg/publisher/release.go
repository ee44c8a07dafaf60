package publisher

import (
	"context"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"
)

// ReleaseOptions configure Release.
type ReleaseOptions struct {
	// Image is the image of the build file to release; it may be empty when the file builds one
	// image (build_only images aside).
	Image string
	// Layout, when set, also receives the built images (as BuildToLayout writes them).
	Layout  string
	Build   BuildOptions
	Publish PublishOptions
	Sign    SignOptions
}

// Released is what Release did.
type Released struct {
	Built     Built
	Published Published
	Signed    Signed
}

// Release builds bf, publishes the chosen image to dst (a registry location) and signs its
// digest: `signet build`, `signet publish` and `signet sign` in one step. Registry access for
// bases, the push and signing is o.Publish.Registry.
func Release(ctx context.Context, bf *BuildFile, dst Location, signer signature.SignerVerifier, o ReleaseOptions) (Released, error) {
	if dst.Transport != Registry {
		return Released{}, fmt.Errorf("release destination %s: must be a registry (docker://HOST/REPO:TAG)", dst)
	}
	reg, err := o.Publish.registry()
	if err != nil {
		return Released{}, err
	}
	o.Publish.Registry = reg
	if o.Build.Registry == nil {
		o.Build.Registry = reg
	}
	var built []Built
	if o.Layout != "" {
		built, err = BuildToLayout(ctx, bf, o.Layout, o.Build)
	} else {
		built, err = Build(ctx, bf, o.Build)
	}
	if err != nil {
		return Released{}, err
	}
	b, err := pick(built, o.Image)
	if err != nil {
		return Released{}, err
	}
	pub, err := Write(ctx, b.Artifact, dst, o.Publish)
	if err != nil {
		return Released{Built: b}, err
	}
	signed, err := SignReference(ctx, reg, *pub.Ref, signer, o.Sign)
	if err != nil {
		return Released{Built: b, Published: pub}, fmt.Errorf("published %s but signing failed: %w", pub.Ref, err)
	}
	return Released{Built: b, Published: pub, Signed: signed}, nil
}

func pick(built []Built, image string) (Built, error) {
	var names []string
	for _, b := range built {
		if image != "" && b.Name == image {
			return b, nil
		}
		if !b.BuildOnly {
			names = append(names, b.Name)
		}
	}
	if image != "" {
		return Built{}, fmt.Errorf("image %q is not in the build file (it has %s)", image, strings.Join(names, ", "))
	}
	if len(names) != 1 {
		return Built{}, fmt.Errorf("the build file makes %d images (%s); choose one with --image", len(names), strings.Join(names, ", "))
	}
	for _, b := range built {
		if b.Name == names[0] {
			return b, nil
		}
	}
	return Built{}, fmt.Errorf("image %q not built", names[0])
}

// String is the digest reference a release prints: HOST/REPO@sha256:….
func (r Released) String() string {
	if r.Published.Ref == nil {
		return ""
	}
	return r.Published.Ref.String()
}
