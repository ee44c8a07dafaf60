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

	tags    *ttlCache[name.Digest] // tag name → digest, for tagTTL
	digests *ttlCache[struct{}]    // confirmed digest names, no expiry
	flights singleflight.Group

	mu      sync.Mutex             // held while a Puller is built
	pullers *ttlCache[pullerEntry] // by credSet key ("" for the Registry's own credentials)
}

// pullerEntry is a Puller and the docker config generation it was built with.
type pullerEntry struct {
	puller *remote.Puller
	gen    uint64
}

// maxPullers bounds the Pullers kept for distinct sets of pull secrets.
const maxPullers = 256

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
		metrics:       o.metrics,
		next: &plainHTTPGuard{
			insecure: o.insecure,
			next: &hostLimiter{
				limit: o.maxPerHost,
				slots: map[string]chan struct{}{},
				next: &manifestLimiter{
					next: &requestCounter{stats: &r.stats, metrics: o.metrics, next: r.base},
				},
			},
		},
	}
	r.pullers = newLRU[pullerEntry](maxPullers, time.Now)
	r.tags = newLRU[name.Digest](o.cacheSize, time.Now)
	r.tags.OnEvict = func() { o.metrics.CacheEvicted(CacheTag) }
	r.digests = newLRU[struct{}](o.cacheSize, time.Now)
	r.digests.OnEvict = func() { o.metrics.CacheEvicted(CacheDigest) }
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
	return r.remoteOptions(ctx, nil)
}

// RemoteOptionsFor is RemoteOptions for a call made on behalf of a pod: its pull secrets (see
// WithPullSecrets) are tried before the Registry's own credentials.
func (r *Registry) RemoteOptionsFor(ctx context.Context, auth PullAuth) []remote.Option {
	return r.remoteOptions(ctx, r.credentials(auth))
}

func (r *Registry) remoteOptions(ctx context.Context, cs *credSet) []remote.Option {
	opts := append(r.baseOptions(r.keychainFor(cs)), remote.WithContext(ctx))
	if p, err := r.currentPuller(cs); err == nil {
		opts = append(opts, remote.Reuse(p))
	}
	return opts
}

func (r *Registry) baseOptions(k authn.Keychain) []remote.Option {
	return []remote.Option{
		remote.WithTransport(r.rt),
		remote.WithAuthFromKeychain(k),
		remote.WithUserAgent(r.opts.userAgent),
		// Retries are ours (retrier): one attempt at go-containerregistry's level.
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithRetryStatusCodes(),
		remote.WithRetryPredicate(func(error) bool { return false }),
	}
}

// currentPuller returns the Puller for cs (nil: the Registry's own credentials), replacing it once
// it is older than pullerLifetime or the docker config changed. A Puller keeps one authenticated
// transport per repository (ping and token exchange done once); the replacement bounds that memory
// and re-reads the auth challenge and credentials now and then.
func (r *Registry) currentPuller(cs *credSet) (*remote.Puller, error) {
	var gen uint64
	if k, ok := r.keychain.(*dockerConfigKeychain); ok {
		gen = k.generation()
	}
	key := ""
	if cs != nil {
		key = cs.key
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.pullers.get(key); ok && e.gen == gen {
		return e.puller, nil
	}
	p, err := remote.NewPuller(r.baseOptions(r.keychainFor(cs))...)
	if err != nil {
		return nil, fmt.Errorf("building remote.Puller: %w", err)
	}
	r.pullers.add(key, pullerEntry{puller: p, gen: gen}, r.opts.pullerLifetime)
	return p, nil
}
