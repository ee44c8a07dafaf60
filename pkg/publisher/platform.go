package publisher

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// defaultPlatform is used when an image names none: fixed, so that a build does not depend on
// the machine it runs on.
var defaultPlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

// platforms returns the image's platforms and whether it is a multi-platform index.
func (s *ImageSpec) platforms() ([]v1.Platform, error) {
	if len(s.Platforms) > 0 && (s.OS != "" || s.Arch != "") {
		return nil, fmt.Errorf("give either platforms: or os:/arch:, not both")
	}
	if len(s.Platforms) == 0 {
		p := defaultPlatform
		if s.OS != "" {
			p.OS = s.OS
		}
		if s.Arch != "" {
			p.Architecture = s.Arch
		}
		return []v1.Platform{p}, nil
	}
	var out []v1.Platform
	seen := map[string]bool{}
	for _, ps := range s.Platforms {
		p, err := parsePlatform(ps)
		if err != nil {
			return nil, err
		}
		if seen[p.String()] {
			return nil, fmt.Errorf("platform %s is listed twice", p)
		}
		seen[p.String()] = true
		out = append(out, p)
	}
	for i, im := range s.Import {
		for _, ps := range im.Platforms {
			p, err := parsePlatform(ps)
			if err != nil {
				return nil, fmt.Errorf("import %d (%s): %w", i, im.Path, err)
			}
			if !seen[p.String()] {
				return nil, fmt.Errorf("import %d (%s): platform %s is not one of the image's platforms", i, im.Path, p)
			}
		}
	}
	return out, nil
}

func parsePlatform(s string) (v1.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return v1.Platform{}, fmt.Errorf("platform %q: write OS/ARCH or OS/ARCH/VARIANT, e.g. linux/arm64/v8", s)
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// forPlatform reports whether an import applies to p.
func (im *Import) forPlatform(p v1.Platform) bool {
	if len(im.Platforms) == 0 {
		return true
	}
	for _, ps := range im.Platforms {
		if q, err := parsePlatform(ps); err == nil && q.String() == p.String() {
			return true
		}
	}
	return false
}

// platformPath replaces ${{OS}}, ${{ARCH}} and ${{VARIANT}} in s.
func platformPath(s string, p v1.Platform) string {
	return strings.NewReplacer("${{OS}}", p.OS, "${{ARCH}}", p.Architecture, "${{VARIANT}}", p.Variant).Replace(s)
}
