package interop

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/internal/testregistry"
	"github.com/signet-dev/signet/internal/testtools"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/verify"
)

// cosignPassword encrypts the cosign.key files the tests make.
const cosignPassword = "interop-password"

// env is a running registry and the cosign CLI set up to trust it.
type env struct {
	reg    *testregistry.Registry
	cosign string
	home   string
	tr     http.RoundTripper
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{cosign: testtools.Path(t, "cosign"), reg: testregistry.Start(t, testregistry.Options{})}
	e.home = t.TempDir()
	e.tr = e.reg.Client().Transport
	return e
}

// remoteOptions reach the registry through a transport that trusts its CA.
func (e *env) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(e.tr)}
}

// push writes a small random image with OCI media types to repo and returns its digest.
func (e *env) push(t *testing.T, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	tag, err := name.NewTag(e.reg.Host + "/" + repo + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, e.remoteOptions(context.Background())...); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(d.String())
}

// run runs the cosign CLI with a private HOME and the test's password, and returns its combined
// output; it never reaches past loopback because every command is offline.
func (e *env) run(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.cosign, args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"HOME=" + e.home,
		"DOCKER_CONFIG=" + filepath.Join(e.home, ".docker"),
		"COSIGN_PASSWORD=" + cosignPassword,
		"PATH=" + os.Getenv("PATH"),
		"TUF_ROOT=" + filepath.Join(e.home, ".sigstore"),
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// mustRun is run that fails the test on a non-zero exit.
func (e *env) mustRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := e.run(t, dir, args...)
	if err != nil {
		t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// generateKeyPair makes cosign.key and cosign.pub in a new directory with `cosign generate-key-pair`.
func (e *env) generateKeyPair(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	e.mustRun(t, dir, "generate-key-pair")
	for _, f := range []string{"cosign.key", "cosign.pub"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("cosign generate-key-pair did not write %s: %v", f, err)
		}
	}
	return dir
}

// policyFor compiles a policy trusting the public keys in pubFile, requiring annotations.
func policyFor(t *testing.T, pubFile string, annotations map[string]string) *policy.Policy {
	t.Helper()
	data, err := os.ReadFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := policy.ParsePublicKeys(data)
	if err != nil {
		t.Fatalf("parsing %s: %v", pubFile, err)
	}
	return &policy.Policy{
		Name:        "ClusterImagePolicy/interop",
		Threshold:   1,
		Annotations: annotations,
		Authorities: []policy.CompiledAuthority{{Name: "cosign", Keys: keys}},
	}
}

func (e *env) verifier() *verify.Verifier {
	return verify.New(verify.WithRemoteOptions(e.remoteOptions))
}
