package policy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
)

// fuzzPublicKeyPEM is a fresh P-256 public key, for seeds.
func fuzzPublicKeyPEM(f *testing.F) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// privateLooking is a PEM block shaped like what `cosign generate-key-pair` writes to cosign.key.
const privateLooking = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n" +
	"eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6\n" +
	"OCwicCI6MX0sInNhbHQiOiJzZWNyZXQtc2FsdC12YWx1ZS1ub3QtdG8tbG9nIn19\n" +
	"-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"

// FuzzLoadBytes loads arbitrary policy files. Whatever the input, loading never panics; it returns
// either policies or an error, never both; every error line names the file; and a file that loads
// compiles to the same fingerprints every time.
func FuzzLoadBytes(f *testing.F) {
	pub := fuzzPublicKeyPEM(f)
	indented := "    " + strings.ReplaceAll(strings.TrimSpace(pub), "\n", "\n    ")
	for _, s := range []string{
		"apiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: a}\nspec:\n  images: [{glob: \"ghcr.io/org/**\"}]\n  authorities:\n  - key:\n      data: |\n" + indented + "\n",
		"apiVersion: policy.signet.dev/v1alpha1\nkind: ImagePolicy\nmetadata: {name: b, namespace: team}\nspec:\n  images: [{glob: \"*\"}]\n  mode: warn\n  threshold: 1\n  annotations: {env: prod}\n  multiArch: platforms\n  failurePolicy: open\n  authorities:\n  - name: one\n    key:\n      data: |\n" + indented + "\n",
		"apiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: c}\nspec:\n  images: [{glob: \"**\"}]\n  namespaceSelector: {matchLabels: {team: a}, matchExpressions: [{key: env, operator: In, values: [prod]}]}\n  authorities: [{key: {secretRef: {name: keys, namespace: signet}}}]\n",
		"---\n# comment only\n---\napiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: d}\nspec: {images: [{glob: nginx}], threshold: 2, authorities: []}\n...\n",
		"apiVersion: v1\nkind: Secret\n",
		"apiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: e}\nspec: {images: [{glob: \"a//b\"}], mode: 3, unknown: x}\n",
		"{\"apiVersion\":\"policy.signet.dev/v1alpha1\",\"kind\":\"ClusterImagePolicy\",\"metadata\":{\"name\":\"j\"},\"spec\":{\"images\":[{\"glob\":\"x\"}],\"pinDigest\":false}}",
		"\xef\xbb\xbf--- {a: [",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// key.path reads a file: keep the fuzzer off the file system (it could name /dev/zero).
		// JSON field matching ignores case, and YAML escapes need a backslash.
		if bytes.Contains(bytes.ToLower(data), []byte("path")) || bytes.ContainsRune(data, '\\') {
			t.Skip("key paths are not fuzzed")
		}
		dir := t.TempDir()
		ps, err := LoadBytes(data, "fuzz.yaml", dir)
		if err != nil {
			if ps != nil {
				t.Fatalf("LoadBytes returned %d policies with an error", len(ps))
			}
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Fatalf("error line %q does not name the file", line)
				}
			}
			return
		}
		again, err := LoadBytes(data, "fuzz.yaml", dir)
		if err != nil || len(again) != len(ps) {
			t.Fatalf("loading twice: %d policies, then %d and %v", len(ps), len(again), err)
		}
		for i, p := range ps {
			if p.Err != nil || p.Fingerprint == "" || p.Fingerprint != again[i].Fingerprint {
				t.Fatalf("policy %s: err %v, fingerprint %q then %q", p.Name, p.Err, p.Fingerprint, again[i].Fingerprint)
			}
			if p.Threshold < 1 || (len(p.Authorities) > 0 && p.Threshold > len(p.Authorities)) {
				t.Fatalf("policy %s: threshold %d with %d authorities", p.Name, p.Threshold, len(p.Authorities))
			}
		}
	})
}

// FuzzParsePublicKeys parses arbitrary PEM. It never panics; every key it returns is one cosign
// can verify with, once; and an error never repeats the content of a block that is not a public
// key (a private key pasted by mistake must not reach a log).
func FuzzParsePublicKeys(f *testing.F) {
	pub := fuzzPublicKeyPEM(f)
	for _, s := range []string{
		pub,
		pub + pub,
		privateLooking + pub,
		"  " + strings.ReplaceAll(pub, "\n", "\r\n  "),
		"-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----\n",
		"-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n",
		privateLooking,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParsePublicKeys(data)
		if err != nil {
			if keys != nil {
				t.Fatalf("keys and an error: %v", err)
			}
			checkNoSecretIn(t, err.Error(), data)
			return
		}
		if len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if err := checkPublicKey(k.Key); err != nil {
				t.Fatalf("returned a key cosign cannot use: %v", err)
			}
			if seen[k.ID] {
				t.Fatalf("key %s returned twice", k.ID)
			}
			seen[k.ID] = true
		}
	})
}

// FuzzKeysFromSecretData scans arbitrary Secret data as a Secret made by cosign would be scanned.
// A public key anywhere is found; an error names entries, never their contents.
func FuzzKeysFromSecretData(f *testing.F) {
	pub := fuzzPublicKeyPEM(f)
	f.Add("cosign.pub", []byte(pub), "cosign.key", []byte(privateLooking), "cosign.password", []byte("hunter2-very-secret-password"))
	f.Add("cosign.key", []byte(privateLooking), "cosign.password", []byte("hunter2-very-secret-password"), "x", []byte{})
	f.Add("a", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), "b", []byte(pub), "c", []byte(privateLooking+pub))
	f.Fuzz(func(t *testing.T, k1 string, v1 []byte, k2 string, v2 []byte, k3 string, v3 []byte) {
		data := map[string][]byte{k1: v1, k2: v2, k3: v3}
		keys, err := KeysFromSecretData(data)
		if err != nil {
			if keys != nil {
				t.Fatalf("keys and an error: %v", err)
			}
			names := k1 + "\x00" + k2 + "\x00" + k3
			for _, v := range data {
				s := string(v)
				// Long, space-free values cannot occur in the message's own words; a value that is a
				// substring of an entry name is fine to show as that name.
				if len(s) >= 16 && !strings.ContainsAny(s, " \n") && !strings.Contains(names, s) && strings.Contains(err.Error(), s) {
					t.Fatalf("error %q repeats the content of an entry", err)
				}
				checkNoSecretIn(t, err.Error(), v)
			}
			return
		}
		for _, k := range keys {
			if err := checkPublicKey(k.Key); err != nil {
				t.Fatalf("returned a key cosign cannot use: %v", err)
			}
		}
		if len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
		if want, perr := ParsePublicKeys(v1); perr == nil && k1 != k2 && k1 != k3 {
			// A valid public key entry is always among the keys returned.
			for _, w := range want {
				found := false
				for _, k := range keys {
					found = found || k.ID == w.ID
				}
				if !found {
					t.Fatalf("key %s of entry %q is missing", w.ID, k1)
				}
			}
		}
	})
}

// checkNoSecretIn fails when msg repeats any 16-character run of the base64 body of a PEM block of
// data that is not a public key.
func checkNoSecretIn(t *testing.T, msg string, data []byte) {
	t.Helper()
	rest := trimLines(data)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return
		}
		if b.Type == pemPublicKey || b.Type == pemRSAPublicKey || len(b.Bytes) < 12 {
			continue
		}
		enc := base64.StdEncoding.EncodeToString(b.Bytes)
		for i := 0; i+16 <= len(enc); i += 16 {
			if strings.Contains(msg, enc[i:i+16]) {
				t.Fatalf("error %q repeats the %s block", msg, b.Type)
			}
		}
	}
}
