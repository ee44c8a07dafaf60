package publisher_test

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ociremote "github.com/sigstore/cosign/v3/pkg/oci/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/verify"
)

// pushImage starts an in-process registry, pushes a random image to it and returns its digest.
func pushImage(t *testing.T) name.Digest {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(d.String())
}

func pemType(t *testing.T, b []byte) string {
	t.Helper()
	block, rest := pem.Decode(b)
	if block == nil {
		t.Fatalf("not PEM: %q", b)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("trailing data after the PEM block: %q", rest)
	}
	return block.Type
}

func TestGenerateLoadSignVerify(t *testing.T) {
	t.Parallel()
	password := []byte("correct horse")
	priv, pub, err := publisher.GenerateKeyPair(password)
	if err != nil {
		t.Fatal(err)
	}
	if got := pemType(t, priv); got != "ENCRYPTED SIGSTORE PRIVATE KEY" {
		t.Errorf("private key PEM type = %q, want ENCRYPTED SIGSTORE PRIVATE KEY", got)
	}
	if got := pemType(t, pub); got != "PUBLIC KEY" {
		t.Errorf("public key PEM type = %q, want PUBLIC KEY", got)
	}
	signer, err := publisher.LoadSigner(priv, password)
	if err != nil {
		t.Fatalf("LoadSigner() = %v", err)
	}

	img := pushImage(t)
	ctx := context.Background()
	if err := publisher.Sign(ctx, img, signer, map[string]string{"env": "prod"}); err != nil {
		t.Fatalf("Sign() = %v", err)
	}

	pubKey, err := cryptoutils.UnmarshalPEMToPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	p := &policy.Policy{
		Name:        "ClusterImagePolicy/test",
		Threshold:   1,
		Annotations: map[string]string{"env": "prod"},
		Authorities: []policy.CompiledAuthority{{Name: "ci", Keys: []policy.PublicKey{{Key: pubKey}}}},
	}
	res, err := verify.New().Verify(ctx, img, p)
	if err != nil {
		t.Fatalf("Verify() = %v", err)
	}
	if len(res.Authorities) != 1 || res.Authorities[0] != "ci" {
		t.Errorf("Result.Authorities = %q, want [ci]", res.Authorities)
	}
}

func TestLoadSigner(t *testing.T) {
	t.Parallel()
	priv, _, err := publisher.GenerateKeyPair([]byte("right"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		key       []byte
		password  string
		wrongPass bool
		wantErr   string
	}{
		"The right password loads the key.":                 {key: priv, password: "right"},
		"A wrong password is reported as a wrong password.": {key: priv, password: "wrong", wrongPass: true, wantErr: "wrong password"},
		"An empty password for an encrypted key is wrong.":  {key: priv, password: "", wrongPass: true, wantErr: "wrong password"},
		"A public key is not a private key.":                {key: []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), wantErr: "unsupported pem type"},
		"Text that is not PEM is refused.":                  {key: []byte("not a key"), wantErr: "invalid pem block"},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			_, err := publisher.LoadSigner(tc.key, []byte(tc.password))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("LoadSigner() = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("LoadSigner() = %v, want an error containing %q", err, tc.wantErr)
			}
			if got := errors.Is(err, publisher.ErrWrongPassword); got != tc.wrongPass {
				t.Errorf("errors.Is(err, ErrWrongPassword) = %v, want %v", got, tc.wrongPass)
			}
		})
	}
}

func TestSignAppendsSignatures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	img := pushImage(t)
	a := loadNewSigner(t)
	b := loadNewSigner(t)

	steps := []struct {
		sign func() error
		want int
	}{
		{func() error { return publisher.Sign(ctx, img, a, nil) }, 1},
		{func() error { return publisher.Sign(ctx, img, a, nil) }, 1}, // the same payload by the same key is not added twice
		{func() error { return publisher.Sign(ctx, img, a, map[string]string{"n": "2"}) }, 2},
		{func() error { return publisher.Sign(ctx, img, b, nil) }, 3},
	}
	for i, s := range steps {
		if err := s.sign(); err != nil {
			t.Fatalf("step %d: Sign() = %v", i, err)
		}
		if got := countSignatures(t, img); got != s.want {
			t.Errorf("step %d: %d signatures on the tag, want %d", i, got, s.want)
		}
	}
}

func TestSignRefusesAMissingImage(t *testing.T) {
	t.Parallel()
	img := pushImage(t)
	missing := img.Context().Digest("sha256:" + strings.Repeat("0", 64))
	err := publisher.Sign(context.Background(), missing, loadNewSigner(t), nil)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("Sign() = %v, want an image-not-found error", err)
	}
}

func loadNewSigner(t *testing.T) signature.SignerVerifier {
	t.Helper()
	priv, _, err := publisher.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := publisher.LoadSigner(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func countSignatures(t *testing.T, img name.Digest) int {
	t.Helper()
	tag, err := ociremote.SignatureTag(img)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := ociremote.Signatures(tag)
	if err != nil {
		t.Fatal(err)
	}
	l, err := sigs.Get()
	if err != nil {
		t.Fatal(err)
	}
	return len(l)
}
