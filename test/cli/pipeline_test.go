package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// builtDigest runs signet build into layout and returns the digest of the image "hello".
func (e *env) builtDigest(t *testing.T, file, layout string) string {
	t.Helper()
	out := e.signet(t, "build", "-f", file, "--layout", layout, "-o", "json").stdout
	var d string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `"digest"`) {
			d = strings.Trim(strings.TrimSpace(strings.SplitN(line, ":", 2)[1]), `",`)
		}
	}
	if !strings.HasPrefix(d, "sha256:") {
		t.Fatalf("signet build -o json printed no digest:\n%s", out)
	}
	return d
}

func TestBuildTwiceGivesOneDigestAndSkopeoCopiesIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	file := e.writeBuildFile(t, "reproducible")
	first := e.builtDigest(t, file, filepath.Join(e.dir, "oci-a"))
	later := time.Now().Add(2 * time.Hour)
	for _, f := range []string{"bin/hello", "etc/hello.conf"} {
		if err := os.Chtimes(filepath.Join(e.dir, f), later, later); err != nil {
			t.Fatal(err)
		}
	}
	second := e.builtDigest(t, file, filepath.Join(e.dir, "oci-b"))
	if first != second {
		t.Fatalf("two builds of the same inputs gave %s and %s", first, second)
	}
	t.Logf("signet build, twice: %s", first)

	dst := "docker://" + e.reg.Host + "/skopeo/hello:1"
	e.skopeo(t, "copy", "--dest-cert-dir", e.certDir, "--dest-creds", regUser+":"+regPassword, "oci:"+filepath.Join(e.dir, "oci-a")+":hello", dst)
	got := strings.TrimSpace(e.skopeo(t, "inspect", "--cert-dir", e.certDir, "--creds", regUser+":"+regPassword, "--format", "{{.Digest}}", dst).stdout)
	if got != first {
		t.Errorf("skopeo copied signet's layout as %s, want the built digest %s", got, first)
	}
}

func TestSignetPublishesWhatSkopeoCopied(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	file := e.writeBuildFile(t, "from skopeo")
	built := e.builtDigest(t, file, filepath.Join(e.dir, "oci"))
	src := "docker://" + e.reg.Host + "/src/hello:1"
	e.signet(t, "publish", "oci:oci:hello", src)
	layout := filepath.Join(e.dir, "skopeo-layout")
	e.skopeo(t, "copy", "--src-cert-dir", e.certDir, "--src-creds", regUser+":"+regPassword, src, "oci:"+layout+":copied")

	// Credentials from --username/--password alone (stacker publish's flags): no docker config.
	noConfig := []string{"DOCKER_CONFIG=" + t.TempDir()}
	args := e.signetArgs([]string{"publish", "--username", regUser, "--password", regPassword, "--digestfile", "digest.txt",
		"oci:" + layout + ":copied", "docker://" + e.reg.Host + "/dst/hello:1"})
	r := e.exec(t, signetBin, noConfig, args...)
	if r.code != 0 {
		t.Fatalf("signet publish of skopeo's layout: exit %d\n%s", r.code, r.stderr)
	}
	if got := strings.TrimSpace(r.stdout); got != built {
		t.Errorf("signet publish printed %s, want %s", got, built)
	}
	if b, err := os.ReadFile(filepath.Join(e.dir, "digest.txt")); err != nil || string(b) != built {
		t.Errorf("--digestfile holds %q (%v), want %s", b, err, built)
	}

	// Without credentials the registry refuses, and the message says so.
	r = e.exec(t, signetBin, noConfig, e.signetArgs([]string{"publish", "oci:" + layout + ":copied", "docker://" + e.reg.Host + "/dst/hello:2"})...)
	if r.code != 1 || !strings.Contains(r.stderr, "auth failed") {
		t.Errorf("publish without credentials: exit %d, stderr %q; want 1 and an auth failure", r.code, r.stderr)
	}
}

func TestSignetSignsCosignVerifies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, pub := e.keyPair(t)
	e.writeBuildFile(t, "signed by signet")
	e.signet(t, "build", "--layout", "oci")
	cases := map[string]struct {
		format     string
		cosignArgs []string
	}{
		"The legacy format verifies with cosign's legacy verifier.":  {format: "legacy", cosignArgs: []string{"--new-bundle-format=false"}},
		"The bundle format verifies with cosign's default verifier.": {format: "bundle"},
		"Both formats verify with cosign's legacy verifier.":         {format: "both", cosignArgs: []string{"--new-bundle-format=false"}},
		"Both formats verify with cosign's default verifier.":        {format: "both"},
	}
	i := 0
	for desc, tc := range cases {
		i++
		ref := e.reg.Host + "/signed/hello:" + strings.ReplaceAll(strings.ToLower(tc.format), " ", "") + "-" + string(rune('a'+i))
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			e.signet(t, "publish", "oci:oci:hello", "docker://"+ref)
			r := e.signet(t, "sign", "--key", "cosign.key", "--format", tc.format, "-a", "team=payments", ref)
			if !strings.Contains(r.stderr, "the tag itself is not signed") {
				t.Errorf("signing a tag did not say it signs the digest:\n%s", r.stderr)
			}
			args := append([]string{"verify", "--insecure-ignore-tlog", "--registry-cacert", e.reg.CAFile, "--key", pub, "-a", "team=payments"}, tc.cosignArgs...)
			out := e.cosign(t, append(args, ref)...)
			t.Logf("cosign verify: %s", out.stdout)
			wrong := append([]string{"verify", "--insecure-ignore-tlog", "--registry-cacert", e.reg.CAFile, "--key", pub, "-a", "team=other"}, tc.cosignArgs...)
			if r := e.exec(t, testtoolsCosign(t), nil, append(wrong, ref)...); r.code == 0 {
				t.Errorf("cosign verify accepted team=other for a signature carrying team=payments")
			}
		})
	}
}

func TestCosignSignsSignetVerifies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.keyPair(t) // signet's key, signed with by cosign: the key formats are one
	e.writeBuildFile(t, "signed by cosign")
	e.signet(t, "build", "--layout", "oci")
	signed := e.reg.Host + "/cosigned/hello:1"
	unsigned := e.reg.Host + "/unsigned/hello:1"
	e.signet(t, "publish", "oci:oci:hello", "docker://"+signed)
	e.signet(t, "publish", "oci:oci:hello", "docker://"+unsigned)
	e.cosign(t, "sign", "--key", "cosign.key", "--tlog-upload=false", "--use-signing-config=false", "--new-bundle-format=false",
		"-y", "--registry-cacert", e.reg.CAFile, "-a", "env=prod", signed)

	otherDir := t.TempDir()
	other := &env{reg: e.reg, dir: otherDir, home: e.home}
	other.keyPair(t)

	policyFile := filepath.Join(e.dir, "policy.yaml")
	policy := `apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata:
  name: cosigned
spec:
  images:
    - glob: "` + e.reg.Host + `/cosigned/**"
  authorities:
    - name: ci
      key:
        path: cosign.pub
  annotations:
    env: prod
`
	if err := os.WriteFile(policyFile, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		args     []string
		code     int
		contains string
	}{
		"cosign's signature verifies with the key.":               {args: []string{"--key", "cosign.pub", signed}, code: 0, contains: "ALLOWED " + signed + "@sha256:"},
		"cosign's signature verifies with a policy file.":         {args: []string{"--policy", policyFile, signed}, code: 0, contains: "ALLOWED"},
		"A required annotation is checked.":                       {args: []string{"--key", "cosign.pub", "-a", "env=staging", signed}, code: 3, contains: "required annotation missing or mismatched"},
		"Another key is denied with the webhook's reason.":        {args: []string{"--key", filepath.Join(otherDir, "cosign.pub"), signed}, code: 3, contains: "signatures present but none verify with the policy's keys"},
		"An unsigned image is denied as unsigned.":                {args: []string{"--key", "cosign.pub", unsigned}, code: 3, contains: "no signatures"},
		"An image no policy matches is denied by default.":        {args: []string{"--policy", policyFile, unsigned}, code: 3, contains: "no image policy matches it"},
		"A missing tag is denied as not found.":                   {args: []string{"--key", "cosign.pub", e.reg.Host + "/cosigned/hello:nope"}, code: 3, contains: "tag not found"},
		"JSON output carries the decision.":                       {args: []string{"--key", "cosign.pub", "-o", "json", signed}, code: 0, contains: `"Allowed": true`},
		"The denial names the image and the resolved digest too.": {args: []string{"--key", "cosign.pub", unsigned}, code: 3, contains: "(resolved to sha256:"},
	}
	for desc, tc := range cases {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			r := e.exec(t, signetBin, nil, e.signetArgs(append([]string{"verify"}, tc.args...))...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.contains) {
				t.Errorf("signet verify %s: exit %d, want %d; stdout:\n%s\nwant it to contain %q; stderr:\n%s", strings.Join(tc.args, " "), r.code, tc.code, r.stdout, tc.contains, r.stderr)
			}
		})
	}
}

func TestReleaseBuildsPublishesAndSignsInOneStep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, pub := e.keyPair(t)
	file := e.writeBuildFile(t, "released")
	built := e.builtDigest(t, file, filepath.Join(e.dir, "oci"))
	r := e.signet(t, "release", "-f", file, "--to", "docker://"+e.reg.Host+"/rel/hello:1.0", "--key", "cosign.key")
	ref := strings.TrimSpace(r.stdout)
	if want := e.reg.Host + "/rel/hello@" + built; ref != want {
		t.Fatalf("signet release printed %q, want %q", ref, want)
	}
	if out := e.signet(t, "verify", "--key", "cosign.pub", e.reg.Host+"/rel/hello:1.0").stdout; !strings.Contains(out, "ALLOWED") {
		t.Errorf("signet verify of the release:\n%s", out)
	}
	e.cosign(t, "verify", "--insecure-ignore-tlog", "--registry-cacert", e.reg.CAFile, "--key", pub, ref)
	e.cosign(t, "verify", "--insecure-ignore-tlog", "--registry-cacert", e.reg.CAFile, "--new-bundle-format=false", "--key", pub, ref)
}
