package resolver_test

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/resolver"
)

// TestAFailedResponseFreesItsSlotBeforeItsBodyIsClosed: go-containerregistry keeps the body of a
// referrers-API 404 open while it asks for the fallback tag. If that body held the host's only
// slot, the second request would wait for it forever (found by test/bench: 16 new images at once
// against a registry without the referrers API timed every review out).
func TestAFailedResponseFreesItsSlotBeforeItsBodyIsClosed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)))) // no referrers API
	t.Cleanup(srv.Close)
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(srv.Listener.Addr().String() + "/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	r, err := resolver.New(resolver.WithCABundle(ca), resolver.WithMaxConcurrencyPerHost(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	idx, err := remote.Referrers(tag.Context().Digest(h.String()), r.RemoteOptions(ctx)...)
	if err != nil {
		t.Fatalf("listing referrers through the fallback tag with one slot per host: %v", err)
	}
	if m, err := idx.IndexManifest(); err != nil || len(m.Manifests) != 0 {
		t.Fatalf("referrers = %v, %v; want an empty index", m, err)
	}
}
