package verify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/reason"
	"github.com/signet-dev/signet/pkg/verify"
)

func ExampleVerifier_Verify() {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()

	// Push an image and sign it.
	img, _ := random.Image(256, 1)
	tag, _ := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/app:v1")
	_ = remote.Write(tag, img)
	h, _ := img.Digest()
	digest := tag.Context().Digest(h.String())
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	p := &policy.Policy{
		Name:        "ClusterImagePolicy/signed",
		Threshold:   1,
		Authorities: []policy.CompiledAuthority{{Name: "ci", Keys: []policy.PublicKey{{Key: key.Public()}}}},
	}
	v := verify.New()

	_, err := v.Verify(ctx, digest, p)
	fmt.Println("before signing:", reason.Of(err))

	_ = publisher.SignWithKey(ctx, digest, key, nil)
	v = verify.New() // a fresh Verifier: the first keeps what it fetched for the signature TTL
	res, err := v.Verify(ctx, digest, p)
	fmt.Println("after signing:", err == nil, res.Authorities)
	// Output:
	// before signing: no signatures
	// after signing: true [ci]
}
