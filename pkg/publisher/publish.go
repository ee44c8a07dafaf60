package publisher

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/resolver"
)

// PublishOptions configure Publish. The zero value works: TLS with the system roots, anonymous,
// OCI media types, four uploads at once, no progress.
type PublishOptions struct {
	// Registry is the registry access used for reading and writing: CA bundles, insecure hosts,
	// credentials, retries. Default: resolver.New() (system roots, anonymous, no plain HTTP).
	Registry *resolver.Registry
	// Jobs is how many blobs upload at once. Default 4.
	Jobs int
	// Progress, when set, is called as blobs upload (bytes complete of total). Calls come from one
	// goroutine and end before Publish returns.
	Progress func(v1.Update)
	// KeepMediaTypes publishes Docker media types as they are. Default: convert them to OCI, which
	// zot requires (the manifest digest then changes; blobs do not).
	KeepMediaTypes bool
}

// Published is what Publish wrote.
type Published struct {
	// Digest is the digest of the manifest or index written.
	Digest v1.Hash
	// Ref is the digest reference of a registry destination (HOST/REPO@sha256:…); nil for a layout.
	Ref *name.Digest
}

// Publish copies the image or index at src to dst, as `skopeo copy --format oci SRC DST` does:
// layout → registry, registry → registry, registry → layout or layout → layout. Blobs the
// registry already has are not uploaded again; a multi-platform index is copied whole.
func Publish(ctx context.Context, src, dst Location, o PublishOptions) (Published, error) {
	reg, err := o.registry()
	if err != nil {
		return Published{}, err
	}
	a, err := Open(ctx, reg, src)
	if err != nil {
		return Published{}, err
	}
	return Write(ctx, a, dst, o)
}

// Write writes a to dst, converting media types to OCI unless o.KeepMediaTypes.
func Write(ctx context.Context, a Artifact, dst Location, o PublishOptions) (Published, error) {
	reg, err := o.registry()
	if err != nil {
		return Published{}, err
	}
	if !o.KeepMediaTypes {
		if a, err = ToOCI(a); err != nil {
			return Published{}, fmt.Errorf("converting to OCI media types: %w", err)
		}
	}
	h, err := a.Digest()
	if err != nil {
		return Published{}, fmt.Errorf("computing digest: %w", err)
	}
	switch dst.Transport {
	case Layout:
		if err := WriteLayout(dst.Dir, dst.Tag, a); err != nil {
			return Published{}, err
		}
		return Published{Digest: h}, nil
	case Registry:
		ref := reg.Reference(dst.Ref)
		if err := push(ctx, reg, ref, a, o); err != nil {
			return Published{}, fmt.Errorf("publishing to %s: %w", dst, resolver.Classify(err, dst.Ref.String(), false))
		}
		d := ref.Context().Digest(h.String())
		return Published{Digest: h, Ref: &d}, nil
	}
	return Published{}, fmt.Errorf("publishing: unknown destination transport %q", dst.Transport)
}

func push(ctx context.Context, reg *resolver.Registry, ref name.Reference, a Artifact, o PublishOptions) error {
	jobs := o.Jobs
	if jobs < 1 {
		jobs = 4
	}
	opts := append(reg.RemoteOptions(ctx), remote.WithJobs(jobs))
	var done chan struct{}
	if o.Progress != nil {
		// go-containerregistry closes the channel when the push ends.
		updates := make(chan v1.Update, 64)
		done = make(chan struct{})
		go func() {
			defer close(done)
			for u := range updates {
				if u.Error == nil {
					o.Progress(u)
				}
			}
		}()
		opts = append(opts, remote.WithProgress(updates))
	}
	var t remote.Taggable = a.Image
	if a.Index != nil {
		t = a.Index
	}
	err := remote.Push(ref, t, opts...)
	if done != nil {
		<-done
	}
	return err
}

// Open reads the image or index at loc: from an OCI layout, or from a registry through reg.
func Open(ctx context.Context, reg *resolver.Registry, loc Location) (Artifact, error) {
	switch loc.Transport {
	case Layout:
		return ReadLayout(loc.Dir, loc.Tag)
	case Registry:
		if reg == nil {
			return Artifact{}, errors.New("reading from a registry: no registry access configured")
		}
		ref := reg.Reference(loc.Ref)
		desc, err := remote.Get(ref, reg.RemoteOptions(ctx)...)
		if err != nil {
			_, isDigest := loc.Ref.(name.Digest)
			return Artifact{}, fmt.Errorf("reading %s: %w", loc, resolver.Classify(err, loc.Ref.String(), isDigest))
		}
		return artifactFrom(desc.MediaType, desc.Image, desc.ImageIndex, loc.String())
	}
	return Artifact{}, fmt.Errorf("reading: unknown transport %q", loc.Transport)
}

func (o PublishOptions) registry() (*resolver.Registry, error) {
	if o.Registry != nil {
		return o.Registry, nil
	}
	reg, err := resolver.New()
	if err != nil {
		return nil, fmt.Errorf("setting up registry access: %w", err)
	}
	return reg, nil
}
