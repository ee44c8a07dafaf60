package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/pkg/publisher"
)

// key is a signing key and where its cosign.pub is.
type key struct {
	priv    *ecdsa.PrivateKey
	pubPEM  []byte
	pubFile string
}

// makeKeys makes n ECDSA P-256 keys (cosign's default) and writes each public key to dir.
func makeKeys(dir string, n int) ([]key, error) {
	keys := make([]key, n)
	for i := range keys {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
		if err != nil {
			return nil, err
		}
		keys[i] = key{priv: priv, pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), pubFile: filepath.Join(dir, fmt.Sprintf("key-%d.pub", i))}
		if err := os.WriteFile(keys[i].pubFile, keys[i].pubPEM, 0o644); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// image is one pushed, signed image.
type image struct {
	tag    string // host/repo:tag
	pinned string // host/repo:tag@sha256:…, as signet pins it
}

// imageMaker pushes small, distinct OCI images that share one layer (so a push uploads only a
// config and a manifest) and signs them in cosign's legacy format.
type imageMaker struct {
	target target
	layer  v1.Layer
}

func newImageMaker(t target) (*imageMaker, error) {
	layer, err := random.Layer(2048, types.OCILayer)
	if err != nil {
		return nil, err
	}
	return &imageMaker{target: t, layer: layer}, nil
}

// push makes n images named host/prefix-<i>:v1, each signed by every key in signers, with up to
// 8 pushes at once.
func (m *imageMaker) push(ctx context.Context, prefix string, n int, signers []key) ([]image, error) {
	out := make([]image, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			img, err := m.pushOne(ctx, fmt.Sprintf("%s/%s-%d:v1", m.target.Host(), prefix, i), signers)
			if err != nil {
				errs <- err
				return
			}
			out[i] = img
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return out, nil
}

func (m *imageMaker) pushOne(ctx context.Context, ref string, signers []key) (image, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return image{}, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, m.layer)
	if err != nil {
		return image{}, err
	}
	// The label makes each image's config, and so its digest, distinct.
	img, err = mutate.Config(img, v1.Config{Labels: map[string]string{"bench.signet.dev/image": ref}})
	if err != nil {
		return image{}, err
	}
	opts := m.target.PushOptions(ctx)
	if err := remote.Write(tag, img, opts...); err != nil {
		return image{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	h, err := img.Digest()
	if err != nil {
		return image{}, err
	}
	d := tag.Context().Digest(h.String())
	for _, k := range signers {
		if err := publisher.SignWithKey(ctx, d, k.priv, nil, opts...); err != nil {
			return image{}, err
		}
	}
	return image{tag: tag.String(), pinned: tag.String() + "@" + h.String()}, nil
}

func tags(imgs []image) []string {
	out := make([]string, len(imgs))
	for i, img := range imgs {
		out[i] = img.tag
	}
	return out
}

func pinned(imgs []image) []string {
	out := make([]string, len(imgs))
	for i, img := range imgs {
		out[i] = img.pinned
	}
	return out
}
