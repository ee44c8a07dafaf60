// Package resolver owns signet's access to OCI registries: credentials (a docker config.json that is
// re-read when it changes, or a caller's keychain), TLS with extra CA bundles, an explicit list of
// registries allowed over plain HTTP, bounded retries that honour Retry-After inside the caller's
// deadline, bounded concurrency per registry host, connection and token reuse, tag → digest
// resolution, caches and singleflight. It never verifies signatures: pkg/verify does, and fetches
// them through RemoteOptions so that every registry call shares one transport, CA pool, insecure
// guard and set of credentials.
//
// # Resolving
//
// Registry.Resolve turns a tag into the digest the kubelet would pull: a HEAD of the manifest with
// an Accept header covering the OCI index, OCI manifest, Docker manifest list and Docker v2 media
// types, reading Docker-Content-Digest. When HEAD is refused (405 and other answers that are not
// auth, not-found, rate limiting or unavailability) or the answer lacks the digest header, it falls
// back to GET and hashes the exact bytes. A multi-arch image resolves to its index. A digest
// reference (also repo:tag@sha256:…) is confirmed to exist and returned unchanged: a digest is never
// replaced and never given an implied tag.
//
// # Caches and flights
//
// Tag → digest answers are cached for a short TTL (WithTagTTL, default 30s); confirmed digests are
// immutable and cached without expiry. Both caches are bounded LRUs (WithCacheSize). Failures are
// never cached. Concurrent identical lookups share one flight that is not cancelled when the first
// caller gives up: it runs detached from the callers' cancellation, bounded by the deadline of the
// caller that started it, and every caller waits on its own context.
//
// # Connections and tokens
//
// One *http.Transport (keep-alives, TLS 1.2+, MaxIdleConnsPerHost equal to the per-host
// concurrency) carries every request. A go-containerregistry remote.Puller is shared by Resolve and
// by RemoteOptions (via remote.Reuse) and replaced every five minutes and whenever the docker
// config changes: it keeps one authenticated transport per repository, so the registry is pinged
// and a repository's bearer token exchanged once, and refreshed by go-containerregistry when the
// registry answers 401, instead of once per request. Requests are counted (Stats) in the transport.
//
// # Plain HTTP
//
// go-containerregistry silently tries plain HTTP for localhost, 127.x and RFC 1918 registries.
// signet does not: a guard under the transport refuses every http:// request to a host that is not
// in WithInsecureHosts. References to listed hosts are made insecure (Registry.Reference) so that
// go-containerregistry may use HTTP for them (it still tries HTTPS first and falls back to HTTP).
//
// # Pull secrets
//
// ResolveFor and RemoteOptionsFor act on behalf of a pod (PullAuth): the pod's imagePullSecrets
// and its service account's, found by a PullSecretSource (package pullsecrets watches them with
// informers), are tried before the Registry's own credentials. Requests with equal secrets share a
// Puller and so its tokens. Caches stay keyed by tag and digest, whoever asked: a digest or a
// verdict is no credential, and a pod without pull credentials cannot pull the image anyway.
// Flights are shared only between equal secrets, so that one pod's missing credentials never fail
// another's lookup.
//
// # TLS
//
// WithCABundle adds CAs trusted for every registry; WithRegistryCA adds a CA trusted for one
// registry host only (the roots are chosen per dialled host). Manifests larger than 4 MiB are
// refused unread.
//
// # Metrics
//
// NewMetrics registers request, latency, retry, in-flight and cache collectors on a registerer the
// caller owns; WithMetrics (and verify.WithMetrics for the verdict cache) report into it.
//
// # Errors
//
// Every error is a *reason.Error whose Subject is the image as written and whose cause names the
// registry host. Classify maps errors from other registry calls (pkg/verify's) the same way.
package resolver
