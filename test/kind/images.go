package kind

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/internal/testregistry"
	"github.com/signet-dev/signet/internal/testtools"
	"github.com/signet-dev/signet/pkg/publisher"
)

// keyPassword encrypts the cosign.key files the tests make (cosign reads it from COSIGN_PASSWORD).
const keyPassword = "e2e-password"

// keyPair is a cosign key pair on disk.
type keyPair struct {
	PrivFile, PubFile string
	Pub               []byte
}

func newKeyPair(t testing.TB, dir, name string) keyPair {
	t.Helper()
	priv, pub, err := publisher.GenerateKeyPair([]byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{
		PrivFile: writeFile(t, filepath.Join(dir, name+".key"), priv),
		PubFile:  writeFile(t, filepath.Join(dir, name+".pub"), pub),
		Pub:      pub,
	}
}

// registry is the real registry process with TLS and basic auth, and a client for it.
type registry struct {
	*testregistry.Registry
	opts []remote.Option
}

func startRegistry(t testing.TB) *registry {
	t.Helper()
	r := testregistry.Start(t, testregistry.Options{Username: "e2e", Password: "e2e-secret"})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(r.CAPEM)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &registry{Registry: r, opts: []remote.Option{
		remote.WithTransport(tr),
		remote.WithAuth(&authn.Basic{Username: r.Username, Password: r.Password}),
	}}
}

// push uploads a small random image as repo:tag and returns its digest reference.
func (r *registry) push(t testing.TB, repoTag string) name.Digest {
	t.Helper()
	tag, err := name.NewTag(r.Host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, r.opts...); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(d.String())
}

// sign signs img with k's private key through pkg/publisher (cosign's legacy .sig tag).
func (r *registry) sign(t testing.TB, img name.Digest, k keyPair) {
	t.Helper()
	priv, err := os.ReadFile(k.PrivFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := publisher.LoadSigner(priv, []byte(keyPassword))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := publisher.Sign(ctx, img, signer, nil, r.opts...); err != nil {
		t.Fatalf("signing %s: %v", img, err)
	}
}

// cosignSign signs img with the real cosign CLI, offline: no transparency log, no signing config,
// cosign's default (sigstore bundle) format. HOME is private so cosign reads no user settings.
func (r *registry) cosignSign(t testing.TB, img name.Digest, k keyPair) {
	t.Helper()
	home := t.TempDir()
	writeFile(t, filepath.Join(home, "config.json"), []byte(`{"auths":{"`+r.Host+`":{"username":"`+r.Username+`","password":"`+r.Password+`"}}}`))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testtools.Path(t, "cosign"), "sign", "--key", k.PrivFile,
		"--tlog-upload=false", "--use-signing-config=false", "-y", "--registry-cacert", r.CAFile, img.String())
	cmd.Env = []string{"HOME=" + home, "DOCKER_CONFIG=" + home, "COSIGN_PASSWORD=" + keyPassword,
		"TUF_ROOT=" + filepath.Join(home, ".sigstore"), "PATH=" + os.Getenv("PATH")}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("cosign sign %s: %v\n%s", img, err, strings.TrimSpace(out.String()))
	}
}
