package interop

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/reason"
)

// TestCosignSignsSignetVerifies signs with the real cosign CLI in both formats and verifies in
// signet: cosign's key verifies, another key does not, and `-a` annotations are checked exactly.
func TestCosignSignsSignetVerifies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	keys := e.generateKeyPair(t)
	otherKeys := e.generateKeyPair(t)
	cases := map[string]struct {
		formatArgs  []string
		annotations []string
	}{
		"A bundle (cosign's default format) verifies.":                      {},
		"A bundle with -a annotations verifies and carries them.":           {annotations: []string{"env=prod", "team=payments"}},
		"A legacy signature (--new-bundle-format=false) verifies.":          {formatArgs: []string{"--new-bundle-format=false"}},
		"A legacy signature with -a annotations verifies and carries them.": {formatArgs: []string{"--new-bundle-format=false"}, annotations: []string{"env=prod"}},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			img := e.push(t, "cosign-signed")
			args := []string{"sign", "--key", "cosign.key", "--use-signing-config=false", "--tlog-upload=false", "-y",
				"--registry-cacert", e.reg.CAFile}
			args = append(args, tc.formatArgs...)
			want := map[string]string{}
			for _, a := range tc.annotations {
				args = append(args, "-a", a)
				k, v, _ := strings.Cut(a, "=")
				want[k] = v
			}
			e.mustRun(t, keys, append(args, img.Name())...)

			ctx := context.Background()
			v := e.verifier()
			res, err := v.Verify(ctx, img, policyFor(t, filepath.Join(keys, "cosign.pub"), want))
			if err != nil {
				t.Fatalf("signet rejects what cosign signed: %v", err)
			}
			if res.Signatures != 1 {
				t.Errorf("Result.Signatures = %d, want 1", res.Signatures)
			}
			_, err = v.Verify(ctx, img, policyFor(t, filepath.Join(otherKeys, "cosign.pub"), nil))
			if reason.Of(err) != reason.NoMatchingSignatures {
				t.Errorf("Verify(another cosign key) = %v, want %q", err, reason.NoMatchingSignatures)
			}
			_, err = v.Verify(ctx, img, policyFor(t, filepath.Join(keys, "cosign.pub"), map[string]string{"env": "staging"}))
			if reason.Of(err) != reason.AnnotationMismatch {
				t.Errorf("Verify(requiring env=staging) = %v, want %q", err, reason.AnnotationMismatch)
			}
		})
	}
}

// TestSignetSignsCosignVerifies signs with pkg/publisher in both formats and verifies with
// `cosign verify --key`, which must accept the image under signet's key and refuse it under another.
func TestSignetSignsCosignVerifies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	priv, pub, err := publisher.GenerateKeyPair([]byte(cosignPassword))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "cosign.key"), priv)
	writeFile(t, filepath.Join(dir, "cosign.pub"), pub)
	otherKeys := e.generateKeyPair(t)
	signer, err := publisher.LoadSigner(priv, []byte(cosignPassword))
	if err != nil {
		t.Fatal(err)
	}

	cases := map[string]struct {
		sign        signFunc
		annotations map[string]string
		verifyArgs  []string
	}{
		"signet's legacy signature verifies with cosign.":                  {sign: signLegacy(signer), verifyArgs: []string{"--new-bundle-format=false"}},
		"signet's legacy signature with annotations verifies with cosign.": {sign: signLegacy(signer), annotations: map[string]string{"env": "prod"}, verifyArgs: []string{"--new-bundle-format=false"}},
		"signet's bundle verifies with cosign.":                            {sign: signBundle(signer)},
		"signet's bundle with annotations verifies with cosign.":           {sign: signBundle(signer), annotations: map[string]string{"env": "prod"}},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			img := e.push(t, "signet-signed")
			if err := tc.sign(context.Background(), img, tc.annotations, remote.WithTransport(e.tr)); err != nil {
				t.Fatalf("signing: %v", err)
			}
			base := []string{"verify", "--insecure-ignore-tlog", "--registry-cacert", e.reg.CAFile}
			base = append(base, tc.verifyArgs...)
			args := append(append([]string{}, base...), "--key", filepath.Join(dir, "cosign.pub"))
			for k, v := range tc.annotations {
				args = append(args, "-a", k+"="+v)
			}
			out := e.mustRun(t, dir, append(args, img.Name())...)
			t.Logf("cosign verify:\n%s", out)

			wrong := append(append([]string{}, base...), "--key", filepath.Join(otherKeys, "cosign.pub"), img.Name())
			if out, err := e.run(t, dir, wrong...); err == nil {
				t.Errorf("cosign verify accepted signet's signature under another key:\n%s", out)
			}
			if len(tc.annotations) > 0 {
				mismatch := append(append([]string{}, base...), "--key", filepath.Join(dir, "cosign.pub"), "-a", "env=staging", img.Name())
				if out, err := e.run(t, dir, mismatch...); err == nil {
					t.Errorf("cosign verify accepted env=staging for a signature carrying env=prod:\n%s", out)
				}
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// signFunc is publisher.Sign or publisher.SignBundle with the signer bound.
type signFunc func(ctx context.Context, img name.Digest, annotations map[string]string, opts ...remote.Option) error

func signLegacy(s signature.SignerVerifier) signFunc {
	return func(ctx context.Context, img name.Digest, annotations map[string]string, opts ...remote.Option) error {
		return publisher.Sign(ctx, img, s, annotations, opts...)
	}
}

func signBundle(s signature.SignerVerifier) signFunc {
	return func(ctx context.Context, img name.Digest, annotations map[string]string, opts ...remote.Option) error {
		return publisher.SignBundle(ctx, img, s, annotations, opts...)
	}
}
