package publisher

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Transport is where an image lives, in skopeo's terms.
type Transport string

const (
	// Layout is an OCI image layout directory: `oci:DIR[:TAG]`.
	Layout Transport = "oci"
	// Registry is an OCI distribution registry: `docker://HOST/REPO:TAG` or `…@sha256:…`.
	Registry Transport = "docker"
)

// Location is a parsed skopeo-style image location.
type Location struct {
	Transport Transport
	// Dir and Tag are set for Layout. Tag is the org.opencontainers.image.ref.name of the image in
	// the layout's index; empty means "the only image in the layout".
	Dir, Tag string
	// Ref is set for Registry.
	Ref name.Reference
}

// String gives the location back in skopeo's syntax.
func (l Location) String() string {
	if l.Transport == Layout {
		if l.Tag == "" {
			return "oci:" + l.Dir
		}
		return "oci:" + l.Dir + ":" + l.Tag
	}
	if l.Ref == nil {
		return "docker://"
	}
	return "docker://" + l.Ref.String()
}

// ParseLocation reads `oci:DIR[:TAG]` or `docker://REF`. A registry reference is read as docker
// and skopeo read it (no registry: Docker Hub; no tag: latest); opts are name options.
func ParseLocation(s string, opts ...name.Option) (Location, error) {
	switch {
	case strings.HasPrefix(s, "docker://"):
		rest := strings.TrimPrefix(s, "docker://")
		ref, err := name.ParseReference(rest, opts...)
		if err != nil {
			return Location{}, fmt.Errorf("image location %q: %w; write docker://HOST/REPO:TAG", s, err)
		}
		return Location{Transport: Registry, Ref: ref}, nil
	case strings.HasPrefix(s, "oci:"):
		rest := strings.TrimPrefix(s, "oci:")
		dir, tag := rest, ""
		// The tag is after the last colon, unless that colon belongs to the path (a Windows drive
		// or a directory name with a colon followed by a slash).
		if i := strings.LastIndex(rest, ":"); i >= 0 && !strings.Contains(rest[i+1:], "/") {
			dir, tag = rest[:i], rest[i+1:]
		}
		if dir == "" {
			return Location{}, fmt.Errorf("image location %q: no directory; write oci:DIR:TAG", s)
		}
		return Location{Transport: Layout, Dir: filepath.Clean(dir), Tag: tag}, nil
	}
	return Location{}, fmt.Errorf("image location %q: unknown transport; write oci:DIR:TAG or docker://HOST/REPO:TAG", s)
}
