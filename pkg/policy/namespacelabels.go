package policy

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// NamespaceLabels serves namespaces' labels from an informer cache, so that cluster policies'
// namespace selectors can be evaluated on the request path without calling the API server.
type NamespaceLabels struct {
	informer cache.SharedIndexInformer
}

// NewNamespaceLabels watches every namespace's labels through kube (list and watch namespaces).
func NewNamespaceLabels(kube kubernetes.Interface) *NamespaceLabels {
	ns := kube.CoreV1().Namespaces()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return ns.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return ns.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, kube), &corev1.Namespace{}, cache.SharedIndexInformerOptions{ObjectDescription: "namespaces"})
	// Keep only names and labels. The informer has not started, so this cannot fail.
	_ = inf.SetTransform(func(obj any) (any, error) {
		n, ok := obj.(*corev1.Namespace)
		if !ok {
			return obj, nil
		}
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels, ResourceVersion: n.ResourceVersion}}, nil
	})
	return &NamespaceLabels{informer: inf}
}

// Run watches until ctx ends.
func (n *NamespaceLabels) Run(ctx context.Context) { n.informer.RunWithContext(ctx) }

// Synced reports whether every namespace has been read once.
func (n *NamespaceLabels) Synced() bool { return n.informer.HasSynced() }

// Labels returns a namespace's labels; ok is false when the namespace is not known (yet).
func (n *NamespaceLabels) Labels(namespace string) (labels map[string]string, ok bool) {
	obj, exists, err := n.informer.GetStore().GetByKey(namespace)
	if err != nil || !exists {
		return nil, false
	}
	return obj.(*corev1.Namespace).Labels, true
}
