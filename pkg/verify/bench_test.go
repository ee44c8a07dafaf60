package verify_test

import (
	"context"
	"testing"

	"github.com/signet-dev/signet/pkg/verify"
)

// BenchmarkVerify measures one image's verification per signature format against the in-process
// registry (with the referrers API, on loopback): cold (a new Verifier: registry reads and
// signature checks), signatures cached (the fetched signatures are reused; the key checks run
// again, as for a policy not seen before) and verdict cached.
func BenchmarkVerify(b *testing.B) {
	ann := map[string]string{"env": "prod"}
	for _, format := range []string{"legacy", "bundle"} {
		k := newKey(b, "p256")
		reg := newRegistryWith(b, true)
		img := reg.push(b, "app")
		if format == "legacy" {
			sign(b, img, k, ann)
		} else {
			signBundle(b, img, k, ann)
		}
		p := newPolicy("fp", 1, ann, authority("a", k))
		uncached := newPolicy("", 1, ann, authority("a", k))
		ctx := context.Background()

		b.Run(format+"/cold", func(b *testing.B) {
			for b.Loop() {
				if _, err := verify.New().Verify(ctx, img, p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(format+"/signatures-cached", func(b *testing.B) {
			v := verify.New(verify.WithSignatureTTL(1 << 62))
			for b.Loop() {
				if _, err := v.Verify(ctx, img, uncached); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(format+"/verdict-cached", func(b *testing.B) {
			v := verify.New()
			for b.Loop() {
				if _, err := v.Verify(ctx, img, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
