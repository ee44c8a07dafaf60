package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/pkg/publisher"
)

// demoPassword encrypts the demo's throw-away private key.
const demoPassword = "demo-password"

type registryClient struct {
	host     string
	insecure bool
	opts     []remote.Option
}

func newRegistryClient(host, caFile string, insecure bool) (*registryClient, error) {
	rc := &registryClient{host: host, insecure: insecure}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pool, err := certPool(caFile)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	rc.opts = []remote.Option{remote.WithTransport(tr)}
	return rc, nil
}

type pushed struct {
	tag    string // host/repo:tag
	repo   string // host/repo
	digest string // sha256:…
}

// push uploads a one-layer OCI image whose only file says what the image is.
func (r *registryClient) push(ctx context.Context, repoTag, text string) (*pushed, error) {
	ref, err := r.parse(r.host + "/" + repoTag)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte(text + "\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(body); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.AppendLayers(img, static.NewLayer(buf.Bytes(), types.OCIUncompressedLayer))
	if err != nil {
		return nil, err
	}
	if err := remote.Write(ref, img, append(r.opts, remote.WithContext(ctx))...); err != nil {
		return nil, fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	return &pushed{tag: ref.String(), repo: ref.Context().String(), digest: d.String()}, nil
}

func (r *registryClient) parse(s string) (name.Reference, error) {
	if r.insecure {
		return name.ParseReference(s, name.Insecure)
	}
	return name.ParseReference(s)
}

type keyPair struct {
	privFile, pubFile string
	priv              []byte
}

func makeKeys(dir string) (*keyPair, error) {
	priv, pub, err := publisher.GenerateKeyPair([]byte(demoPassword))
	if err != nil {
		return nil, err
	}
	k := &keyPair{privFile: filepath.Join(dir, "cosign.key"), pubFile: filepath.Join(dir, "cosign.pub"), priv: priv}
	if err := os.WriteFile(k.privFile, priv, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(k.pubFile, pub, 0o644); err != nil {
		return nil, err
	}
	return k, nil
}

func (r *registryClient) sign(ctx context.Context, p *pushed, k *keyPair) error {
	signer, err := publisher.LoadSigner(k.priv, []byte(demoPassword))
	if err != nil {
		return err
	}
	ref, err := r.parse(p.repo + "@" + p.digest)
	if err != nil {
		return err
	}
	return publisher.Sign(ctx, ref.(name.Digest), signer, nil, append(r.opts, remote.WithContext(ctx))...)
}

func writePolicy(file, host, pubFile string) error {
	doc := fmt.Sprintf(`apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata:
  name: demo
spec:
  images:
    - glob: "%s/demo/**"
  mode: enforce
  authorities:
    - name: demo-key
      key:
        path: %s
`, host, filepath.Base(pubFile))
	return os.WriteFile(file, []byte(doc), 0o644)
}

func writeCertPEM(file string, cert *x509.Certificate) error {
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}

func certPool(caFile string) (*x509.CertPool, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", caFile)
	}
	return pool, nil
}
