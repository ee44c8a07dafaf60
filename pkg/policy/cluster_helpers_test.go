package policy

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

// testCluster runs a ClusterSource against client-go's fake clientsets. They are the one fake
// allowed here: no API server can run in a unit test. The end-to-end tests run the same code
// against a real kube-apiserver.
type testCluster struct {
	dyn  *dynamicfake.FakeDynamicClient
	kube *kubefake.Clientset
	src  *ClusterSource
	logs *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startCluster starts a ClusterSource over fake clients holding objs (policies as typed
// ClusterImagePolicy/ImagePolicy, Secrets as *corev1.Secret) and waits for its first sync.
func startCluster(t testing.TB, secretNamespaces []string, metrics *Metrics, objs ...runtime.Object) *testCluster {
	t.Helper()
	var policies, secrets []runtime.Object
	for _, o := range objs {
		if s, ok := o.(*corev1.Secret); ok {
			secrets = append(secrets, s)
			continue
		}
		policies = append(policies, toUnstructured(t, o))
	}
	c := &testCluster{
		dyn: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
			ClusterImagePolicyResource: "ClusterImagePolicyList",
			ImagePolicyResource:        "ImagePolicyList",
		}, policies...),
		kube: kubefake.NewClientset(secrets...),
		logs: &lockedBuffer{},
	}
	src, err := NewClusterSource(ClusterOptions{
		Dynamic: c.dyn, Kube: c.kube, SecretNamespaces: secretNamespaces,
		Logger:  slog.New(slog.NewJSONHandler(c.logs, nil)),
		Metrics: metrics,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.src = src
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "the first sync", src.Synced)
	return c
}

// waitFor polls cond: informers deliver asynchronously. The limit only keeps a broken test from
// hanging; nothing is asserted about how long it took.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func toUnstructured(t testing.TB, o runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	kind := KindClusterImagePolicy
	if _, ok := o.(*ImagePolicy); ok {
		kind = KindImagePolicy
	}
	u.SetAPIVersion(APIVersion)
	u.SetKind(kind)
	return u
}

func gvrOf(namespace string) schema.GroupVersionResource {
	if namespace != "" {
		return ImagePolicyResource
	}
	return ClusterImagePolicyResource
}

// apply creates or replaces a policy, bumping its generation as the API server does.
func (c *testCluster) apply(t testing.TB, o runtime.Object) {
	t.Helper()
	u := toUnstructured(t, o)
	res := c.dyn.Resource(gvrOf(u.GetNamespace())).Namespace(u.GetNamespace())
	old, err := res.Get(context.Background(), u.GetName(), metav1.GetOptions{})
	if err != nil {
		u.SetGeneration(1)
		if _, err := res.Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return
	}
	u.SetGeneration(old.GetGeneration() + 1)
	u.SetResourceVersion(old.GetResourceVersion())
	if _, err := res.Update(context.Background(), u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (c *testCluster) putSecret(t testing.TB, s *corev1.Secret) {
	t.Helper()
	secrets := c.kube.CoreV1().Secrets(s.Namespace)
	if _, err := secrets.Get(context.Background(), s.Name, metav1.GetOptions{}); err != nil {
		if _, err := secrets.Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := secrets.Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// ready returns a policy's Ready condition and status.observedGeneration as stored in the fake
// API server; nil if it has none yet.
func (c *testCluster) ready(t testing.TB, namespace, name string) (*metav1.Condition, int64) {
	t.Helper()
	u, err := c.dyn.Resource(gvrOf(namespace)).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var typed ClusterImagePolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &typed); err != nil {
		t.Fatal(err)
	}
	return meta.FindStatusCondition(typed.Status.Conditions, ConditionReady), typed.Status.ObservedGeneration
}

// waitReady waits until a policy's Ready condition has status and reason for generation.
func (c *testCluster) waitReady(t testing.TB, namespace, name string, status metav1.ConditionStatus, reason string, generation int64) *metav1.Condition {
	t.Helper()
	var got *metav1.Condition
	waitFor(t, "Ready="+string(status)+" "+reason+" on "+namespace+"/"+name, func() bool {
		got, _ = c.ready(t, namespace, name)
		return got != nil && got.Status == status && got.Reason == reason && got.ObservedGeneration == generation
	})
	return got
}

// keyIDs returns the key IDs of the snapshot's policy named name.
func (c *testCluster) keyIDs(name string) []string {
	for _, p := range c.src.Policies().Policies() {
		if p.Name == name {
			var ids []string
			for _, a := range p.Authorities {
				for _, k := range a.Keys {
					ids = append(ids, k.ID)
				}
			}
			return ids
		}
	}
	return nil
}

func clusterPolicy(name string, spec ImagePolicySpec) *ClusterImagePolicy {
	return &ClusterImagePolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
}

func namespacedPolicy(namespace, name string, spec ImagePolicySpec) *ImagePolicy {
	return &ImagePolicy{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: spec}
}

func secretSpec(glob, namespace, name string) ImagePolicySpec {
	return ImagePolicySpec{
		Images:      []ImagePattern{{Glob: glob}},
		Authorities: []Authority{{Name: "release", Key: KeyRef{SecretRef: &SecretRef{Namespace: namespace, Name: name}}}},
	}
}

// cosignSecret is shaped like what cosign generate-key-pair k8s://NS/NAME writes.
func cosignSecret(namespace, name string, publicPEMs ...string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Data: map[string][]byte{
			"cosign.key":      []byte(fakePrivateKey),
			"cosign.password": []byte("hunter2-password"),
			"cosign.pub":      []byte(strings.Join(publicPEMs, "")),
		},
	}
}

// swappable is a Source whose snapshot a test replaces.
type swappable struct{ set atomic.Pointer[Set] }

func (s *swappable) Policies() *Set { return s.set.Load() }
