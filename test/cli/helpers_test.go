package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/internal/testregistry"
	"github.com/signet-dev/signet/internal/testtools"
)

// signetBin is the CLI built once by TestMain.
var signetBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "signet-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	signetBin = filepath.Join(dir, "signet")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(goBin, "build", "-o", signetBin, "github.com/signet-dev/signet/cmd/signet")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the signet CLI:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	password    = "cli-key-password"
	regUser     = "producer"
	regPassword = "registry-secret"
)

// env is a registry with TLS and basic auth, a working directory, and the environment every tool
// runs with: a private HOME, a docker config holding the registry's credentials, COSIGN_PASSWORD.
type env struct {
	reg  *testregistry.Registry
	dir  string
	home string
	// certDir holds ca.crt, as skopeo's --dest-cert-dir wants it.
	certDir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{reg: testregistry.Start(t, testregistry.Options{Username: regUser, Password: regPassword}), dir: t.TempDir(), home: t.TempDir()}
	if err := os.MkdirAll(filepath.Join(e.home, ".docker"), 0o700); err != nil {
		t.Fatal(err)
	}
	e.reg.DockerConfig(t, filepath.Join(e.home, ".docker"))
	e.certDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(e.certDir, "ca.crt"), e.reg.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) environ() []string {
	return []string{
		"HOME=" + e.home,
		"DOCKER_CONFIG=" + filepath.Join(e.home, ".docker"),
		"COSIGN_PASSWORD=" + password,
		"PATH=" + os.Getenv("PATH"),
		"TUF_ROOT=" + filepath.Join(e.home, ".sigstore"),
		"TMPDIR=" + os.TempDir(),
	}
}

// result is one finished command.
type result struct {
	stdout, stderr string
	code           int
}

// exec runs bin with args in e.dir.
func (e *env) exec(t *testing.T, bin string, extraEnv []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = e.dir
	cmd.Env = append(e.environ(), extraEnv...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running %s %s: %v", filepath.Base(bin), strings.Join(args, " "), err)
		}
		r.code = ee.ExitCode()
	}
	return r
}

// must runs bin and fails the test unless it exits 0.
func (e *env) must(t *testing.T, bin string, args ...string) result {
	t.Helper()
	r := e.exec(t, bin, nil, args...)
	if r.code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// signet runs the CLI with the registry's CA; credentials come from the docker config.
func (e *env) signet(t *testing.T, args ...string) result {
	t.Helper()
	return e.must(t, signetBin, e.signetArgs(args)...)
}

func (e *env) signetArgs(args []string) []string {
	switch args[0] {
	case "publish", "sign", "verify", "release", "build":
		return append([]string{args[0], "--tls-ca", e.reg.CAFile}, args[1:]...)
	}
	return args
}

func (e *env) cosign(t *testing.T, args ...string) result {
	t.Helper()
	return e.must(t, testtools.Path(t, "cosign"), args...)
}

// skopeo runs the skopeo the Makefile installs; it is a Debian package, not a Go tool.
func (e *env) skopeo(t *testing.T, args ...string) result {
	t.Helper()
	bin, err := exec.LookPath("skopeo")
	if err != nil {
		if os.Getenv("SIGNET_SKIP_TOOLS") == "1" {
			t.Skip("SKIPPING: SIGNET_SKIP_TOOLS=1 and skopeo is not installed (run `make skopeo`)")
		}
		t.Fatal("skopeo is not installed: run `make skopeo` (or `make test`, which installs it)")
	}
	return e.must(t, bin, append([]string{"--insecure-policy"}, args...)...)
}

// keyPair makes cosign.key and cosign.pub in e.dir with signet and returns their paths.
func (e *env) keyPair(t *testing.T) (string, string) {
	t.Helper()
	e.signet(t, "generate-key-pair")
	return filepath.Join(e.dir, "cosign.key"), filepath.Join(e.dir, "cosign.pub")
}

// writeBuildFile writes a small two-file image definition and its files into e.dir.
func (e *env) writeBuildFile(t *testing.T, content string) string {
	t.Helper()
	files := map[string]string{
		"bin/hello":      "#!/bin/sh\necho hello\n",
		"etc/hello.conf": "greeting=" + content + "\n",
		"stacker.yaml": `hello:
  from: scratch
  import:
    - path: bin/hello
      dest: /usr/bin/hello
      mode: 0755
    - path: etc/hello.conf
      dest: /etc/hello.conf
  entrypoint: /usr/bin/hello
  labels:
    org.opencontainers.image.title: hello
`,
	}
	for name, c := range files {
		p := filepath.Join(e.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(e.dir, "stacker.yaml")
}

// jsonField decodes stdout as JSON and returns the string at key.
func jsonField(t *testing.T, stdout, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(stdout), &m); err != nil {
		t.Fatalf("--output json printed something that is not JSON: %v\n%s", err, stdout)
	}
	s, _ := m[key].(string)
	return s
}

func testtoolsCosign(t *testing.T) string { return testtools.Path(t, "cosign") }
