package verify

import (
	"context"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/resolver"
)

// Defaults for a Verifier built without options.
const (
	DefaultMaxSignatures = 32
	DefaultSignatureTTL  = 10 * time.Second
	DefaultPassTTL       = 10 * time.Minute
	DefaultFailTTL       = 10 * time.Second
	DefaultCacheSize     = 10000

	// maxSignatureCacheSize bounds the short-lived signature cache, whose entries are larger than
	// verdicts; only digests asked about in the last SignatureTTL need to be in it.
	maxSignatureCacheSize = 1024
)

// Option configures a Verifier.
type Option func(*options)

type options struct {
	remoteOptions func(ctx context.Context) []remote.Option
	maxSignatures int
	signatureTTL  time.Duration
	passTTL       time.Duration
	failTTL       time.Duration
	cacheSize     int
	now           func() time.Time
	metrics       *resolver.Metrics // verdict cache lookups and evictions; nil: none
}

func makeOptions(opts ...Option) options {
	o := options{
		remoteOptions: defaultRemoteOptions,
		maxSignatures: DefaultMaxSignatures,
		signatureTTL:  DefaultSignatureTTL,
		passTTL:       DefaultPassTTL,
		failTTL:       DefaultFailTTL,
		cacheSize:     DefaultCacheSize,
		now:           time.Now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func defaultRemoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx)}
}

// remoteOptionsFor returns the registry options for a request made under ctx.
func (o *options) remoteOptionsFor(ctx context.Context) []remote.Option {
	return append([]remote.Option{remote.WithContext(ctx)}, o.remoteOptions(ctx)...)
}

// WithRemoteOptions sets how registry options (transport, auth, retries) are made for a request;
// the resolver supplies them so that signatures travel the same configured path as tag
// resolution. remote.WithContext(ctx) is always applied first. Default: remote.WithContext(ctx)
// only (anonymous, default transport and retries).
func WithRemoteOptions(f func(ctx context.Context) []remote.Option) Option {
	return func(o *options) {
		if f != nil {
			o.remoteOptions = f
		}
	}
}

// WithMaxSignatures sets how many signature layers of a digest are examined; when a signature tag
// holds more, the most recently appended are examined. Values < 1 are ignored. Default 32.
func WithMaxSignatures(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxSignatures = n
		}
	}
}

// WithSignatureTTL sets how long fetched signatures of a digest are reused. Zero disables the
// cache (concurrent lookups still share one fetch); negative values are ignored. Default 10s.
func WithSignatureTTL(d time.Duration) Option {
	return func(o *options) {
		if d >= 0 {
			o.signatureTTL = d
		}
	}
}

// WithVerdictTTL sets how long a pass and a failure are cached per (digest, policy fingerprint).
// Registry errors are never cached. Zero disables caching of that kind; negative values are
// ignored. Defaults 10m for passes, 10s for failures.
func WithVerdictTTL(pass, fail time.Duration) Option {
	return func(o *options) {
		if pass >= 0 {
			o.passTTL = pass
		}
		if fail >= 0 {
			o.failTTL = fail
		}
	}
}

// WithCacheSize bounds the verdict cache (least recently used entries are evicted); the signature
// cache holds at most min(n, 1024) digests. Values < 1 are ignored. Default 10000.
func WithCacheSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.cacheSize = n
		}
	}
}

// WithMetrics records verdict cache hits, misses and evictions in m under the cache label
// "verdict" (resolver.CacheVerdict). Default: none.
func WithMetrics(m *resolver.Metrics) Option {
	return func(o *options) { o.metrics = m }
}
