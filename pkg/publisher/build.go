package publisher

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/pkg/resolver"
)

// BuildOptions configure Build. The zero value builds with timestamps at the Unix epoch and
// reads registry bases anonymously over TLS.
type BuildOptions struct {
	// Created is the time written into configs, history and layer entries. Default: the Unix
	// epoch; SourceDateEpoch reads it from SOURCE_DATE_EPOCH.
	Created time.Time
	// Registry is the registry access for docker:// bases. Default: resolver.New().
	Registry *resolver.Registry
}

// SourceDateEpoch returns the time in SOURCE_DATE_EPOCH (seconds since the epoch), or the epoch
// when the variable is unset. A value that is not a number is an error.
func SourceDateEpoch() (time.Time, error) {
	s, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if !ok || s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: must be a number of seconds since 1970-01-01", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Built is one image a build made.
type Built struct {
	Name     string
	Artifact Artifact
	Digest   v1.Hash
	// BuildOnly images were not meant to be written out.
	BuildOnly bool
}

// Build builds every image of bf in file order. Nothing touches the disk but reading imports and
// bases; WriteLayout (or BuildToLayout) writes the results. The same inputs give the same digests.
func Build(ctx context.Context, bf *BuildFile, o BuildOptions) ([]Built, error) {
	created := o.Created
	if created.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	created = created.UTC().Truncate(time.Second)
	built := map[string]Artifact{}
	var out []Built
	for i := range bf.Images {
		s := &bf.Images[i]
		a, err := bf.buildImage(ctx, s, built, created, o)
		if err != nil {
			return nil, fmt.Errorf("building %s: %w", s.Name, err)
		}
		h, err := a.Digest()
		if err != nil {
			return nil, fmt.Errorf("building %s: digest: %w", s.Name, err)
		}
		built[s.Name] = a
		out = append(out, Built{Name: s.Name, Artifact: a, Digest: h, BuildOnly: s.BuildOnly})
	}
	return out, nil
}

// BuildToLayout builds bf and writes each image (except build_only ones) to the OCI layout at dir,
// tagged with its name.
func BuildToLayout(ctx context.Context, bf *BuildFile, dir string, o BuildOptions) ([]Built, error) {
	built, err := Build(ctx, bf, o)
	if err != nil {
		return nil, err
	}
	for _, b := range built {
		if b.BuildOnly {
			continue
		}
		if err := WriteLayout(dir, b.Name, b.Artifact); err != nil {
			return nil, err
		}
	}
	return built, nil
}

func (bf *BuildFile) buildImage(ctx context.Context, s *ImageSpec, built map[string]Artifact, created time.Time, o BuildOptions) (Artifact, error) {
	platforms, err := s.platforms()
	if err != nil {
		return Artifact{}, err
	}
	base, err := bf.base(ctx, s, built, o)
	if err != nil {
		return Artifact{}, err
	}
	multi := len(s.Platforms) > 0
	if !multi && s.OS == "" && s.Arch == "" && base != nil && base.Image != nil {
		// A single-platform image named no platform: it is the base's.
		cf, err := base.Image.ConfigFile()
		if err != nil {
			return Artifact{}, fmt.Errorf("reading base config: %w", err)
		}
		if bp := cf.Platform(); bp != nil && bp.OS != "" && bp.Architecture != "" {
			platforms = []v1.Platform{{OS: bp.OS, Architecture: bp.Architecture, Variant: bp.Variant}}
		}
	}
	var adds []mutate.IndexAddendum
	var single v1.Image
	for _, p := range platforms {
		b, err := baseFor(base, p, multi)
		if err != nil {
			return Artifact{}, err
		}
		img, err := bf.buildPlatform(s, b, p, created)
		if err != nil {
			if multi {
				return Artifact{}, fmt.Errorf("platform %s: %w", p, err)
			}
			return Artifact{}, err
		}
		if !multi {
			single = img
			break
		}
		pc := p
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pc}})
	}
	if !multi {
		return Artifact{Image: single}, nil
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx, adds...)
	if len(s.Annotations) > 0 {
		idx = mutate.Annotations(idx, s.Annotations).(v1.ImageIndex)
	}
	return Artifact{Index: idx}, nil
}

// base returns the image or index s starts from (nil for scratch), in OCI media types.
func (bf *BuildFile) base(ctx context.Context, s *ImageSpec, built map[string]Artifact, o BuildOptions) (*Artifact, error) {
	var a Artifact
	switch s.From.Type {
	case "scratch":
		return nil, nil
	case "built":
		b, ok := built[s.From.Tag]
		if !ok {
			return nil, fmt.Errorf("from built %q: no image of that name is built earlier in the file", s.From.Tag)
		}
		a = b
	case "oci", "docker":
		loc, err := ParseLocation(map[string]string{"oci": "oci:", "docker": ""}[s.From.Type] + s.From.URL)
		if err != nil {
			return nil, fmt.Errorf("from: %w", err)
		}
		if loc.Transport == Layout {
			loc.Dir = bf.resolveImportPath(loc.Dir)
		}
		reg := o.Registry
		if reg == nil {
			if reg, err = resolver.New(); err != nil {
				return nil, err
			}
		}
		if a, err = Open(ctx, reg, loc); err != nil {
			return nil, fmt.Errorf("from: %w", err)
		}
	default:
		return nil, fmt.Errorf("from: unknown type %q", s.From.Type)
	}
	a, err := ToOCI(a)
	if err != nil {
		return nil, fmt.Errorf("from: converting to OCI media types: %w", err)
	}
	return &a, nil
}

// baseFor picks the base image for platform p: an index's matching manifest, or a single image
// (which must be of platform p when the build is multi-platform).
func baseFor(base *Artifact, p v1.Platform, multi bool) (v1.Image, error) {
	if base == nil {
		img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
		return mutate.ConfigMediaType(img, types.OCIConfigJSON), nil
	}
	if base.Image != nil {
		if multi {
			cf, err := base.Image.ConfigFile()
			if err != nil {
				return nil, fmt.Errorf("reading base config: %w", err)
			}
			if bp := cf.Platform(); bp != nil && !bp.Satisfies(p) {
				return nil, fmt.Errorf("the base is a single %s image and cannot be the base of %s; use a multi-platform base", bp, p)
			}
		}
		return base.Image, nil
	}
	m, err := base.Index.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading base index: %w", err)
	}
	var have []string
	for _, d := range m.Manifests {
		if d.Platform == nil || !d.MediaType.IsImage() {
			continue
		}
		have = append(have, d.Platform.String())
		if d.Platform.OS == p.OS && d.Platform.Architecture == p.Architecture && (p.Variant == "" || d.Platform.Variant == p.Variant) {
			img, err := base.Index.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading base image for %s: %w", p, err)
			}
			return img, nil
		}
	}
	sort.Strings(have)
	return nil, fmt.Errorf("the base has no image for platform %s (it has %s)", p, listOrNone(have))
}

// buildPlatform adds s's imports and config to base for platform p.
func (bf *BuildFile) buildPlatform(s *ImageSpec, base v1.Image, p v1.Platform, created time.Time) (v1.Image, error) {
	layer, err := bf.importLayer(s, p, created)
	if err != nil {
		return nil, err
	}
	img := base
	if layer != nil {
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: "signet build: import", Comment: s.Name},
		})
		if err != nil {
			return nil, fmt.Errorf("adding the import layer: %w", err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: created}
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	c := &cf.Config
	if s.Entrypoint != nil {
		c.Entrypoint = []string(s.Entrypoint)
		if !s.cmdSet {
			c.Cmd = nil // as in a Dockerfile: a new entrypoint drops the base's cmd
		}
	}
	if s.cmdSet {
		c.Cmd = []string(s.Cmd)
	}
	if s.WorkingDir != "" {
		c.WorkingDir = s.WorkingDir
	}
	if s.RuntimeUser != "" {
		c.User = s.RuntimeUser
	}
	c.Env = mergeEnv(c.Env, s.Environment)
	if len(s.Labels) > 0 {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for k, v := range s.Labels {
			c.Labels[k] = v
		}
	}
	if len(s.Volumes) > 0 {
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		for _, v := range s.Volumes {
			c.Volumes[v] = struct{}{}
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("writing config: %w", err)
	}
	if len(s.Annotations) > 0 {
		img = mutate.Annotations(img, s.Annotations).(v1.Image)
	}
	return img, nil
}

// mergeEnv sets env's variables from set, replacing existing ones in place and appending new ones
// in key order.
func mergeEnv(env []string, set map[string]string) []string {
	if len(set) == 0 {
		return env
	}
	out := append([]string(nil), env...)
	done := map[string]bool{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := set[k]; ok {
			out[i] = k + "=" + v
			done[k] = true
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		if !done[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+set[k])
	}
	return out
}
