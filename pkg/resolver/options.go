package resolver

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Option configures a Registry built by New.
type Option func(*options) error

type options struct {
	caBundles      [][]byte            // PEM, each holding at least one certificate
	caSources      []string            // where each bundle came from, for error messages
	registryCAs    map[string][][]byte // host name (lower case, no port) → PEM bundles trusted for it only
	insecure       map[string]bool
	dockerConfig   string
	keychain       authn.Keychain
	tagTTL         time.Duration
	cacheSize      int
	transport      http.RoundTripper
	userAgent      string
	maxPerHost     int
	retries        int
	retryBase      time.Duration // first backoff when the registry sends no Retry-After
	maxRetryAfter  time.Duration // longest Retry-After honoured when the context has no deadline
	flightTimeout  time.Duration // bound of a lookup whose caller has no deadline
	pullerLifetime time.Duration // how long one remote.Puller (and its tokens) is reused
	configRecheck  time.Duration // how often the docker config file is stat'ed for changes
	metrics        *Metrics
	pullSecrets    PullSecretSource
}

const (
	defaultTagTTL         = 30 * time.Second
	defaultCacheSize      = 10000
	defaultUserAgent      = "signet"
	defaultMaxPerHost     = 16
	defaultRetries        = 3
	defaultRetryBase      = 100 * time.Millisecond
	defaultMaxRetryAfter  = 30 * time.Second
	defaultFlightTimeout  = 30 * time.Second
	defaultPullerLifetime = 5 * time.Minute
	defaultConfigRecheck  = time.Second
)

func makeOptions(opts ...Option) (*options, error) {
	o := &options{
		insecure:       map[string]bool{},
		registryCAs:    map[string][][]byte{},
		tagTTL:         defaultTagTTL,
		cacheSize:      defaultCacheSize,
		userAgent:      defaultUserAgent,
		maxPerHost:     defaultMaxPerHost,
		retries:        defaultRetries,
		retryBase:      defaultRetryBase,
		maxRetryAfter:  defaultMaxRetryAfter,
		flightTimeout:  defaultFlightTimeout,
		pullerLifetime: defaultPullerLifetime,
		configRecheck:  defaultConfigRecheck,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	switch {
	case o.transport != nil && (len(o.caBundles) > 0 || len(o.registryCAs) > 0):
		return nil, errors.New("WithTransport cannot be combined with WithCABundle or WithRegistryCA: configure the CA pool on the transport you pass")
	case o.dockerConfig != "" && o.keychain != nil:
		return nil, errors.New("WithDockerConfig and WithKeychain cannot be combined: pass authn.NewMultiKeychain(DockerConfigKeychain(path), yours) to WithKeychain")
	}
	return o, nil
}

// WithCABundle adds the certificates in pemBytes to the system roots used to verify registries.
// It may be given more than once; it is an error if pemBytes holds no certificate.
//
// The default is the system roots alone.
func WithCABundle(pemBytes []byte) Option {
	return func(o *options) error {
		return o.addCA(pemBytes, "the CA bundle")
	}
}

// WithCABundleFile is WithCABundle with the PEM read from path.
//
// The default is the system roots alone.
func WithCABundleFile(path string) Option {
	return func(o *options) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading CA bundle: %w", err)
		}
		return o.addCA(b, fmt.Sprintf("CA bundle %s", path))
	}
}

func (o *options) addCA(pemBytes []byte, source string) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return fmt.Errorf("%s holds no PEM certificate", source)
	}
	o.caBundles = append(o.caBundles, pemBytes)
	o.caSources = append(o.caSources, source)
	return nil
}

// WithRegistryCA trusts the certificates in pemBytes for the registry host only (host or
// host:port as in image references; the CA is trusted for that host name on every port), on top of
// the system roots and WithCABundle's. A CA given for one registry never vouches for another. It may
// be given more than once, also for the same host; it is an error if pemBytes holds no certificate.
// Per-registry CAs apply to direct connections: through an HTTPS proxy only the shared roots apply.
//
// The default is none.
func WithRegistryCA(host string, pemBytes []byte) Option {
	return func(o *options) error {
		return o.addRegistryCA(host, pemBytes, fmt.Sprintf("the CA bundle for registry %s", host))
	}
}

// WithRegistryCAFile is WithRegistryCA with the PEM read from path.
//
// The default is none.
func WithRegistryCAFile(host, path string) Option {
	return func(o *options) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading the CA bundle for registry %s: %w", host, err)
		}
		return o.addRegistryCA(host, b, fmt.Sprintf("CA bundle %s for registry %s", path, host))
	}
}

func (o *options) addRegistryCA(host string, pemBytes []byte, source string) error {
	host = strings.TrimSpace(host)
	if strings.Contains(host, "://") || strings.Contains(host, "/") {
		return fmt.Errorf("registry %q for a CA bundle: give host or host:port, without scheme or path", host)
	}
	reg, err := name.NewRegistry(host, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("registry %q for a CA bundle: %w", host, err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pemBytes) {
		return fmt.Errorf("%s holds no PEM certificate", source)
	}
	hostname := reg.RegistryStr()
	if h, _, err := net.SplitHostPort(hostname); err == nil {
		hostname = h
	}
	hostname = strings.ToLower(hostname)
	o.registryCAs[hostname] = append(o.registryCAs[hostname], pemBytes)
	return nil
}

// WithInsecureHosts lists registries (host or host:port, as in image references) that may be
// reached over plain HTTP. Plain HTTP is used for these only; any other http:// request is refused.
// It may be given more than once.
//
// The default is none: every registry, including localhost and private addresses, must speak TLS.
func WithInsecureHosts(hosts ...string) Option {
	return func(o *options) error {
		for _, h := range hosts {
			h = strings.TrimSpace(h)
			if strings.Contains(h, "://") || strings.Contains(h, "/") {
				return fmt.Errorf("insecure registry %q: give host or host:port, without scheme or path", h)
			}
			reg, err := name.NewRegistry(h, name.StrictValidation)
			if err != nil {
				return fmt.Errorf("insecure registry %q: %w", h, err)
			}
			o.insecure[reg.RegistryStr()] = true
		}
		return nil
	}
}

// WithDockerConfig reads registry credentials from the docker config.json at path ("auths" entries
// with "auth", "username"/"password", "identitytoken" or "registrytoken"; credential helpers are
// not run). The file is checked for changes at most once a second, so rotated credentials (a
// re-mounted Secret) are used without a restart. It is an error if the file cannot be read or parsed
// when New runs. It cannot be combined with WithKeychain.
//
// The default is anonymous access: ~/.docker is never read implicitly.
func WithDockerConfig(path string) Option {
	return func(o *options) error {
		if path == "" {
			return errors.New("WithDockerConfig: empty path")
		}
		o.dockerConfig = path
		return nil
	}
}

// WithKeychain uses k to find registry credentials. It cannot be combined with WithDockerConfig.
//
// The default is anonymous access.
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error {
		if k == nil {
			return errors.New("WithKeychain: nil keychain")
		}
		o.keychain = k
		return nil
	}
}

// WithTagTTL sets how long a tag → digest answer is reused. Zero disables the tag cache (identical
// concurrent lookups still share one flight).
//
// The default is 30s.
func WithTagTTL(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("WithTagTTL: negative TTL %s", d)
		}
		o.tagTTL = d
		return nil
	}
}

// WithCacheSize bounds the tag cache and the confirmed-digest cache to n entries each; the least
// recently used entry is evicted first.
//
// The default is 10000.
func WithCacheSize(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("WithCacheSize: %d is not a positive size", n)
		}
		o.cacheSize = n
		return nil
	}
}

// WithTransport sends requests through rt instead of signet's own *http.Transport (for tests).
// The insecure guard, retries, per-host limits and request counting still wrap it. It cannot be
// combined with WithCABundle.
//
// The default is a shared *http.Transport with keep-alives, TLS 1.2+ and the configured CA pool.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) error {
		if rt == nil {
			return errors.New("WithTransport: nil transport")
		}
		o.transport = rt
		return nil
	}
}

// WithUserAgent sets the product sent in User-Agent (go-containerregistry appends its own).
//
// The default is "signet".
func WithUserAgent(s string) Option {
	return func(o *options) error {
		if s == "" {
			return errors.New("WithUserAgent: empty user agent")
		}
		o.userAgent = s
		return nil
	}
}

// WithMaxConcurrencyPerHost bounds the registry requests in flight to one host; a request waits
// for a slot until its context ends.
//
// The default is 16.
func WithMaxConcurrencyPerHost(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("WithMaxConcurrencyPerHost: %d is not a positive limit", n)
		}
		o.maxPerHost = n
		return nil
	}
}

// WithRetries sets how many attempts a request gets when the registry answers 429, 502, 503 or
// 504 or the connection is reset. Waits honour Retry-After (seconds or HTTP date) and never pass
// the request's deadline. 1 disables retries.
//
// The default is 3.
func WithRetries(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("WithRetries: %d attempts; need at least 1", n)
		}
		o.retries = n
		return nil
	}
}

// WithMetrics records requests, latencies, retries, in-flight requests and cache lookups and
// evictions in m (see NewMetrics).
//
// The default is no metrics; Stats counts regardless.
func WithMetrics(m *Metrics) Option {
	return func(o *options) error {
		if m == nil {
			return errors.New("WithMetrics: nil metrics")
		}
		o.metrics = m
		return nil
	}
}
