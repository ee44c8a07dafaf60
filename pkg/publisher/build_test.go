package publisher_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/signet-dev/signet/pkg/publisher"
)

const appFile = `
app:
  from: scratch
  import:
    - path: bin/
      dest: /usr/local/bin
    - path: etc/app.conf
      dest: /etc/app/
      mode: 0600
  entrypoint: /usr/local/bin/app --serve
  environment:
    B: "2"
    A: "1"
  labels:
    org.example.team: tools
  working_dir: /srv
  runtime_user: "65532:65532"
  volumes: [/data]
  annotations:
    org.opencontainers.image.source: https://example.invalid/app
`

func appSources(t *testing.T) string {
	return writeFiles(t, t.TempDir(), map[string]string{
		"bin/app":      "#!/bin/sh\necho app\n",
		"bin/helper":   "helper",
		"etc/app.conf": "port=80\n",
	})
}

func TestBuildIsReproducible(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := appSources(t)
	bf := parse(t, src, appFile)
	first, err := publisher.BuildToLayout(ctx, bf, filepath.Join(t.TempDir(), "oci"), publisher.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Different mtimes and a different layout directory must not matter.
	later := time.Now().Add(time.Hour)
	for _, f := range []string{"bin/app", "bin/helper", "etc/app.conf"} {
		if err := os.Chtimes(filepath.Join(src, f), later, later); err != nil {
			t.Fatal(err)
		}
	}
	second, err := publisher.BuildToLayout(ctx, parse(t, src, appFile), filepath.Join(t.TempDir(), "oci"), publisher.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first[0].Digest != second[0].Digest {
		t.Errorf("two builds of the same inputs: %s then %s", first[0].Digest, second[0].Digest)
	}
	// A different SOURCE_DATE_EPOCH is a different input.
	third, err := publisher.Build(ctx, bf, publisher.BuildOptions{Created: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if third[0].Digest == first[0].Digest {
		t.Errorf("a build with another creation time has the same digest %s", third[0].Digest)
	}
	// Changed content is a different input.
	writeFiles(t, src, map[string]string{"bin/helper": "helper v2"})
	fourth, err := publisher.Build(ctx, parse(t, src, appFile), publisher.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fourth[0].Digest == first[0].Digest {
		t.Errorf("a build with a changed file has the same digest %s", fourth[0].Digest)
	}
}

func TestBuildWritesTheImageDescribed(t *testing.T) {
	t.Parallel()
	src := appSources(t)
	dir := filepath.Join(t.TempDir(), "oci")
	created := time.Unix(1600000000, 0).UTC()
	built, err := publisher.BuildToLayout(context.Background(), parse(t, src, appFile), dir, publisher.BuildOptions{Created: created})
	if err != nil {
		t.Fatal(err)
	}
	a, err := publisher.ReadLayout(dir, "app")
	if err != nil {
		t.Fatalf("ReadLayout() = %v", err)
	}
	img := a.Image
	if err := validate.Image(img); err != nil {
		t.Fatalf("validate.Image() = %v", err)
	}
	if d, _ := img.Digest(); d != built[0].Digest {
		t.Errorf("layout holds %s, Build said %s", d, built[0].Digest)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("manifest media types = %s, config %s, layers %v; want OCI throughout and one layer", m.MediaType, m.Config.MediaType, m.Layers)
	}
	if got := m.Annotations["org.opencontainers.image.source"]; got != "https://example.invalid/app" {
		t.Errorf("manifest annotation = %q", got)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	checks := map[string]struct{ got, want any }{
		"entrypoint": {strings.Join(c.Entrypoint, "|"), "/usr/local/bin/app|--serve"},
		"env":        {strings.Join(c.Env, ","), "A=1,B=2"},
		"label":      {c.Labels["org.example.team"], "tools"},
		"workdir":    {c.WorkingDir, "/srv"},
		"user":       {c.User, "65532:65532"},
		"volume":     {len(c.Volumes), 1},
		"created":    {cf.Created.Time.UTC(), created},
		"platform":   {cf.OS + "/" + cf.Architecture, "linux/amd64"},
	}
	for what, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("config %s = %v, want %v", what, ch.got, ch.want)
		}
	}

	type entry struct {
		mode     int64
		uid, gid int
		mtime    time.Time
	}
	var names []string
	entries := map[string]entry{}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	r, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		entries[h.Name] = entry{h.Mode, h.Uid, h.Gid, h.ModTime.UTC()}
		if h.Uname != "" || h.Gname != "" {
			t.Errorf("%s has owner names %q/%q; want numeric ownership only", h.Name, h.Uname, h.Gname)
		}
	}
	want := []string{"etc/", "etc/app/", "etc/app/app.conf", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/app", "usr/local/bin/helper"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("layer entries = %v, want %v (sorted, parents included)", names, want)
	}
	for n, e := range entries {
		if e.uid != 0 || e.gid != 0 || !e.mtime.Equal(created) {
			t.Errorf("%s: uid %d gid %d mtime %s; want 0, 0, %s", n, e.uid, e.gid, e.mtime, created)
		}
	}
	if e := entries["etc/app/app.conf"]; e.mode != 0o600 {
		t.Errorf("app.conf mode = %o, want the import's 0600", e.mode)
	}
	if e := entries["usr/local/bin/helper"]; e.mode != 0o644 {
		t.Errorf("helper mode = %o, want the file's own 0644", e.mode)
	}
}

func TestBuildMultiPlatform(t *testing.T) {
	t.Parallel()
	src := writeFiles(t, t.TempDir(), map[string]string{"bin/amd64/app": "x86", "bin/arm64/app": "arm", "README": "both"})
	bf := parse(t, src, `
app:
  from: scratch
  platforms: [linux/amd64, linux/arm64]
  import:
    - path: bin/${{ARCH}}/app
      dest: /app
    - path: README
      dest: /README
      platforms: [linux/arm64]
`)
	dir := filepath.Join(t.TempDir(), "oci")
	if _, err := publisher.BuildToLayout(context.Background(), bf, dir, publisher.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	a, err := publisher.ReadLayout(dir, "app")
	if err != nil {
		t.Fatal(err)
	}
	ii := a.Index
	if ii == nil {
		t.Fatal("a build with platforms: made no index")
	}
	if err := validate.Index(ii); err != nil {
		t.Fatalf("validate.Index() = %v", err)
	}
	m, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIImageIndex || len(m.Manifests) != 2 {
		t.Fatalf("index %s with %d manifests, want an OCI index of 2", m.MediaType, len(m.Manifests))
	}
	for _, d := range m.Manifests {
		img, err := ii.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		files := layerFiles(t, img)
		want := map[string]string{"amd64": "app=x86", "arm64": "README=both app=arm"}[d.Platform.Architecture]
		if files != want {
			t.Errorf("%s files = %q, want %q", d.Platform, files, want)
		}
		cf, _ := img.ConfigFile()
		if cf.Architecture != d.Platform.Architecture {
			t.Errorf("config architecture %s under platform %s", cf.Architecture, d.Platform)
		}
	}
}

// layerFiles lists "name=content" of the regular files in img's last layer.
func layerFiles(t *testing.T, img v1.Image) string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	r, err := layers[len(layers)-1].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tr := tar.NewReader(r)
	var out []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			out = append(out, h.Name+"="+string(b))
		}
	}
	return strings.Join(out, " ")
}

func TestBuildFromRegistryAndBuiltBases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, reg := testRegistry(t)
	base, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host+"/base:v1", name.Insecure)
	if err := remote.Write(ref, base); err != nil {
		t.Fatal(err)
	}
	src := writeFiles(t, t.TempDir(), map[string]string{"a": "a", "b": "b"})
	bf := parse(t, src, `
mid:
  from:
    type: docker
    url: docker://`+host+`/base:v1
  import:
    - path: a
      dest: /a
  build_only: true
top:
  from: built:mid
  import:
    - path: b
      dest: /b
  cmd: ["run"]
`)
	dir := filepath.Join(t.TempDir(), "oci")
	built, err := publisher.BuildToLayout(ctx, bf, dir, publisher.BuildOptions{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	top, err := publisher.ReadLayout(dir, "top")
	if err != nil {
		t.Fatal(err)
	}
	layers, err := top.Image.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 4 {
		t.Errorf("top has %d layers, want 2 from the base + mid's + its own", len(layers))
	}
	if _, err := publisher.ReadLayout(dir, "mid"); err == nil {
		t.Error("a build_only image was written to the layout")
	}
	if built[1].Digest == built[0].Digest {
		t.Error("top and mid have one digest")
	}
}

func TestBuildFileErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		yaml string
		want string
	}{
		"A run: step points to stacker.": {
			yaml: "app:\n  from: scratch\n  run: make\n", want: "build this image with stacker",
		},
		"An import without dest is refused.": {
			yaml: "app:\n  from: scratch\n  import:\n    - a\n", want: "no dest",
		},
		"An unknown key is named.": {
			yaml: "app:\n  from: scratch\n  entrypiont: x\n", want: "entrypiont",
		},
		"A mode that is not octal is refused.": {
			yaml: "app:\n  from: scratch\n  import:\n    - {path: a, dest: /a, mode: 0999}\n", want: "octal",
		},
		"An unknown base type is refused.": {
			yaml: "app:\n  from: {type: tar, url: x.tar}\n", want: "not supported",
		},
		"A missing from is refused.": {
			yaml: "app:\n  import:\n    - {path: a, dest: /a}\n", want: "no from",
		},
		"An unset substitution is named.": {
			yaml: "app:\n  from: docker://reg.example/${{BASE}}\n", want: "BASE",
		},
		"A platform written badly is refused.": {
			yaml: "app:\n  from: scratch\n  platforms: [amd64]\n", want: "OS/ARCH",
		},
		"An image name that is not a tag is refused.": {
			yaml: "my app:\n  from: scratch\n", want: "valid tag",
		},
		"A relative dest is refused.": {
			yaml: "app:\n  from: scratch\n  import:\n    - {path: a, dest: a}\n", want: "absolute",
		},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			_, err := publisher.ParseBuildFile([]byte(tc.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseBuildFile() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestBuildImportErrors(t *testing.T) {
	t.Parallel()
	src := writeFiles(t, t.TempDir(), map[string]string{"a": "a"})
	cases := map[string]struct {
		yaml string
		want string
	}{
		"A missing file is named.": {
			yaml: "app:\n  from: scratch\n  import:\n    - {path: nope, dest: /x}\n", want: "nope",
		},
		"A wrong hash is reported with both hashes.": {
			yaml: "app:\n  from: scratch\n  import:\n    - {path: a, dest: /a, hash: 0000}\n", want: "hash: says 0000",
		},
		"Two imports to one path are refused.": {
			yaml: "app:\n  from: scratch\n  import:\n    - {path: a, dest: /x}\n    - {path: a, dest: /x}\n", want: "also written by",
		},
		"A built base must come first.": {
			yaml: "app:\n  from: built:later\nlater:\n  from: scratch\n", want: "built earlier",
		},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			bf := parse(t, src, tc.yaml)
			_, err := publisher.Build(context.Background(), bf, publisher.BuildOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
