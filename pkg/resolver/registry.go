package resolver

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/singleflight"
)

// Registry resolves image references against OCI registries. Build it with New; it is safe for
// concurrent use, and one Registry should serve the whole process so that connections, tokens and
// caches are shared.
type Registry struct {
	opts     *options
	base     http.RoundTripper // the shared *http.Transport, or WithTransport's
	rt       http.RoundTripper // base wrapped in retries, the plain-HTTP guard, limits and counting
	keychain authn.Keychain
	stats    counters

	tags    *lru[name.Digest] // tag name → digest, for tagTTL
	digests *lru[struct{}]    // confirmed digest names, no expiry
	flights singleflight.Group

	mu            sync.Mutex
	puller        *remote.Puller
	pullerExpires time.Time
	pullerGen     uint64 // the docker config generation the Puller was built with
}

// New returns a Registry configured by opts.
func New(opts ...Option) (*Registry, error) {
	o, err := makeOptions(opts...)
	if err != nil {
		return nil, err
	}
	r := &Registry{opts: o, keychain: authn.NewMultiKeychain()} // an empty multi-keychain is anonymous
	switch {
	case o.keychain != nil:
		r.keychain = o.keychain
	case o.dockerConfig != "":
		k, err := newDockerConfigKeychain(o.dockerConfig, o.configRecheck)
		if err != nil {
			return nil, err
		}
		r.keychain = k
	}
	if o.transport != nil {
		r.base = o.transport
	} else if r.base, err = newHTTPTransport(o); err != nil {
		return nil, err
	}
	r.rt = &retrier{
		attempts:      o.retries,
		base:          o.retryBase,
		maxRetryAfter: o.maxRetryAfter,
		stats:         &r.stats,
		next: &plainHTTPGuard{
			insecure: o.insecure,
			next: &hostLimiter{
				limit: o.maxPerHost,
				slots: map[string]chan struct{}{},
				next:  &requestCounter{stats: &r.stats, next: r.base},
			},
		},
	}
	r.tags = newLRU[name.Digest](o.cacheSize, time.Now)
	r.digests = newLRU[struct{}](o.cacheSize, time.Now)
	return r, nil
}

// Close releases idle connections. The Registry stays usable.
func (r *Registry) Close() error {
	if t, ok := r.base.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	return nil
}

// Stats returns a snapshot of the counters.
func (r *Registry) Stats() Stats { return r.stats.snapshot() }

// Reference returns ref with its insecure flag matching the configured insecure registries: set
// for listed hosts, so that go-containerregistry may use plain HTTP for them, and cleared for every
// other host. A digest reference keeps its tag and its original text. Callers that parsed a
// reference elsewhere pass it through Reference before handing it to go-containerregistry with
// RemoteOptions.
func (r *Registry) Reference(ref name.Reference) name.Reference {
	if ref == nil {
		return nil
	}
	var opts []name.Option
	if r.opts.insecure[ref.Context().RegistryStr()] {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(ref.Context().RegistryStr(), opts...)
	if err != nil {
		return ref
	}
	// Re-parse the original text so that it survives (a repo:tag@sha256:… keeps its tag).
	opts = append(opts, name.WithDefaultRegistry(ref.Context().RegistryStr()))
	if again, err := name.ParseReference(ref.String(), opts...); err == nil && again.Name() == ref.Name() {
		return again
	}
	repo := reg.Repo(ref.Context().RepositoryStr())
	switch ref := ref.(type) {
	case name.Tag:
		return repo.Tag(ref.TagStr())
	case name.Digest:
		return repo.Digest(ref.DigestStr())
	}
	return ref
}

// RemoteOptions returns the go-containerregistry options for a registry call made under ctx
// outside Resolve (pkg/verify fetching signatures): the shared transport with its CA pool, plain-HTTP
// guard, retries and per-host limits; the credentials; the user agent; and remote.Reuse of the
// shared Puller so that repository tokens are reused. go-containerregistry's own retries are off.
// Pass references through Reference first, and map errors with Classify.
func (r *Registry) RemoteOptions(ctx context.Context) []remote.Option {
	opts := append(r.baseOptions(), remote.WithContext(ctx))
	if p, err := r.currentPuller(); err == nil {
		opts = append(opts, remote.Reuse(p))
	}
	return opts
}

func (r *Registry) baseOptions() []remote.Option {
	return []remote.Option{
		remote.WithTransport(r.rt),
		remote.WithAuthFromKeychain(r.keychain),
		remote.WithUserAgent(r.opts.userAgent),
		// Retries are ours (retrier): one attempt at go-containerregistry's level.
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithRetryStatusCodes(),
		remote.WithRetryPredicate(func(error) bool { return false }),
	}
}

// currentPuller returns the shared Puller, replacing it once it is older than pullerLifetime or
// the docker config changed. A Puller keeps one authenticated transport per repository (ping and
// token exchange done once); the replacement bounds that memory and re-reads the auth challenge
// and credentials now and then.
func (r *Registry) currentPuller() (*remote.Puller, error) {
	var gen uint64
	if k, ok := r.keychain.(*dockerConfigKeychain); ok {
		gen = k.generation()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.puller == nil || !now.Before(r.pullerExpires) || gen != r.pullerGen {
		p, err := remote.NewPuller(r.baseOptions()...)
		if err != nil {
			return nil, fmt.Errorf("building remote.Puller: %w", err)
		}
		r.puller, r.pullerExpires, r.pullerGen = p, now.Add(r.opts.pullerLifetime), gen
	}
	return r.puller, nil
}
