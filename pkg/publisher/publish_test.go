package publisher_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/resolver"
)

func mustLocation(t *testing.T, s string) publisher.Location {
	t.Helper()
	l, err := publisher.ParseLocation(s, name.Insecure)
	if err != nil {
		t.Fatalf("ParseLocation(%q) = %v", s, err)
	}
	return l
}

func TestPublishLayoutToRegistrySkipsBlobsItHas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, _ := testRegistry(t)
	src := appSources(t)
	dir := filepath.Join(t.TempDir(), "oci")
	built, err := publisher.BuildToLayout(ctx, parse(t, src, appFile), dir, publisher.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(tag string) (publisher.Published, resolver.Stats) {
		// A Registry per publish, so that its request counts are this publish's alone.
		reg, err := resolver.New(resolver.WithInsecureHosts(host))
		if err != nil {
			t.Fatal(err)
		}
		var updates int
		pub, err := publisher.Publish(ctx, mustLocation(t, "oci:"+dir+":app"), mustLocation(t, "docker://"+host+"/team/app:"+tag),
			publisher.PublishOptions{Registry: reg, Progress: func(v1.Update) { updates++ }})
		if err != nil {
			t.Fatalf("Publish() = %v", err)
		}
		if updates == 0 {
			t.Error("no progress was reported")
		}
		return pub, reg.Stats()
	}
	pub, first := publish("1.0")
	if pub.Digest != built[0].Digest {
		t.Errorf("published %s, built %s: a layout already in OCI types must keep its digest", pub.Digest, built[0].Digest)
	}
	if pub.Ref == nil || pub.Ref.String() != host+"/team/app@"+built[0].Digest.String() {
		t.Errorf("Published.Ref = %v", pub.Ref)
	}
	got, err := remote.Image(mustLocation(t, "docker://"+host+"/team/app:1.0").Ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Errorf("the pushed image does not validate: %v", err)
	}
	if d, _ := got.Digest(); d != pub.Digest {
		t.Errorf("tag 1.0 points at %s, want %s", d, pub.Digest)
	}
	_, second := publish("1.1")
	if first.Requests["POST"] == 0 {
		t.Fatalf("the first publish started no blob upload: %v", first.Requests)
	}
	if n := second.Requests["POST"] + second.Requests["PATCH"]; n != 0 {
		t.Errorf("publishing the same image again uploaded blobs (%d POST/PATCH requests); the registry had them", n)
	}
}

func TestPublishConvertsDockerMediaTypes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, reg := testRegistry(t)
	img, err := random.Image(1024, 2) // Docker v2 media types
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := img.MediaType(); mt != types.DockerManifestSchema2 {
		t.Fatalf("random.Image media type %s; the test needs a Docker manifest", mt)
	}
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	srcImg := mustLocation(t, "docker://"+host+"/docker/img:v1")
	srcIdx := mustLocation(t, "docker://"+host+"/docker/idx:v1")
	if err := remote.Write(srcImg.Ref, img); err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(srcIdx.Ref, idx); err != nil {
		t.Fatal(err)
	}

	pub, err := publisher.Publish(ctx, srcImg, mustLocation(t, "docker://"+host+"/oci/img:v1"), publisher.PublishOptions{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Image(*pub.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatalf("converted image does not validate: %v", err)
	}
	m, _ := got.Manifest()
	orig, _ := img.Manifest()
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest %s, config %s: want OCI", m.MediaType, m.Config.MediaType)
	}
	if m.Config.Digest != orig.Config.Digest {
		t.Errorf("config digest changed from %s to %s; blobs must be copied as they are", orig.Config.Digest, m.Config.Digest)
	}
	for i, l := range m.Layers {
		if l.MediaType != types.OCILayer || l.Digest != orig.Layers[i].Digest {
			t.Errorf("layer %d: %s %s, want %s %s", i, l.MediaType, l.Digest, types.OCILayer, orig.Layers[i].Digest)
		}
	}

	pub, err = publisher.Publish(ctx, srcIdx, mustLocation(t, "docker://"+host+"/oci/idx:v1"), publisher.PublishOptions{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	gotIdx, err := remote.Index(*pub.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(gotIdx); err != nil {
		t.Fatalf("converted index does not validate: %v", err)
	}
	im, _ := gotIdx.IndexManifest()
	if im.MediaType != types.OCIImageIndex || len(im.Manifests) != 2 {
		t.Fatalf("index %s with %d manifests", im.MediaType, len(im.Manifests))
	}
	for _, d := range im.Manifests {
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("index entry %s has media type %s, want OCI", d.Digest, d.MediaType)
		}
	}

	// Keeping the media types keeps the digest.
	pub, err = publisher.Publish(ctx, srcImg, mustLocation(t, "docker://"+host+"/kept/img:v1"), publisher.PublishOptions{Registry: reg, KeepMediaTypes: true})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); pub.Digest != d {
		t.Errorf("with KeepMediaTypes the digest changed from %s to %s", d, pub.Digest)
	}
}

func TestPublishRegistryToLayoutAndBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, reg := testRegistry(t)
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	src := mustLocation(t, "docker://"+host+"/multi:v1")
	if err := remote.WriteIndex(src.Ref, idx); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	toLayout, err := publisher.Publish(ctx, src, mustLocation(t, "oci:"+dir+":v1"), publisher.PublishOptions{Registry: reg})
	if err != nil {
		t.Fatalf("registry → layout: %v", err)
	}
	back, err := publisher.Publish(ctx, mustLocation(t, "oci:"+dir+":v1"), mustLocation(t, "docker://"+host+"/multi:v2"), publisher.PublishOptions{Registry: reg})
	if err != nil {
		t.Fatalf("layout → registry: %v", err)
	}
	if back.Digest != toLayout.Digest {
		t.Errorf("the round trip changed the digest: %s → %s", toLayout.Digest, back.Digest)
	}
}

func TestPublishErrors(t *testing.T) {
	t.Parallel()
	host, _ := testRegistry(t)
	strict, err := resolver.New() // plain HTTP to the test registry is not allowed
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "oci")
	if _, err := publisher.BuildToLayout(context.Background(), parse(t, appSources(t), appFile), dir, publisher.BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		src, dst string
		reg      *resolver.Registry
		want     string
	}{
		"A tag missing from the layout lists the tags there.":      {src: "oci:" + dir + ":nope", dst: "docker://" + host + "/x:1", want: `no image tagged "nope" in the layout (tags: app)`},
		"A directory that is not a layout is named.":               {src: "oci:" + t.TempDir() + ":x", dst: "docker://" + host + "/x:1", want: "opening OCI layout"},
		"Plain HTTP to a registry not marked insecure is refused.": {src: "oci:" + dir + ":app", dst: "docker://" + host + "/x:1", reg: strict, want: "plain HTTP"},
		"A missing source image is reported as not found.":         {src: "docker://" + host + "/none:1", dst: "oci:" + t.TempDir() + ":x", want: "tag not found"},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			reg := tc.reg
			if reg == nil {
				var err error
				if reg, err = resolver.New(resolver.WithInsecureHosts(host)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := publisher.Publish(context.Background(), mustLocation(t, tc.src), mustLocation(t, tc.dst), publisher.PublishOptions{Registry: reg})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Publish() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseLocation(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		in, want string
		dir, tag string
		err      string
	}{
		"A layout with a tag.":              {in: "oci:out/dir:app", want: "oci:out/dir:app", dir: "out/dir", tag: "app"},
		"A layout without a tag.":           {in: "oci:out", want: "oci:out", dir: "out"},
		"A registry reference with a port.": {in: "docker://127.0.0.1:5000/team/app:1.0", want: "docker://127.0.0.1:5000/team/app:1.0"},
		"A digest reference.":               {in: "docker://reg.example/app@sha256:" + strings.Repeat("a", 64), want: "docker://reg.example/app@sha256:" + strings.Repeat("a", 64)},
		"An unknown transport is refused.":  {in: "dir:/tmp/x", err: "unknown transport"},
		"A layout without a directory.":     {in: "oci::tag", err: "no directory"},
		"A bad reference is refused.":       {in: "docker://Bad Ref", err: "docker://HOST/REPO:TAG"},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			l, err := publisher.ParseLocation(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseLocation(%q) = %v, want an error containing %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l.String() != tc.want || l.Dir != tc.dir || l.Tag != tc.tag {
				t.Errorf("ParseLocation(%q) = %s (dir %q tag %q), want %s (dir %q tag %q)", tc.in, l, l.Dir, l.Tag, tc.want, tc.dir, tc.tag)
			}
		})
	}
}
