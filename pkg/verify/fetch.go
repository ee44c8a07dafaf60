package verify

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	"golang.org/x/sync/errgroup"

	"github.com/signet-dev/signet/pkg/reason"
)

// fetchedSignatures is what one read of a digest's signatures yields: the legacy signature tag
// and the sigstore bundles among its referrers, read in parallel. It is shared by every caller for
// the signature TTL and must not be modified.
type fetchedSignatures struct {
	legacy  legacySignatures
	bundles referrerBundles
}

// examined counts the signatures looked at in both formats, malformed ones included.
func (fs *fetchedSignatures) examined() int { return fs.legacy.examined + fs.bundles.examined }

// fetchWorkers bounds the concurrent blob and manifest reads of one digest's signatures.
const fetchWorkers = 4

// signatures returns img's signatures, from the short cache or from a fetch shared with every
// concurrent caller asking about the same digest.
func (v *Verifier) signatures(ctx context.Context, img name.Digest) (*fetchedSignatures, error) {
	key := img.Name()
	if fs, ok := v.sigCache.Get(key, v.opts.now()); ok {
		return fs, nil
	}
	// A shared fetch runs with the context of the caller that started it. When that caller goes
	// away its fetch fails with a context error; a caller whose own context is still live asks again.
	for attempt := 0; ; attempt++ {
		ch := v.flight.DoChan(key, func() (any, error) {
			if fs, ok := v.sigCache.Get(key, v.opts.now()); ok {
				return fs, nil
			}
			fs, err := v.fetchSignatures(ctx, img)
			if err != nil {
				return nil, err
			}
			now := v.opts.now()
			v.sigCache.Put(key, fs, now, now.Add(v.opts.signatureTTL))
			return fs, nil
		})
		select {
		case <-ctx.Done():
			return nil, registryError(ctx.Err(), key, "waiting for signatures")
		case r := <-ch:
			if r.Err != nil {
				if reason.Of(r.Err) == reason.TimedOut && ctx.Err() == nil && attempt < 2 {
					continue
				}
				return nil, r.Err
			}
			return r.Val.(*fetchedSignatures), nil
		}
	}
}

// fetchSignatures reads both signature formats of img at once. Either read failing fails the
// whole: a registry that could not be asked is never taken for an unsigned image.
func (v *Verifier) fetchSignatures(ctx context.Context, img name.Digest) (*fetchedSignatures, error) {
	v.stats.signatureFetches.Add(1)
	fs := &fetchedSignatures{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		fs.legacy, err = v.fetchLegacy(gctx, img)
		return err
	})
	g.Go(func() error {
		var err error
		fs.bundles, err = v.fetchBundles(gctx, img)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return fs, nil
}
