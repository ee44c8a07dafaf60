package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v3/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/publisher"
)

// fuzzScalar is the private scalar of the fuzz targets' signing key. It is fixed so that the
// committed seed corpora (testdata/fuzz) hold signatures that still verify; it signs nothing else.
const fuzzScalar = "5369676e65742066757a7a2074617267657473206f6e6c792c206e6f74206120"

// fuzzKey returns the fixed P-256 key and its verifiers as pkg/verify compiles them.
func fuzzKey(f *testing.F) (*ecdsa.PrivateKey, key) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = hexByte(fuzzScalar[2*i])<<4 | hexByte(fuzzScalar[2*i+1])
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		f.Fatal(err)
	}
	auths, _, err := compile(&policy.Policy{Threshold: 1, Authorities: []policy.CompiledAuthority{{Name: "fuzz", Keys: []policy.PublicKey{{Key: priv.Public()}}}}})
	if err != nil {
		f.Fatal(err)
	}
	return priv, auths[0].keys[0]
}

func hexByte(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

const fuzzImage = "registry.example/apps/app"

// FuzzLegacySignature feeds arbitrary simple-signing payloads and signatures to the legacy
// verification path. It never panics, and a signature only ever counts for the digest its signed
// payload names.
func FuzzLegacySignature(f *testing.F) {
	priv, k := fuzzKey(f)
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		f.Fatal(err)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	ref, err := name.NewDigest(fuzzImage + "@" + digest)
	if err != nil {
		f.Fatal(err)
	}
	for _, ann := range []map[string]any{nil, {"env": "prod"}, {"env": 3, "team": map[string]any{"a": "b"}}} {
		pl, err := (&payload.Cosign{Image: ref, Annotations: ann}).MarshalJSON()
		if err != nil {
			f.Fatal(err)
		}
		sig, err := sv.SignMessage(bytes.NewReader(pl))
		if err != nil {
			f.Fatal(err)
		}
		// The seed must verify, or the fuzzer would never reach the accepting path.
		st, err := static.NewSignature(pl, base64.StdEncoding.EncodeToString(sig))
		if err != nil {
			f.Fatal(err)
		}
		if ok, _ := verifyWithKey(context.Background(), st, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}, k); !ok {
			f.Fatal("the seed signature does not verify")
		}
		f.Add(pl, base64.StdEncoding.EncodeToString(sig), digest)
		f.Add(pl, base64.StdEncoding.EncodeToString(sig), "sha256:"+strings.Repeat("cd", 32))
	}
	f.Add([]byte(`{"critical":{"image":{"docker-manifest-digest":5}}}`), "AAAA", digest)
	f.Add([]byte(`not json`), "!!", "sha256:bad")
	f.Fuzz(func(t *testing.T, pl []byte, b64 string, dig string) {
		h, err := v1.NewHash(dig)
		if err != nil {
			return
		}
		sig, err := static.NewSignature(pl, b64)
		if err != nil {
			return
		}
		sp, err := readSignature(sig)
		if err != nil {
			t.Fatalf("readSignature of an in-memory signature failed as if the registry had: %v", err)
		}
		if sp == nil {
			return
		}
		ok, claimed := verifyWithKey(context.Background(), sp.sig, h, k)
		_ = claimedDigest(sp.sig)
		if sp.claim != nil {
			_ = checkAnnotations(map[string]string{"env": "prod", "": ""}, sp.claim.Optional)
		}
		if !ok {
			return
		}
		if claimed != "" {
			t.Fatalf("verified and claimed %q at once", claimed)
		}
		if sp.claim == nil || sp.claim.Critical.Image.DockerManifestDigest != h.String() {
			t.Fatalf("a signature over %q verified for %s", pl, h)
		}
	})
}

// FuzzBundle feeds arbitrary sigstore bundles to the bundle verification path. It never panics,
// and a bundle only ever counts for the digest its signed statement names as subject.
func FuzzBundle(f *testing.F) {
	priv, k := fuzzKey(f)
	for _, ann := range []map[string]string{nil, {"env": "prod"}} {
		raw, digest := fuzzSignedBundle(f, priv, ann)
		b, err := parseBundle(raw)
		if err != nil {
			f.Fatal(err)
		}
		if h, _ := v1.NewHash(digest); !verifyBundleWithKey(context.Background(), b, h, k).ok {
			f.Fatal("the seed bundle does not verify")
		}
		f.Add(raw, digest)
		f.Add(raw, "sha256:"+strings.Repeat("0", 64))
	}
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`), "sha256:"+strings.Repeat("0", 64))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.1","dsseEnvelope":{}}`), "sha256:"+strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, raw []byte, dig string) {
		h, err := v1.NewHash(dig)
		if err != nil {
			return
		}
		b, err := parseBundle(raw)
		if err != nil {
			return
		}
		c := verifyBundleWithKey(context.Background(), b, h, k)
		if !c.ok {
			return
		}
		env := b.GetDsseEnvelope()
		if env == nil {
			t.Fatalf("a bundle without a DSSE envelope verified: %s", raw)
		}
		var st struct {
			Subject []struct {
				Digest map[string]string `json:"digest"`
			} `json:"subject"`
		}
		if err := json.Unmarshal(env.GetPayload(), &st); err != nil {
			t.Fatalf("a bundle whose statement does not decode verified: %v", err)
		}
		for _, s := range st.Subject {
			if s.Digest[h.Algorithm] == h.Hex {
				return
			}
		}
		t.Fatalf("a bundle about %s verified for %s", env.GetPayload(), h)
	})
}

// fuzzSignedBundle signs a random image in an in-process registry with publisher.SignBundleWithKey
// and returns the bundle's JSON and the image digest.
func fuzzSignedBundle(f *testing.F, priv *ecdsa.PrivateKey, ann map[string]string) ([]byte, string) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	img, err := random.Image(64, 1)
	if err != nil {
		f.Fatal(err)
	}
	tag, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/apps/app:v1")
	if err != nil {
		f.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		f.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		f.Fatal(err)
	}
	d := tag.Context().Digest(h.String())
	if err := publisher.SignBundleWithKey(context.Background(), d, priv, ann); err != nil {
		f.Fatal(err)
	}
	idx, err := remote.Referrers(d)
	if err != nil {
		f.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		f.Fatalf("referrers of the signed image: %v, %v", m, err)
	}
	kind, b, err := readReferrer(tag.Context().Digest(m.Manifests[0].Digest.String()))
	if err != nil || kind != kindBundle {
		f.Fatalf("reading the bundle back: kind %d, %v", kind, err)
	}
	raw, err := b.MarshalJSON()
	if err != nil {
		f.Fatal(err)
	}
	return raw, h.String()
}
