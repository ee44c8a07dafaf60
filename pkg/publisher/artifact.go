package publisher

import (
	"errors"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact is one publishable thing: a single-platform image or a multi-platform index. Exactly
// one field is set.
type Artifact struct {
	Image v1.Image
	Index v1.ImageIndex
}

// Digest is the digest of the manifest or index.
func (a Artifact) Digest() (v1.Hash, error) {
	switch {
	case a.Image != nil:
		return a.Image.Digest()
	case a.Index != nil:
		return a.Index.Digest()
	}
	return v1.Hash{}, errors.New("empty artifact")
}

// MediaType is the media type of the manifest or index.
func (a Artifact) MediaType() (types.MediaType, error) {
	switch {
	case a.Image != nil:
		return a.Image.MediaType()
	case a.Index != nil:
		return a.Index.MediaType()
	}
	return "", errors.New("empty artifact")
}

// artifactFrom turns something that is an image or an index (by media type) into an Artifact.
func artifactFrom(mt types.MediaType, image func() (v1.Image, error), index func() (v1.ImageIndex, error), what string) (Artifact, error) {
	switch {
	case mt.IsIndex():
		ii, err := index()
		if err != nil {
			return Artifact{}, fmt.Errorf("reading index %s: %w", what, err)
		}
		return Artifact{Index: ii}, nil
	case mt == types.DockerManifestSchema1 || mt == types.DockerManifestSchema1Signed:
		return Artifact{}, fmt.Errorf("%s is a Docker schema 1 manifest, which OCI registries do not take; rebuild it with a current tool", what)
	case mt.IsImage():
		img, err := image()
		if err != nil {
			return Artifact{}, fmt.Errorf("reading image %s: %w", what, err)
		}
		return Artifact{Image: img}, nil
	}
	return Artifact{}, fmt.Errorf("%s has media type %q, which is neither an image nor an index", what, mt)
}
