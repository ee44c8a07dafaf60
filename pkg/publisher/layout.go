package publisher

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
)

// RefNameAnnotation is the index annotation that names an image in an OCI layout (its tag, in
// skopeo's `oci:DIR:TAG`).
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// ReadLayout returns the image or index tagged tag in the OCI layout at dir. An empty tag picks
// the layout's only entry.
func ReadLayout(dir, tag string) (Artifact, error) {
	where := "oci:" + dir
	if tag != "" {
		where += ":" + tag
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return Artifact{}, fmt.Errorf("opening OCI layout %s: %w (is it a directory made by signet build or skopeo copy?)", dir, err)
	}
	ii, err := p.ImageIndex()
	if err != nil {
		return Artifact{}, fmt.Errorf("reading OCI layout %s: %w", dir, err)
	}
	m, err := ii.IndexManifest()
	if err != nil {
		return Artifact{}, fmt.Errorf("reading index.json of OCI layout %s: %w", dir, err)
	}
	var found []v1.Descriptor
	var tags []string
	for _, d := range m.Manifests {
		t := d.Annotations[RefNameAnnotation]
		if t != "" {
			tags = append(tags, t)
		}
		if tag == "" || t == tag {
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 0 && tag != "":
		return Artifact{}, fmt.Errorf("%s: no image tagged %q in the layout (tags: %s)", where, tag, listOrNone(tags))
	case len(found) == 0:
		return Artifact{}, fmt.Errorf("%s: the layout is empty", where)
	case len(found) > 1 && tag == "":
		return Artifact{}, fmt.Errorf("%s: the layout holds %d images; name one as oci:%s:TAG (tags: %s)", where, len(found), dir, listOrNone(tags))
	case len(found) > 1:
		return Artifact{}, fmt.Errorf("%s: %d entries carry the tag %q; remove all but one from index.json", where, len(found), tag)
	}
	d := found[0]
	return artifactFrom(d.MediaType,
		func() (v1.Image, error) { return ii.Image(d.Digest) },
		func() (v1.ImageIndex, error) { return ii.ImageIndex(d.Digest) },
		where)
}

// WriteLayout writes a into the OCI layout at dir (made when missing) under tag, replacing the
// entry that had the tag. Blobs already in the layout are not written again.
func WriteLayout(dir, tag string, a Artifact) error {
	p, err := openOrCreateLayout(dir)
	if err != nil {
		return err
	}
	var opts []layout.Option
	matcher := match.Annotation(RefNameAnnotation, tag)
	if tag != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{RefNameAnnotation: tag}))
	}
	switch {
	case a.Image != nil && tag == "":
		err = p.AppendImage(a.Image)
	case a.Image != nil:
		err = p.ReplaceImage(a.Image, matcher, opts...)
	case a.Index != nil && tag == "":
		err = p.AppendIndex(a.Index)
	case a.Index != nil:
		err = p.ReplaceIndex(a.Index, matcher, opts...)
	default:
		return errors.New("writing OCI layout: nothing to write")
	}
	if err != nil {
		return fmt.Errorf("writing oci:%s:%s: %w", dir, tag, err)
	}
	return nil
}

func openOrCreateLayout(dir string) (layout.Path, error) {
	p, err := layout.FromPath(dir)
	if err == nil {
		return p, nil
	}
	if _, statErr := os.Stat(dir + "/index.json"); !errors.Is(statErr, fs.ErrNotExist) {
		return "", fmt.Errorf("opening OCI layout %s: %w", dir, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		return "", fmt.Errorf("%s is not empty and not an OCI layout (no index.json); choose another directory", dir)
	}
	p, err = layout.Write(dir, empty.Index)
	if err != nil {
		return "", fmt.Errorf("creating OCI layout %s: %w", dir, err)
	}
	return p, nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
