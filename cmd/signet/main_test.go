package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/signet-dev/signet/pkg/publisher"
)

// exec runs the CLI in-process with buffers.
func execCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		args   []string
		code   int
		stderr string
		stdout string
	}{
		"An unknown flag is a usage error.":           {args: []string{"build", "--nope"}, code: exitUsage, stderr: "unknown flag"},
		"sign without an image is a usage error.":     {args: []string{"sign", "--key", "k"}, code: exitUsage, stderr: "at least 1 argument"},
		"verify without a key or policy is usage.":    {args: []string{"verify", "reg.example/app:1"}, code: exitUsage, stderr: "--key cosign.pub or --policy"},
		"An unknown signature format is usage.":       {args: []string{"sign", "--key", "k", "--format", "sbom", "reg.example/a:1"}, code: exitUsage, stderr: "use legacy, bundle or both"},
		"An unknown output format is usage.":          {args: []string{"build", "-o", "yaml"}, code: exitUsage, stderr: "use text or json"},
		"publish with one bad location is usage.":     {args: []string{"publish", "dir:/x", "docker://reg.example/a:1"}, code: exitUsage, stderr: "unknown transport"},
		"A missing build file fails with its name.":   {args: []string{"build", "-f", filepath.Join(dir, "none.yaml")}, code: exitFailed, stderr: "none.yaml"},
		"A missing key file fails with its name.":     {args: []string{"sign", "--key", filepath.Join(dir, "none.key"), "127.0.0.1:1/a:1"}, code: exitFailed, stderr: "none.key"},
		"release without --to is usage.":              {args: []string{"release", "--key", "k"}, code: exitUsage, stderr: "--to is required"},
		"The help documents the exit codes.":          {args: []string{"verify", "--help"}, code: exitOK, stdout: "4  verify: images would be denied only because the registry"},
		"An unreachable registry is exit 4 on verify": {args: []string{"verify", "--key", pubFile, "--timeout", "5s", "127.0.0.1:1/app:1"}, code: exitRegistryDenied, stdout: "registry unreachable"},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := execCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) || !strings.Contains(stdout, tc.stdout) {
				t.Errorf("signet %s: exit %d, want %d\nstdout: %s\nstderr: %s\nwant stdout ⊇ %q, stderr ⊇ %q", strings.Join(tc.args, " "), code, tc.code, stdout, stderr, tc.stdout, tc.stderr)
			}
		})
	}
}

// Not parallel: it changes the working directory and the environment.
func TestGenerateKeyPairSecret(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("COSIGN_PASSWORD", "pw")
	code, stdout, stderr := execCLI(t, "generate-key-pair", "--k8s-secret", "ci-keys", "--namespace", "signet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"kind: Secret", "name: ci-keys", "namespace: signet", "cosign.pub: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("Secret manifest lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "cosign.key") || strings.Contains(stdout, "PRIVATE") {
		t.Errorf("the Secret manifest carries the private key:\n%s", stdout)
	}
	priv, err := os.ReadFile(filepath.Join(dir, "cosign.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publisher.LoadSigner(priv, []byte("pw")); err != nil {
		t.Errorf("the written key does not load with COSIGN_PASSWORD: %v", err)
	}
	if code, _, stderr := execCLI(t, "generate-key-pair"); code != exitFailed || !strings.Contains(stderr, "--force") {
		t.Errorf("overwriting keys without --force: exit %d, %s", code, stderr)
	}
}
