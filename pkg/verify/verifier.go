package verify

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/singleflight"

	"github.com/signet-dev/signet/internal/lru"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/reason"
	"github.com/signet-dev/signet/pkg/resolver"
)

// Verifier checks images against policies. It is safe for concurrent use; build it with New.
type Verifier struct {
	opts     options
	flight   *singleflight.Group // shared with the views For returns, as are the caches and stats
	sigCache *lru.Cache[*fetchedSignatures]
	indexes  *lru.Cache[*manifestInfo]
	verdicts *lru.Cache[verdict]
	stats    *counters
}

// Result describes one verification. Verify returns a Result with every answer about the image,
// pass or fail; its slices must not be modified.
type Result struct {
	// Digest is the image that was verified.
	Digest name.Digest
	// Authorities are the names of the satisfied authorities, in policy order.
	Authorities []string
	// KeyIDs are the IDs of the keys whose signatures satisfied those authorities.
	KeyIDs []string
	// Signatures is how many signatures (legacy layers and sigstore bundles) were examined.
	Signatures int
	// Checked are the manifests whose signatures were checked, as "sha256:… (os/arch)" for
	// platform manifests; set when a multi-arch rule looked past the index.
	Checked []string
	// Cached reports that the verdict came from the verdict cache.
	Cached bool
}

// Stats are counters for tests and metrics.
type Stats struct {
	// SignatureFetches counts reads of a digest's signatures (signature tag and referrers) from the
	// registry.
	SignatureFetches int64
	// VerdictHits and VerdictMisses count verdict cache lookups.
	VerdictHits   int64
	VerdictMisses int64
}

type counters struct {
	signatureFetches, verdictHits, verdictMisses atomic.Int64
}

type verdict struct {
	result Result
	err    error
}

// New returns a Verifier. See the With… options for defaults.
func New(opts ...Option) *Verifier {
	o := makeOptions(opts...)
	verdicts := lru.New[verdict](o.cacheSize)
	verdicts.OnEvict = func() { o.metrics.CacheEvicted(resolver.CacheVerdict) }
	return &Verifier{
		opts:     o,
		flight:   new(singleflight.Group),
		stats:    new(counters),
		sigCache: lru.New[*fetchedSignatures](min(o.cacheSize, maxSignatureCacheSize)),
		indexes:  lru.New[*manifestInfo](min(o.cacheSize, maxSignatureCacheSize)),
		verdicts: verdicts,
	}
}

// For returns a view of v that makes its registry calls with remoteOptions instead of the
// WithRemoteOptions given to New (nil keeps them), and shares v's caches, flights and counters:
// cmd/webhook passes the options carrying a pod's pull secrets. Signatures and verdicts stay keyed
// by digest, whoever asked: they say who signed a digest, not who may pull it.
func (v *Verifier) For(remoteOptions func(ctx context.Context) []remote.Option) *Verifier {
	if remoteOptions == nil {
		return v
	}
	view := *v
	view.opts.remoteOptions = remoteOptions
	return &view
}

// Stats returns a snapshot of the Verifier's counters.
func (v *Verifier) Stats() Stats {
	return Stats{
		SignatureFetches: v.stats.signatureFetches.Load(),
		VerdictHits:      v.stats.verdictHits.Load(),
		VerdictMisses:    v.stats.verdictMisses.Load(),
	}
}

// Verify reports whether img satisfies p: a nil error means it does. Otherwise the error is a
// *reason.Error whose code says why: NoSignatures, NoMatchingSignatures, ThresholdNotMet,
// AnnotationMismatch, PolicyError, or a registry code when the signatures could not be read. The
// Result is never nil.
//
// When img is an index, p.MultiArch says what must verify: the index itself (index, the default),
// every platform manifest it lists (platforms), or either (any); a single-platform manifest is
// verified itself under every rule. Signatures are looked up in both formats (the legacy
// `sha256-<hex>.sig` tag and sigstore bundles among the OCI 1.1 referrers) at once.
//
// img must name a manifest the caller has confirmed exists (the resolver does). Verdicts are cached
// by (img, p.Fingerprint); a policy without a fingerprint is never cached.
func (v *Verifier) Verify(ctx context.Context, img name.Digest, p *policy.Policy) (*Result, error) {
	res := &Result{Digest: img}
	auths, threshold, err := compile(p)
	if err != nil {
		return res, reason.New(reason.PolicyError, policyName(p), err)
	}

	cacheKey := ""
	if p.Fingerprint != "" {
		cacheKey = img.Name() + "\x00" + p.Fingerprint
		if vd, ok := v.verdicts.Get(cacheKey, v.opts.now()); ok {
			v.stats.verdictHits.Add(1)
			v.opts.metrics.CacheHit(resolver.CacheVerdict)
			r := vd.result
			r.Cached = true
			return &r, vd.err
		}
		v.stats.verdictMisses.Add(1)
		v.opts.metrics.CacheMiss(resolver.CacheVerdict)
	}

	switch p.MultiArch {
	case "", policy.MultiArchIndex:
		*res, err = v.verifyOne(ctx, img, p, auths, threshold)
	default:
		*res, err = v.verifyMultiArch(ctx, img, p, auths, threshold)
	}

	if cacheKey != "" && cacheable(err) {
		ttl := v.opts.passTTL
		if err != nil {
			ttl = v.opts.failTTL
		}
		now := v.opts.now()
		v.verdicts.Put(cacheKey, verdict{result: cloneResult(*res), err: err}, now, now.Add(ttl))
	}
	return res, err
}

// cacheable reports whether a verdict is an answer about the image (registry trouble and
// cancellations are not).
func cacheable(err error) bool {
	switch reason.Of(err) {
	case "", reason.NoSignatures, reason.NoMatchingSignatures, reason.ThresholdNotMet, reason.AnnotationMismatch:
		return true
	}
	return false
}

func cloneResult(r Result) Result {
	r.Authorities = slices.Clone(r.Authorities)
	r.KeyIDs = slices.Clone(r.KeyIDs)
	r.Checked = slices.Clone(r.Checked)
	return r
}

func policyName(p *policy.Policy) string {
	if p == nil || p.Name == "" {
		return "policy"
	}
	return p.Name
}
