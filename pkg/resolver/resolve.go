package resolver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/signet-dev/signet/pkg/reason"
)

// Resolve returns the digest reference for ref.
//
// For a tag it is registry/repo@sha256:… in the same registry and repository (an insecure
// registry stays insecure): the digest of the manifest or index the tag points at, from a HEAD or,
// when HEAD cannot tell, from hashing the bytes of a GET. For a digest reference (also
// repo:tag@sha256:…) it confirms that the manifest exists and returns the reference unchanged.
//
// Errors are *reason.Error with ref.String() as Subject: TagNotFound, ManifestUnknown, AuthFailed,
// RateLimited, RegistryUnreachable, TimedOut, TLSFailure, InvalidReference or Internal.
func (r *Registry) Resolve(ctx context.Context, ref name.Reference) (name.Digest, error) {
	return r.resolve(ctx, ref, nil)
}

// ResolveFor is Resolve on behalf of a pod: its pull secrets (see WithPullSecrets) are tried before
// the Registry's own credentials.
//
// The caches stay keyed by tag and digest alone, whoever asked: a digest found with one pod's
// secrets answers another pod's lookup of the same tag. That reveals nothing the other pod could
// use: a digest is not a credential, the kubelet pulls with the pod's own credentials and fails
// without them, and verdicts are about the digest's signatures, not about who may pull it.
// Concurrent lookups share a flight only when their secrets are equal, so that one pod's missing
// credentials never fail another's lookup.
func (r *Registry) ResolveFor(ctx context.Context, ref name.Reference, auth PullAuth) (name.Digest, error) {
	return r.resolve(ctx, ref, r.credentials(auth))
}

func (r *Registry) resolve(ctx context.Context, ref name.Reference, cs *credSet) (name.Digest, error) {
	if ref == nil {
		return name.Digest{}, reason.Errorf(reason.InvalidReference, "", "no image reference")
	}
	subject := ref.String()
	ref = r.Reference(ref)
	switch ref := ref.(type) {
	case name.Tag:
		return r.resolveTag(ctx, ref, subject, cs)
	case name.Digest:
		return r.confirmDigest(ctx, ref, subject, cs)
	}
	return name.Digest{}, reason.Errorf(reason.InvalidReference, subject, "unsupported reference type %T", ref)
}

func (r *Registry) resolveTag(ctx context.Context, tag name.Tag, subject string, cs *credSet) (name.Digest, error) {
	key := tag.Name()
	if r.opts.tagTTL > 0 {
		if d, ok := r.tags.get(key); ok {
			r.stats.tagHits.Add(1)
			r.opts.metrics.CacheHit(CacheTag)
			return d, nil
		}
	}
	r.stats.tagMisses.Add(1)
	if r.opts.tagTTL > 0 {
		r.opts.metrics.CacheMiss(CacheTag)
	}
	return r.shared(ctx, flightKey("tag", key, cs), subject, false, func(ctx context.Context) (name.Digest, error) {
		h, err := r.manifestDigest(ctx, tag, cs)
		if err != nil {
			return name.Digest{}, err
		}
		d := tag.Context().Digest(h.String())
		if r.opts.tagTTL > 0 {
			r.tags.add(key, d, r.opts.tagTTL)
		}
		r.digests.add(d.Name(), struct{}{}, 0)
		return d, nil
	})
}

func (r *Registry) confirmDigest(ctx context.Context, d name.Digest, subject string, cs *credSet) (name.Digest, error) {
	key := d.Name()
	if _, ok := r.digests.get(key); ok {
		r.stats.digestHits.Add(1)
		r.opts.metrics.CacheHit(CacheDigest)
		return d, nil
	}
	r.stats.digestMisses.Add(1)
	r.opts.metrics.CacheMiss(CacheDigest)
	if _, err := r.shared(ctx, flightKey("digest", key, cs), subject, true, func(ctx context.Context) (name.Digest, error) {
		if _, err := r.manifestDigest(ctx, d, cs); err != nil {
			return name.Digest{}, err
		}
		r.digests.add(key, struct{}{}, 0)
		return d, nil
	}); err != nil {
		return name.Digest{}, err
	}
	return d, nil // the caller's reference, tag and original text included
}

// flightKey names a lookup for singleflight: the same lookup with different pull secrets is a
// different flight.
func flightKey(kind, key string, cs *credSet) string {
	if cs == nil {
		return kind + " " + key
	}
	return kind + " " + key + " " + cs.key
}

// shared runs lookup once for all concurrent callers with the same key. The flight is detached
// from the callers' cancellation and bounded by the deadline of the caller that starts it (or
// flightTimeout); each caller waits on its own ctx. A caller that joined a flight which ran out of
// someone else's time while its own remains starts a flight of its own.
func (r *Registry) shared(ctx context.Context, key, subject string, isDigest bool, lookup func(context.Context) (name.Digest, error)) (name.Digest, error) {
	start := time.Now()
	for try := 0; ; try++ {
		var led atomic.Bool
		ch := r.flights.DoChan(key, func() (any, error) {
			led.Store(true)
			fctx, cancel := r.flightContext(ctx)
			defer cancel()
			return lookup(fctx)
		})
		select {
		case <-ctx.Done():
			return name.Digest{}, classify(ctx.Err(), subject, isDigest, time.Since(start))
		case res := <-ch:
			if !led.Load() {
				r.stats.shared.Add(1)
			}
			if res.Err == nil {
				return res.Val.(name.Digest), nil
			}
			if !led.Load() && try < 2 && ctx.Err() == nil && errors.Is(res.Err, context.DeadlineExceeded) {
				continue
			}
			return name.Digest{}, classify(res.Err, subject, isDigest, time.Since(start))
		}
	}
}

func (r *Registry) flightContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(r.opts.flightTimeout)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}

// manifestDigest asks the registry for the digest of ref's manifest: HEAD first, GET and hash the
// bytes when the HEAD answer cannot be used.
func (r *Registry) manifestDigest(ctx context.Context, ref name.Reference, cs *credSet) (v1.Hash, error) {
	p, err := r.currentPuller(cs)
	if err != nil {
		return v1.Hash{}, err
	}
	desc, err := p.Head(ctx, ref)
	if err == nil {
		return desc.Digest, nil
	}
	if !getMayHelp(err) {
		return v1.Hash{}, err
	}
	r.stats.getFallbacks.Add(1)
	got, err := p.Get(ctx, ref)
	if err != nil {
		return v1.Hash{}, err
	}
	return got.Digest, nil
}

// getMayHelp reports whether a failed HEAD is worth a GET: the registry answered, but not with
// auth, not-found, rate-limit or unavailable (a GET would get the same), or its answer lacked the
// digest or another header.
func getMayHelp(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		if te.Request == nil || !strings.Contains(te.Request.URL.Path, "/manifests/") {
			return false // the ping or token exchange failed: a GET needs them too
		}
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return false
		}
		return true
	}
	return reason.Of(Classify(err, "", false)) == reason.Internal
}
