package policy

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParsePublicKeysEveryType(t *testing.T) {
	t.Parallel()
	type gen func(t *testing.T) any
	ec := func(c elliptic.Curve) gen {
		return func(t *testing.T) any {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return &k.PublicKey
		}
	}
	rsaBits := func(bits int) gen { return func(*testing.T) any { return rsaKeys()[bits] } }
	tests := map[string]gen{
		"An ECDSA P-256 key, what cosign generates, is accepted.": ec(elliptic.P256()),
		"An ECDSA P-384 key is accepted.":                         ec(elliptic.P384()),
		"An ECDSA P-521 key is accepted.":                         ec(elliptic.P521()),
		"An RSA 2048 key is accepted.":                            rsaBits(2048),
		"An RSA 3072 key is accepted.":                            rsaBits(3072),
		"An RSA 4096 key is accepted.":                            rsaBits(4096),
		"An Ed25519 key is accepted.": func(t *testing.T) any {
			pub, _, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			return pub
		},
	}
	for desc, gen := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			pub := gen(t)
			keys, err := ParsePublicKeys([]byte(pkixPEM(t, pub)))
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 {
				t.Fatalf("got %d keys, want 1", len(keys))
			}
			if !reflect.DeepEqual(keys[0].Key, pub) {
				t.Errorf("parsed key differs from the generated one")
			}
			if want := idOf(t, pub); keys[0].ID != want || len(keys[0].ID) != 16 {
				t.Errorf("ID = %q, want %q", keys[0].ID, want)
			}
		})
	}
}

func TestParsePublicKeysSecretBlob(t *testing.T) {
	t.Parallel()
	ec, rsaPub := newECKey(t), rsaKeys()[2048]
	// What a Secret from `cosign generate-key-pair k8s://…` looks like flattened, plus a PEM pasted
	// with indentation, trailing blanks and CRLF.
	blob := fakePrivateKey + "password: hunter2\n" +
		indent(pkixPEM(t, ec), "    ") +
		strings.ReplaceAll(pkixPEM(t, rsaPub), "\n", "  \r\n") +
		pkixPEM(t, ec) // a repeat is not a second key
	keys, err := ParsePublicKeys([]byte(blob))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	if want := []string{idOf(t, ec), idOf(t, rsaPub)}; !reflect.DeepEqual(ids, want) {
		t.Errorf("IDs = %q, want %q", ids, want)
	}
}

func TestParsePublicKeysPKCS1(t *testing.T) {
	t.Parallel()
	pub := rsaKeys()[3072]
	data := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(pub)})
	keys, err := ParsePublicKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].ID != idOf(t, pub) {
		t.Errorf("got %+v, want one key with the PKIX ID %s", keys, idOf(t, pub))
	}
}

func TestParsePublicKeysErrors(t *testing.T) {
	t.Parallel()
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bogus := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("not DER at all")}))
	tests := map[string]struct {
		data func(t *testing.T) string
		want string
	}{
		"An RSA 1024 key is too weak.": {
			data: func(t *testing.T) string { return pkixPEM(t, rsaKeys()[1024]) },
			want: "RSA key of 1024 bits is too weak",
		},
		"A P-224 key is not supported.": {
			data: func(t *testing.T) string { return pkixPEM(t, &p224.PublicKey) },
			want: "ECDSA curve P-224 is not supported",
		},
		"An X25519 key cannot sign.": {
			data: func(t *testing.T) string { return pkixPEM(t, x.PublicKey()) },
			want: "X25519 keys cannot sign",
		},
		"A block that is not DER names the block.": {
			data: func(*testing.T) string { return fakePrivateKey + bogus },
			want: "PUBLIC KEY block 1: parsing",
		},
		"The second bad block is numbered among public key blocks.": {
			data: func(t *testing.T) string { return pkixPEM(t, newECKey(t)) + fakePrivateKey + bogus },
			want: "PUBLIC KEY block 2",
		},
		"Only a private key is no public key.": {
			data: func(*testing.T) string { return fakePrivateKey },
			want: "no PUBLIC KEY PEM block found",
		},
		"Text that is not PEM is no public key.": {
			data: func(*testing.T) string { return "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA user@host\n" },
			want: "no PUBLIC KEY PEM block found",
		},
	}
	for desc, tt := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			keys, err := ParsePublicKeys([]byte(tt.data(t)))
			if err == nil {
				t.Fatalf("got %d keys and no error", len(keys))
			}
			assertContains(t, err, tt.want)
			if strings.Contains(err.Error(), fakePrivateKeyBody) {
				t.Errorf("error leaks the private key: %v", err)
			}
		})
	}
}

func TestParsePublicKeysNoKeyIsErrNoPublicKey(t *testing.T) {
	t.Parallel()
	if _, err := ParsePublicKeys(nil); !errors.Is(err, ErrNoPublicKey) {
		t.Errorf("ParsePublicKeys(nil) = %v, want ErrNoPublicKey", err)
	}
}

func TestKeysFromSecretData(t *testing.T) {
	t.Parallel()
	a, b := newECKey(t), newECKey(t)
	// The three entries cosign generate-key-pair k8s://ns/name writes, plus a second public key.
	data := map[string][]byte{
		"cosign.key":      []byte(fakePrivateKey),
		"cosign.password": []byte("hunter2"),
		"cosign.pub":      []byte(pkixPEM(t, a)),
		"rotated.pub":     []byte(pkixPEM(t, b) + pkixPEM(t, a)),
	}
	keys, err := KeysFromSecretData(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != idOf(t, a) || keys[1].ID != idOf(t, b) {
		t.Errorf("got %+v, want the keys %s and %s", keys, idOf(t, a), idOf(t, b))
	}

	_, err = KeysFromSecretData(map[string][]byte{"cosign.key": []byte(fakePrivateKey), "cosign.password": []byte("hunter2")})
	assertContains(t, err, "no PUBLIC KEY PEM block found", "cosign.key, cosign.password")
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), fakePrivateKeyBody) {
		t.Errorf("error leaks a secret: %v", err)
	}
}
