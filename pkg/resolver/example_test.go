package resolver_test

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/reason"
	"github.com/signet-dev/signet/pkg/resolver"
)

func ExampleRegistry_Resolve() {
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	tag, _ := name.NewTag(host + "/app:v1")
	if err := remote.Write(tag, empty.Image, remote.WithTransport(srv.Client().Transport)); err != nil {
		log.Fatal(err)
	}

	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	r, err := resolver.New(resolver.WithCABundle(ca))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	d, err := r.Resolve(context.Background(), tag)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.DigestStr())

	missing, _ := name.NewTag(host + "/app:v2")
	_, err = r.Resolve(context.Background(), missing)
	fmt.Println(reason.Of(err))
	// Output:
	// sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4
	// tag not found
}
