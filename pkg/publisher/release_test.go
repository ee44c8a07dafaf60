package publisher_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/verify"
)

func TestReleaseBuildsPublishesAndSigns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, reg := testRegistry(t)
	signer, key := fastSigner(t)
	layout := filepath.Join(t.TempDir(), "oci")
	rel, err := publisher.Release(ctx, parse(t, appSources(t), appFile), mustLocation(t, "docker://"+host+"/team/app:1.0"), signer, publisher.ReleaseOptions{
		Layout:  layout,
		Publish: publisher.PublishOptions{Registry: reg},
		Sign:    publisher.SignOptions{Format: publisher.FormatLegacy, Annotations: map[string]string{"git": "abc"}},
	})
	if err != nil {
		t.Fatalf("Release() = %v", err)
	}
	if want := host + "/team/app@" + rel.Built.Digest.String(); rel.String() != want {
		t.Errorf("Release printed %s, want %s", rel.String(), want)
	}
	if rel.Signed.Tag != "" {
		t.Errorf("release signed a tag (%q); it must sign the digest it pushed", rel.Signed.Tag)
	}
	if _, err := publisher.ReadLayout(layout, "app"); err != nil {
		t.Errorf("the layout was not written: %v", err)
	}

	p := &policy.Policy{Name: "ClusterImagePolicy/t", Threshold: 1, Annotations: map[string]string{"git": "abc"},
		Authorities: []policy.CompiledAuthority{{Name: "ci", Keys: []policy.PublicKey{{Key: key}}}}}
	v := verify.New(verify.WithRemoteOptions(reg.RemoteOptions))
	if _, err := v.Verify(ctx, *rel.Published.Ref, p); err != nil {
		t.Errorf("the released image does not verify: %v", err)
	}
}

func TestSignReferenceResolvesTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, reg := testRegistry(t)
	built, err := publisher.Build(ctx, parse(t, appSources(t), appFile), publisher.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publisher.Write(ctx, built[0].Artifact, mustLocation(t, "docker://"+host+"/app:v1"), publisher.PublishOptions{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := fastSigner(t)
	cases := map[string]struct {
		format  publisher.Format
		want    []publisher.Format
		wantErr string
	}{
		"Legacy writes the .sig tag only.":       {format: publisher.FormatLegacy, want: []publisher.Format{publisher.FormatLegacy}},
		"Both writes legacy and bundle.":         {format: publisher.FormatBoth, want: []publisher.Format{publisher.FormatLegacy, publisher.FormatBundle}},
		"The default format is both.":            {want: []publisher.Format{publisher.FormatLegacy, publisher.FormatBundle}},
		"An unknown format is refused up front.": {format: "sbom", wantErr: "use legacy, bundle or both"},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			ref := mustLocation(t, "docker://"+host+"/app:v1").Ref
			signed, err := publisher.SignReference(ctx, reg, ref, signer, publisher.SignOptions{Format: tc.format})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("SignReference() = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("SignReference() = %v", err)
			}
			if signed.Digest.DigestStr() != pub.Digest.String() || signed.Tag != "v1" {
				t.Errorf("signed %s (tag %q), want the digest %s of tag v1", signed.Digest, signed.Tag, pub.Digest)
			}
			if len(signed.Formats) != len(tc.want) {
				t.Fatalf("formats written = %v, want %v", signed.Formats, tc.want)
			}
			for i := range tc.want {
				if signed.Formats[i] != tc.want[i] {
					t.Errorf("formats written = %v, want %v", signed.Formats, tc.want)
				}
			}
		})
	}
}

func TestSignReferenceRecursiveSignsEveryPlatform(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, reg := testRegistry(t)
	src := writeFiles(t, t.TempDir(), map[string]string{"amd64": "a", "arm64": "b"})
	built, err := publisher.Build(ctx, parse(t, src, "multi:\n  from: scratch\n  platforms: [linux/amd64, linux/arm64]\n  import:\n    - {path: \"${{ARCH}}\", dest: /f}\n"), publisher.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publisher.Write(ctx, built[0].Artifact, mustLocation(t, "docker://"+host+"/multi:v1"), publisher.PublishOptions{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := fastSigner(t)
	signed, err := publisher.SignReference(ctx, reg, *pub.Ref, signer, publisher.SignOptions{Format: publisher.FormatLegacy, Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(signed.Platforms) != 2 {
		t.Fatalf("signed %d platform manifests, want 2", len(signed.Platforms))
	}
	for _, d := range append([]name.Digest{signed.Digest}, signed.Platforms...) {
		if n := countSignatures(t, d); n != 1 {
			t.Errorf("%s carries %d signatures, want 1", d, n)
		}
	}
}
