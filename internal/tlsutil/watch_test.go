package tlsutil

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writePair(t *testing.T, dir, host string) *x509.Certificate {
	t.Helper()
	cert, _, err := SelfSigned([]string{host}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(cert.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	// Write to temp names and rename, as a Secret volume update swaps files whole.
	for name, data := range map[string][]byte{
		"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		"tls.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	} {
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func served(t *testing.T, w *Watcher) string {
	t.Helper()
	c, err := w.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Subject.CommonName
}

func TestWatcherServesTheRotatedCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writePair(t, dir, "first.example")
	w, err := NewWatcher(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := served(t, w); got != "first.example" {
		t.Fatalf("serving %s", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx, 10*time.Millisecond)
	time.Sleep(20 * time.Millisecond) // distinct modification times on coarse file systems
	writePair(t, dir, "second.example")
	deadline := time.Now().Add(5 * time.Second)
	for served(t, w) != "second.example" {
		if time.Now().After(deadline) {
			t.Fatal("the rotated certificate was never served")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWatcherKeepsTheOldPairWhenTheNewOneIsBroken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writePair(t, dir, "good.example")
	w, err := NewWatcher(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := w.reload(); err == nil || !strings.Contains(err.Error(), "tls.key") {
		t.Fatalf("reload of a broken pair: %v", err)
	}
	if got := served(t, w); got != "good.example" {
		t.Fatalf("serving %s after a broken update", got)
	}
}

func TestNewWatcherNamesTheMissingFile(t *testing.T) {
	t.Parallel()
	_, err := NewWatcher("/nonexistent/tls.crt", "/nonexistent/tls.key", nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/tls.crt") {
		t.Fatalf("err = %v", err)
	}
}

func TestSelfSignedCertificateVerifiesAgainstItsCA(t *testing.T) {
	t.Parallel()
	cert, caPEM, err := SelfSigned([]string{"localhost", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA PEM does not parse")
	}
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	for _, host := range []string{"localhost", "127.0.0.1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "other.example"}); err == nil {
		t.Error("certificate verifies for a host it was not made for")
	}
}
