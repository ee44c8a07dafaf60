package policy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
)

// rsaKeys are generated once per test binary: 4096-bit generation is slow under -race.
var rsaKeys = sync.OnceValue(func() map[int]*rsa.PublicKey {
	out := map[int]*rsa.PublicKey{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, bits := range []int{1024, 2048, 3072, 4096} {
		wg.Go(func() {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				panic(err)
			}
			mu.Lock()
			out[bits] = &k.PublicKey
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
})

func newECKey(t testing.TB) *ecdsa.PublicKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &k.PublicKey
}

// pkixPEM encodes pub as cosign writes cosign.pub.
func pkixPEM(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func idOf(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return keyID(der)
}

// indent prefixes every line of s, as PEM pasted into a YAML block scalar is.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	return prefix + strings.Join(lines, prefix) + "\n"
}

// fakePrivateKey is shaped like cosign.key. Its body must never show up in an error.
const fakePrivateKey = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
c2VjcmV0LXByaXZhdGUta2V5LW1hdGVyaWFsLXRoYXQtbXVzdC1uZXZlci1sZWFr
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----
`

const fakePrivateKeyBody = "c2VjcmV0LXByaXZhdGUta2V5LW1hdGVyaWFsLXRoYXQtbXVzdC1uZXZlci1sZWFr"

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func assertContains(t testing.TB, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
}
