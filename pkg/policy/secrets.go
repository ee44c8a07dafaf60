package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Errors a cluster SecretGetter wraps, so that a policy's status can say which it was.
var (
	// ErrSecretNotFound: the Secret does not exist (yet).
	ErrSecretNotFound = errors.New("not found")
	// ErrSecretNotReadable: signet may not or cannot read the Secret (namespace not allowed,
	// RBAC, API server unreachable).
	ErrSecretNotReadable = errors.New("not readable")
)

// secretKey identifies one Secret.
type secretKey struct{ namespace, name string }

func (k secretKey) String() string { return k.namespace + "/" + k.name }

// secretWatcher caches one Secret. It lists and watches with a metadata.name field selector, so
// signet holds only the Secrets policies name (and RBAC may restrict it to them by resourceNames).
type secretWatcher struct {
	informer cache.SharedIndexInformer
	cancel   context.CancelFunc

	mu      sync.Mutex
	lastErr error // the last list/watch error, until the cache syncs
}

// secretCache implements SecretGetter over one informer per referenced Secret. Lookups never do
// I/O: a Secret whose cache has not synced is reported as not readable, with the reason.
type secretCache struct {
	kube      kubernetes.Interface
	allowed   []string // namespaces whose Secrets may be read; "*" is any
	onChange  func()
	onErrorFn func(secretKey, error)

	mu       sync.Mutex
	watchers map[secretKey]*secretWatcher
}

func newSecretCache(kube kubernetes.Interface, allowed []string, onChange func(), onError func(secretKey, error)) *secretCache {
	return &secretCache{kube: kube, allowed: allowed, onChange: onChange, onErrorFn: onError, watchers: map[secretKey]*secretWatcher{}}
}

func (c *secretCache) namespaceAllowed(ns string) bool {
	return slices.Contains(c.allowed, "*") || slices.Contains(c.allowed, ns)
}

// GetSecretData returns the public-key entries of a cached Secret; other entries are present
// with nil values (see publicKeysOnly), so that errors can still list them.
func (c *secretCache) GetSecretData(namespace, name string) (map[string][]byte, error) {
	k := secretKey{namespace, name}
	if !c.namespaceAllowed(namespace) {
		return nil, fmt.Errorf("%w: namespace %q is not in signet-webhook's --secret-namespaces; add it there and grant signet read access to the Secret (docs/rbac.md)", ErrSecretNotReadable, namespace)
	}
	c.mu.Lock()
	w := c.watchers[k]
	c.mu.Unlock()
	if w == nil {
		return nil, fmt.Errorf("%w: not watched yet", ErrSecretNotReadable)
	}
	if !w.informer.HasSynced() {
		w.mu.Lock()
		cause := w.lastErr
		w.mu.Unlock()
		if cause == nil {
			cause = errors.New("the watch has not synced yet")
		}
		return nil, fmt.Errorf("%w: %v; check that signet may get, list and watch it (docs/rbac.md)", ErrSecretNotReadable, cause)
	}
	obj, exists, err := w.informer.GetStore().GetByKey(k.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSecretNotReadable, err)
	}
	if !exists {
		return nil, fmt.Errorf("%w; create it holding the public key, e.g. with cosign generate-key-pair k8s://%s", ErrSecretNotFound, k)
	}
	return obj.(*corev1.Secret).Data, nil
}

// ensure makes the watched Secrets exactly want: new ones are started under ctx and waited for
// up to timeout (a Secret whose watch fails reports why instead); ones no longer wanted stop.
func (c *secretCache) ensure(ctx context.Context, want map[secretKey]bool, timeout time.Duration) {
	var started []*secretWatcher
	c.mu.Lock()
	for k, w := range c.watchers {
		if !want[k] {
			w.cancel()
			delete(c.watchers, k)
		}
	}
	for k := range want {
		if _, ok := c.watchers[k]; ok || !c.namespaceAllowed(k.namespace) {
			continue
		}
		w := c.start(ctx, k)
		c.watchers[k] = w
		started = append(started, w)
	}
	c.mu.Unlock()
	if len(started) == 0 {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, w := range started {
		cache.WaitForCacheSync(wctx.Done(), w.informer.HasSynced)
	}
}

func (c *secretCache) start(ctx context.Context, k secretKey) *secretWatcher {
	sel := fields.OneTermEqualSelector("metadata.name", k.name).String()
	secrets := c.kube.CoreV1().Secrets(k.namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return secrets.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return secrets.Watch(ctx, o)
		},
	}
	// The wrapper lets a client that cannot stream a watch list (client-go's fake) say so.
	inf := cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, c.kube), &corev1.Secret{}, cache.SharedIndexInformerOptions{
		ObjectDescription: "Secret " + k.String(),
	})
	w := &secretWatcher{informer: inf}
	// Errors are only possible once the informer runs; it has not started yet.
	_ = inf.SetTransform(publicKeysOnly)
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		w.mu.Lock()
		w.lastErr = err
		w.mu.Unlock()
		if c.onErrorFn != nil {
			c.onErrorFn(k, err)
		}
	})
	changed := func(any) { c.onChange() }
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, o any) { c.onChange() },
		DeleteFunc: changed,
	})
	wctx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	go inf.RunWithContext(wctx)
	go func() {
		// A Secret that is missing or unreadable has no event to announce that it synced.
		if cache.WaitForCacheSync(wctx.Done(), inf.HasSynced) {
			c.onChange()
		}
	}()
	return w
}

// stop ends every watch.
func (c *secretCache) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, w := range c.watchers {
		w.cancel()
		delete(c.watchers, k)
	}
}

// publicKeysOnly is the informer's transform: it keeps a Secret's name and the data entries that
// hold a PUBLIC KEY block, and keeps other entries' names without their values. Private keys,
// passwords and annotations (kubectl's last-applied-configuration repeats the whole Secret) never
// stay in signet's memory.
func publicKeysOnly(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil // a tombstone
	}
	out := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Name: s.Name, Namespace: s.Namespace, UID: s.UID, ResourceVersion: s.ResourceVersion,
	}}
	if len(s.Data) > 0 {
		out.Data = make(map[string][]byte, len(s.Data))
		for k, v := range s.Data {
			if _, err := ParsePublicKeys(v); errors.Is(err, ErrNoPublicKey) {
				out.Data[k] = nil
				continue
			}
			out.Data[k] = v
		}
	}
	return out, nil
}
