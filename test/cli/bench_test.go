package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-dev/signet/internal/testregistry"
	"github.com/signet-dev/signet/pkg/publisher"
	"github.com/signet-dev/signet/pkg/resolver"
)

// BenchmarkPublish50MB publishes a built image with 50 MiB of incompressible content from an OCI
// layout to the real registry over loopback (TLS, basic auth), to a new repository each time so
// that every blob is uploaded.
func BenchmarkPublish50MB(b *testing.B) {
	reg := testregistry.Start(b, testregistry.Options{Username: regUser, Password: regPassword})
	dir := b.TempDir()
	data := make([]byte, 50<<20)
	if _, err := rand.Read(data); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blob"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	bf, err := publisher.ParseBuildFile([]byte("big:\n  from: scratch\n  import:\n    - {path: "+filepath.Join(dir, "blob")+", dest: /blob}\n"), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	layout := filepath.Join(dir, "oci")
	if _, err := publisher.BuildToLayout(ctx, bf, layout, publisher.BuildOptions{}); err != nil {
		b.Fatal(err)
	}
	r, err := resolver.New(resolver.WithCABundle(reg.CAPEM), resolver.WithKeychain(publisher.BasicAuthKeychain(reg.Host, regUser, regPassword)))
	if err != nil {
		b.Fatal(err)
	}
	src, err := publisher.ParseLocation("oci:" + layout + ":big")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(50 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst, err := publisher.ParseLocation(fmt.Sprintf("docker://%s/bench/big%d:1", reg.Host, i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := publisher.Publish(ctx, src, dst, publisher.PublishOptions{Registry: r}); err != nil {
			b.Fatal(err)
		}
	}
}
