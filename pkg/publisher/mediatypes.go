package publisher

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ociLayerTypes maps Docker layer media types to their OCI equivalents.
var ociLayerTypes = map[types.MediaType]types.MediaType{
	types.DockerLayer:             types.OCILayer,
	types.DockerUncompressedLayer: types.OCIUncompressedLayer,
	types.DockerForeignLayer:      types.OCIRestrictedLayer,
}

// ToOCI returns a with Docker media types replaced by OCI ones (zot, by default, takes only OCI).
// Blobs are unchanged: the config and layers keep their digests; the manifest and index digests
// change when a media type does. An artifact that is OCI already is returned as is.
func ToOCI(a Artifact) (Artifact, error) {
	if a.Image != nil {
		img, err := imageToOCI(a.Image)
		return Artifact{Image: img}, err
	}
	ii, err := indexToOCI(a.Index)
	return Artifact{Index: ii}, err
}

func imageToOCI(img v1.Image) (v1.Image, error) {
	mt, err := img.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading media type: %w", err)
	}
	if mt == types.OCIManifestSchema1 {
		return img, nil
	}
	if mt != types.DockerManifestSchema2 {
		return nil, fmt.Errorf("cannot convert manifest media type %q to OCI", mt)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	m = m.DeepCopy()
	m.MediaType = types.OCIManifestSchema1
	if m.Config.MediaType == types.DockerConfigJSON {
		m.Config.MediaType = types.OCIConfigJSON
	}
	for i, l := range m.Layers {
		if oci, ok := ociLayerTypes[l.MediaType]; ok {
			m.Layers[i].MediaType = oci
		}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding manifest: %w", err)
	}
	return partial.CompressedToImage(&ociImage{base: img, manifest: m, raw: raw})
}

// ociImage is an image whose manifest was rewritten with OCI media types; its blobs are the base's.
type ociImage struct {
	base     v1.Image
	manifest *v1.Manifest
	raw      []byte
}

func (o *ociImage) RawConfigFile() ([]byte, error)      { return o.base.RawConfigFile() }
func (o *ociImage) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (o *ociImage) RawManifest() ([]byte, error)        { return o.raw, nil }

func (o *ociImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	l, err := o.base.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	for _, d := range o.manifest.Layers {
		if d.Digest == h {
			return &typedLayer{Layer: l, mt: d.MediaType}, nil
		}
	}
	return l, nil // the config blob
}

// typedLayer is a layer reported under another media type.
type typedLayer struct {
	v1.Layer
	mt types.MediaType
}

func (l *typedLayer) MediaType() (types.MediaType, error) { return l.mt, nil }

func indexToOCI(ii v1.ImageIndex) (v1.ImageIndex, error) {
	mt, err := ii.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading media type: %w", err)
	}
	m, err := ii.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading index: %w", err)
	}
	if mt == types.OCIImageIndex && allOCI(m) {
		return ii, nil
	}
	out := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	if len(m.Annotations) > 0 {
		out = mutate.Annotations(out, m.Annotations).(v1.ImageIndex)
	}
	var adds []mutate.IndexAddendum
	for _, d := range m.Manifests {
		var add v1.ImageIndex
		var addImg v1.Image
		switch {
		case d.MediaType.IsIndex():
			child, err := ii.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading index %s: %w", d.Digest, err)
			}
			if add, err = indexToOCI(child); err != nil {
				return nil, fmt.Errorf("index %s: %w", d.Digest, err)
			}
		case d.MediaType.IsImage():
			child, err := ii.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading image %s: %w", d.Digest, err)
			}
			if addImg, err = imageToOCI(child); err != nil {
				return nil, fmt.Errorf("image %s: %w", d.Digest, err)
			}
		default:
			return nil, fmt.Errorf("index entry %s has media type %q, which cannot be converted to OCI", d.Digest, d.MediaType)
		}
		desc := v1.Descriptor{Platform: d.Platform, Annotations: d.Annotations, URLs: d.URLs}
		if add != nil {
			adds = append(adds, mutate.IndexAddendum{Add: add, Descriptor: desc})
		} else {
			adds = append(adds, mutate.IndexAddendum{Add: addImg, Descriptor: desc})
		}
	}
	return mutate.AppendManifests(out, adds...), nil
}

func allOCI(m *v1.IndexManifest) bool {
	for _, d := range m.Manifests {
		if d.MediaType != types.OCIManifestSchema1 && d.MediaType != types.OCIImageIndex {
			return false
		}
	}
	return true
}
