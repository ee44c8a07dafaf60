// Package pullsecrets finds the registry credentials a pod pulls with: its imagePullSecrets and its
// service account's, read from kubernetes.io/dockerconfigjson Secrets. It watches Secrets and
// ServiceAccounts through client-go informers, so that a lookup on the admission path answers from
// memory and never waits for the API server. It implements resolver.PullSecretSource.
package pullsecrets

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/signet-dev/signet/pkg/resolver"
)

// Source answers which pull secrets apply to a pod. Build it with New, then Start it.
type Source struct {
	secretsFactory  informers.SharedInformerFactory
	accountsFactory informers.SharedInformerFactory
	secrets         corelisters.SecretLister
	accounts        corelisters.ServiceAccountLister
	synced          []cache.InformerSynced
}

// New returns a Source watching every namespace through client. resync is the informers' resync
// period (0: none). Only Secrets of type kubernetes.io/dockerconfigjson are watched, and only their
// .dockerconfigjson is kept in memory. It needs RBAC to list and watch secrets and serviceaccounts.
func New(client kubernetes.Interface, resync time.Duration) *Source {
	sf := informers.NewSharedInformerFactoryWithOptions(client, resync, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("type", string(corev1.SecretTypeDockerConfigJson)).String()
	}))
	af := informers.NewSharedInformerFactory(client, resync)
	si := sf.Core().V1().Secrets()
	ai := af.Core().V1().ServiceAccounts()
	// Keep only what a lookup reads: annotations (kubectl's last-applied copy holds the whole
	// Secret) and managed fields are dropped.
	_ = si.Informer().SetTransform(stripSecret)
	_ = ai.Informer().SetTransform(stripAccount)
	return &Source{
		secretsFactory:  sf,
		accountsFactory: af,
		secrets:         si.Lister(),
		accounts:        ai.Lister(),
		synced:          []cache.InformerSynced{si.Informer().HasSynced, ai.Informer().HasSynced},
	}
}

// Start runs the informers until ctx ends.
func (s *Source) Start(ctx context.Context) {
	s.secretsFactory.Start(ctx.Done())
	s.accountsFactory.Start(ctx.Done())
}

// WaitForSync waits until the informers have listed everything once, or ctx ends.
func (s *Source) WaitForSync(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return fmt.Errorf("waiting for the pull-secret informers to sync: %w", context.Cause(ctx))
	}
	return nil
}

// Shutdown waits for the informers' goroutines to end after Start's ctx ended.
func (s *Source) Shutdown() {
	s.secretsFactory.Shutdown()
	s.accountsFactory.Shutdown()
}

// PullSecrets implements resolver.PullSecretSource: the pod's imagePullSecrets in order, then its
// service account's, each once. Secrets that do not exist, are of another type or lack
// .dockerconfigjson are left out, as the kubelet leaves them out.
func (s *Source) PullSecrets(auth resolver.PullAuth) []resolver.PullSecret {
	if auth.Namespace == "" {
		return nil
	}
	names := append([]string(nil), auth.PullSecrets...)
	if auth.ServiceAccount != "" {
		if sa, err := s.accounts.ServiceAccounts(auth.Namespace).Get(auth.ServiceAccount); err == nil {
			for _, ref := range sa.ImagePullSecrets {
				names = append(names, ref.Name)
			}
		}
	}
	var out []resolver.PullSecret
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		sec, err := s.secrets.Secrets(auth.Namespace).Get(n)
		if err != nil || sec.Type != corev1.SecretTypeDockerConfigJson {
			continue
		}
		data, ok := sec.Data[corev1.DockerConfigJsonKey]
		if !ok || len(data) == 0 {
			continue
		}
		out = append(out, resolver.PullSecret{Name: auth.Namespace + "/" + n, DockerConfigJSON: data})
	}
	return out
}

func stripSecret(obj any) (any, error) {
	sec, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	kept := &corev1.Secret{
		TypeMeta: sec.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: sec.Name, Namespace: sec.Namespace, UID: sec.UID, ResourceVersion: sec.ResourceVersion,
		},
		Type: sec.Type,
	}
	if d, ok := sec.Data[corev1.DockerConfigJsonKey]; ok {
		kept.Data = map[string][]byte{corev1.DockerConfigJsonKey: d}
	}
	return kept, nil
}

func stripAccount(obj any) (any, error) {
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return obj, nil
	}
	return &corev1.ServiceAccount{
		TypeMeta: sa.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: sa.Name, Namespace: sa.Namespace, UID: sa.UID, ResourceVersion: sa.ResourceVersion,
		},
		ImagePullSecrets: sa.ImagePullSecrets,
	}, nil
}
