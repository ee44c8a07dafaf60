package publisher_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/resolver"
)

// testRegistry starts an in-process registry (with the referrers API) and returns its host and a
// Registry allowed to reach it over plain HTTP.
func testRegistry(t *testing.T) (string, *resolver.Registry) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true)))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	reg, err := resolver.New(resolver.WithInsecureHosts(host))
	if err != nil {
		t.Fatal(err)
	}
	return host, reg
}

// writeFiles writes name → content under dir, making directories; it returns dir.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// parse reads a build file written into dir (under a name of its own, so that parallel tests can
// share dir).
func parse(t *testing.T, dir, yaml string) *publisher.BuildFile {
	t.Helper()
	f, err := os.CreateTemp(dir, "stacker-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(yaml); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	bf, err := publisher.ReadBuildFile(f.Name(), nil)
	if err != nil {
		t.Fatalf("ReadBuildFile() = %v", err)
	}
	return bf
}

// fastSigner is a fresh ECDSA P-256 signer without the scrypt round trip of an encrypted cosign
// key, which takes seconds under the race detector; key files are tested elsewhere.
func fastSigner(t *testing.T) (signature.SignerVerifier, crypto.PublicKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(k, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return sv, k.Public()
}
