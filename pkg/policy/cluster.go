package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// The policy resources signet watches.
var (
	ClusterImagePolicyResource = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "clusterimagepolicies"}
	ImagePolicyResource        = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "imagepolicies"}
)

// fieldManager names signet in managedFields when it writes a policy's status.
const fieldManager = "signet-webhook"

// ClusterOptions configures a ClusterSource. Dynamic and Kube are required.
type ClusterOptions struct {
	// Dynamic reads ClusterImagePolicies and ImagePolicies and writes their status.
	Dynamic dynamic.Interface
	// Kube reads the Secrets that policies name.
	Kube kubernetes.Interface
	// SecretNamespaces are the namespaces whose Secrets may be read; "*" allows any. A policy
	// naming a Secret elsewhere is not ready (SecretNotReadable). Only Secrets that policies
	// name are ever watched, each on its own, never a whole namespace or the cluster.
	SecretNamespaces []string
	// SecretSyncTimeout bounds how long a compile waits for a newly named Secret's first read.
	// Default 10s; a Secret still unread then is reported as not readable, and the policy is
	// compiled again when it arrives.
	SecretSyncTimeout time.Duration
	// Resync is how often every policy is compiled again even without a change, which also
	// retries status writes that failed. Default 5m.
	Resync time.Duration
	// Logger receives a line whenever a policy becomes ready or broken. Default: discard.
	Logger *slog.Logger
	// Metrics may be nil.
	Metrics *Metrics
}

// ClusterSource serves the ClusterImagePolicies and ImagePolicies of a cluster, with keys from
// Secrets, as an immutable Set that is recompiled off the request path and swapped atomically
// whenever a policy or a referenced Secret changes. A policy that does not compile stays in the
// Set as a broken policy (CompileFailClosed) and says why in its status.
type ClusterSource struct {
	opts    ClusterOptions
	current atomic.Pointer[Set]
	synced  atomic.Bool
	kick    chan struct{}
	secrets *secretCache
	logged  map[string]string // policy name → last logged state, so each change is logged once
}

// NewClusterSource checks opts; Run starts watching.
func NewClusterSource(opts ClusterOptions) (*ClusterSource, error) {
	if opts.Dynamic == nil || opts.Kube == nil {
		return nil, errors.New("cluster policies need a Kubernetes client: both ClusterOptions.Dynamic and ClusterOptions.Kube")
	}
	if opts.SecretSyncTimeout <= 0 {
		opts.SecretSyncTimeout = 10 * time.Second
	}
	if opts.Resync <= 0 {
		opts.Resync = 5 * time.Minute
	}
	s := &ClusterSource{opts: opts, kick: make(chan struct{}, 1), logged: map[string]string{}}
	s.current.Store(NewSet())
	s.secrets = newSecretCache(opts.Kube, opts.SecretNamespaces, s.changed, func(k secretKey, err error) {
		s.logger().Warn("cannot watch a Secret that a policy names", "secret", k.String(), "error", err)
	})
	return s, nil
}

// Policies returns the current snapshot: empty until the first sync. It never blocks.
func (s *ClusterSource) Policies() *Set { return s.current.Load() }

// Synced reports whether the policies (and the Secrets they name) have been read and compiled
// once; until then Policies is empty and the webhook should not report ready.
func (s *ClusterSource) Synced() bool { return s.synced.Load() }

func (s *ClusterSource) logger() *slog.Logger {
	if s.opts.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.opts.Logger
}

// changed asks for a recompile; calls coalesce while one is pending.
func (s *ClusterSource) changed() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Run watches policies and Secrets until ctx ends. It returns an error only when the policy
// watches never synced (ctx ended first).
func (s *ClusterSource) Run(ctx context.Context) error {
	defer s.secrets.stop()
	factory := dynamicinformer.NewDynamicSharedInformerFactory(s.opts.Dynamic, s.opts.Resync)
	var listers []cache.GenericLister
	for _, gvr := range []schema.GroupVersionResource{ClusterImagePolicyResource, ImagePolicyResource} {
		inf := factory.ForResource(gvr)
		_ = inf.Informer().SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			s.logger().Error("cannot watch policies; are the CRDs installed and may signet list and watch them? (docs/rbac.md)", "resource", gvr.Resource, "error", err)
		})
		if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { s.changed() },
			UpdateFunc: func(_, _ any) { s.changed() },
			DeleteFunc: func(any) { s.changed() },
		}); err != nil {
			return fmt.Errorf("watching %s: %w", gvr.Resource, err)
		}
		listers = append(listers, inf.Lister())
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	for gvr, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("policies (%s) never synced: %w", gvr.Resource, context.Cause(ctx))
		}
	}
	for {
		s.compile(ctx, listers[0], listers[1])
		if ctx.Err() != nil {
			return nil
		}
		if !s.synced.Swap(true) {
			s.logger().Info("cluster policies synced", "policies", s.Policies().Len())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		}
	}
}

// compiledObject is one policy object and what it compiled to.
type compiledObject struct {
	gvr             schema.GroupVersionResource
	namespace, name string
	generation      int64
	status          ImagePolicyStatus
	policy          *Policy
}

// compile reads every policy from the informer caches, makes sure the Secrets they name are
// watched, compiles them, swaps the snapshot if it changed, and reports each policy's readiness.
func (s *ClusterSource) compile(ctx context.Context, cips, ips cache.GenericLister) {
	objs := s.read(cips, KindClusterImagePolicy, ClusterImagePolicyResource)
	objs = append(objs, s.read(ips, KindImagePolicy, ImagePolicyResource)...)

	want := map[secretKey]bool{}
	for _, o := range objs {
		for _, k := range o.secrets {
			want[k] = true
		}
	}
	s.secrets.ensure(ctx, want, s.opts.SecretSyncTimeout)

	out := make([]compiledObject, 0, len(objs))
	ps := make([]*Policy, 0, len(objs))
	for _, o := range objs {
		if o.decodeErr == nil {
			o.policy = CompileFailClosed(o.spec, CompileOptions{
				Kind: o.kind, Namespace: o.namespace, Name: o.name, Source: "cluster",
				Secrets: s.secrets, NoKeyPaths: true,
			})
		} else {
			o.policy = CompileFailClosed(ImagePolicySpec{}, CompileOptions{Kind: o.kind, Namespace: o.namespace, Name: o.name, Source: "cluster"})
			o.policy.Err = fmt.Errorf("decoding: %w", o.decodeErr)
		}
		out = append(out, o.compiledObject)
		ps = append(ps, o.policy)
	}
	set := NewSet(ps...)
	swapped := set.Fingerprint() != s.current.Load().Fingerprint()
	if swapped {
		s.current.Store(set)
	}
	s.opts.Metrics.observe(ps, swapped)
	s.report(ctx, out)
}

// readObject is a policy object read from an informer cache.
type readObject struct {
	compiledObject
	kind      string
	spec      ImagePolicySpec
	secrets   []secretKey
	decodeErr error
}

func (s *ClusterSource) read(l cache.GenericLister, kind string, gvr schema.GroupVersionResource) []readObject {
	items, err := l.List(labels.Everything())
	if err != nil {
		s.logger().Error("listing cached policies", "resource", gvr.Resource, "error", err)
		return nil
	}
	out := make([]readObject, 0, len(items))
	for _, it := range items {
		u, ok := it.(*unstructured.Unstructured)
		if !ok {
			continue
		}
		o := readObject{kind: kind}
		o.gvr, o.namespace, o.name, o.generation = gvr, u.GetNamespace(), u.GetName(), u.GetGeneration()
		var typed ClusterImagePolicy // both kinds share one shape
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.UnstructuredContent(), &typed); err != nil {
			o.decodeErr = err
		} else {
			o.spec, o.status = typed.Spec, typed.Status
			o.secrets = referencedSecrets(kind, o.namespace, typed.Spec)
		}
		out = append(out, o)
	}
	return out
}

// referencedSecrets lists the Secrets a policy may read: an ImagePolicy only its own namespace's.
func referencedSecrets(kind, namespace string, spec ImagePolicySpec) []secretKey {
	var out []secretKey
	for _, a := range spec.Authorities {
		ref := a.Key.SecretRef
		if ref == nil || ref.Name == "" {
			continue
		}
		ns := ref.Namespace
		if kind == KindImagePolicy {
			if ns != "" && ns != namespace {
				continue
			}
			ns = namespace
		}
		if ns != "" && !slices.Contains(out, secretKey{ns, ref.Name}) {
			out = append(out, secretKey{ns, ref.Name})
		}
	}
	return out
}

// report writes each policy's Ready condition and logs every change of readiness once.
func (s *ClusterSource) report(ctx context.Context, objs []compiledObject) {
	seen := map[string]bool{}
	for _, o := range objs {
		name := o.policy.Name
		seen[name] = true
		reason := readyReason(o.policy.Err)
		state := reason
		if o.policy.Err != nil {
			state += ": " + o.policy.Err.Error()
		}
		if prev, ok := s.logged[name]; !ok || prev != state {
			s.logged[name] = state
			if o.policy.Err != nil {
				s.logger().Error("policy is broken: images it matches fail it until it is fixed (denied in enforce mode)",
					"policy", name, "reason", reason, "mode", string(o.policy.Mode), "error", o.policy.Err.Error())
			} else {
				s.logger().Info("policy is ready", "policy", name, "generation", o.generation)
			}
		}
		s.writeStatus(ctx, o)
	}
	for name := range s.logged {
		if !seen[name] {
			delete(s.logged, name)
		}
	}
}
