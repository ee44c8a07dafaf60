package verify_test

import (
	"bytes"
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
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"

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
	// referrersGets counts requests to the referrers API.
	referrersGets atomic.Int64
	// referrersTagGets counts GET requests for the `sha256-<hex>` referrers tag.
	referrersTagGets atomic.Int64
	// failReferrers, when non-zero, is the status returned for the referrers API and tag.
	failReferrers atomic.Int32
	// referrersNotIndex makes the referrers API answer 200 with a body that is not an index.
	referrersNotIndex atomic.Bool
}

// newRegistry starts an in-process registry without the OCI 1.1 referrers API: bundles are found
// through the `sha256-<hex>` referrers tag.
func newRegistry(t testing.TB) *testRegistry {
	t.Helper()
	return newRegistryWith(t, false)
}

// newRegistryWith starts an in-process registry, with or without the referrers API.
func newRegistryWith(t testing.TB, referrersAPI bool) *testRegistry {
	t.Helper()
	r := &testRegistry{}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(referrersAPI))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if isReferrersRequest(req.URL.Path) {
			r.referrersGets.Add(1)
			if code := r.failReferrers.Load(); code != 0 {
				http.Error(w, "injected failure", int(code))
				return
			}
			if r.referrersNotIndex.Load() {
				// A registry that answers the referrers path with something that is not an index
				// (a web UI, a proxy's error page): clients must fall back to the referrers tag.
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, "<html>not an index</html>")
				return
			}
		}
		if isReferrersTag(req.URL.Path) {
			if req.Method == http.MethodGet {
				r.referrersTagGets.Add(1)
			}
			if code := r.failReferrers.Load(); code != 0 {
				http.Error(w, "injected failure", int(code))
				return
			}
		}
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

func isReferrersRequest(path string) bool {
	return strings.Contains(path, "/referrers/")
}

// isReferrersTag matches the `sha256-<hex>` referrers tag (not the `.sig` signature tag).
func isReferrersTag(path string) bool {
	i := strings.LastIndex(path, "/manifests/")
	if i < 0 {
		return false
	}
	tag := path[i+len("/manifests/"):]
	return strings.HasPrefix(tag, "sha256-") && !strings.Contains(tag, ".")
}

// push writes a random image to repo and returns its digest reference.
func (r *testRegistry) push(t testing.TB, repo string) name.Digest {
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

func newKey(t testing.TB, kind string) testKey {
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
	case "p521":
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "rsa", "rsa2048":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "rsa3072":
		priv, err = rsa.GenerateKey(rand.Reader, 3072)
	case "rsa4096":
		priv, err = rsa.GenerateKey(rand.Reader, 4096)
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

func sign(t testing.TB, img name.Digest, k testKey, annotations map[string]string) {
	t.Helper()
	if err := publisher.SignWithKey(context.Background(), img, k.priv, annotations); err != nil {
		t.Fatalf("signing %s: %v", img, err)
	}
}

func signBundle(t testing.TB, img name.Digest, k testKey, annotations map[string]string) {
	t.Helper()
	if err := publisher.SignBundleWithKey(context.Background(), img, k.priv, annotations); err != nil {
		t.Fatalf("signing %s as a bundle: %v", img, err)
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

// testKeypair presents a signer as the sigstore-go signing key, for bundles built in tests without
// pkg/publisher (whose own adapter is what is under test elsewhere).
type testKeypair struct{ sv signature.SignerVerifier }

func (k *testKeypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}

func (k *testKeypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}
func (k *testKeypair) GetHint() []byte         { return []byte("test") }
func (k *testKeypair) GetKeyAlgorithm() string { return "ECDSA" }

func (k *testKeypair) GetPublicKey() crypto.PublicKey {
	pub, _ := k.sv.PublicKey()
	return pub
}

func (k *testKeypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.GetPublicKey())
	return string(b), err
}

func (k *testKeypair) SignData(ctx context.Context, data []byte) ([]byte, []byte, error) {
	sig, err := k.sv.SignMessage(bytes.NewReader(data), sigopts.WithContext(ctx))
	sum := sha256.Sum256(data)
	return sig, sum[:], err
}
