package verify_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/publisher"
)

// testRegistry is an in-process registry with a wrapper that counts and can fail requests for
// signature tags.
type testRegistry struct {
	host string
	// sigManifestGets counts GET requests for a `sha256-….sig` manifest.
	sigManifestGets atomic.Int64
	// failSig, when non-zero, is the status returned for every signature tag request.
	failSig atomic.Int32
	// block, when set, holds signature tag requests until it is closed.
	block atomic.Pointer[chan struct{}]
}

func newRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if isSignatureTag(req.URL.Path) {
			if req.Method == http.MethodGet {
				r.sigManifestGets.Add(1)
			}
			if ch := r.block.Load(); ch != nil {
				select {
				case <-*ch:
				case <-req.Context().Done():
					return
				}
			}
			if code := r.failSig.Load(); code != 0 {
				http.Error(w, "injected failure", int(code))
				return
			}
		}
		inner.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func isSignatureTag(path string) bool {
	i := strings.LastIndex(path, "/manifests/")
	return i >= 0 && strings.HasPrefix(path[i+len("/manifests/"):], "sha256-") && strings.HasSuffix(path, ".sig")
}

// push writes a random image to repo and returns its digest reference.
func (r *testRegistry) push(t *testing.T, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(r.host + "/" + repo + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(d.String())
}

// testKey is a private key and the policy form of its public half.
type testKey struct {
	priv crypto.Signer
	pub  policy.PublicKey
}

func newKey(t *testing.T, kind string) testKey {
	t.Helper()
	var (
		priv crypto.Signer
		err  error
	)
	switch kind {
	case "p256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("unknown key kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return testKey{priv: priv, pub: policy.PublicKey{Key: priv.Public(), ID: hex.EncodeToString(sum[:])[:16]}}
}

func sign(t *testing.T, img name.Digest, k testKey, annotations map[string]string) {
	t.Helper()
	if err := publisher.SignWithKey(context.Background(), img, k.priv, annotations); err != nil {
		t.Fatalf("signing %s: %v", img, err)
	}
}

func authority(name string, keys ...testKey) policy.CompiledAuthority {
	a := policy.CompiledAuthority{Name: name}
	for _, k := range keys {
		a.Keys = append(a.Keys, k.pub)
	}
	return a
}

// newPolicy builds a compiled policy by hand; fingerprint "" disables verdict caching.
func newPolicy(fingerprint string, threshold int, annotations map[string]string, auths ...policy.CompiledAuthority) *policy.Policy {
	return &policy.Policy{
		Name:        "ClusterImagePolicy/test",
		Threshold:   threshold,
		Annotations: annotations,
		Authorities: auths,
		Fingerprint: fingerprint,
	}
}
