package policy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

func TestClusterPolicyWithASecretIsReadyAndInForce(t *testing.T) {
	t.Parallel()
	key := newECKey(t)
	c := startCluster(t, []string{"signet-system"}, nil,
		cosignSecret("signet-system", "release-keys", pkixPEM(t, key)),
		clusterPolicy("release", secretSpec("ghcr.io/org/**", "signet-system", "release-keys")),
	)
	cond := c.waitReady(t, "", "release", metav1.ConditionTrue, ReasonCompiled, 0)
	if !strings.Contains(cond.Message, idOf(t, key)) {
		t.Errorf("Ready message %q does not name the key in force %s", cond.Message, idOf(t, key))
	}
	ps := c.src.Policies().Match("ghcr.io/org/app", "default", nil)
	if len(ps) != 1 || ps[0].Name != "ClusterImagePolicy/release" || ps[0].Err != nil {
		t.Fatalf("Match = %+v, want the ready policy ClusterImagePolicy/release", ps)
	}
	if got := c.keyIDs("ClusterImagePolicy/release"); !slices.Equal(got, []string{idOf(t, key)}) {
		t.Errorf("keys in force %v, want [%s]", got, idOf(t, key))
	}
}

func TestEveryReadyConditionIsWrittenAndClearsWhenFixed(t *testing.T) {
	t.Parallel()
	good := pkixPEM(t, newECKey(t))
	cases := map[string]struct {
		policy     *ClusterImagePolicy
		secrets    []*corev1.Secret
		allowed    []string
		wantReason string
		wantText   []string
		fix        func(t testing.TB, c *testCluster)
	}{
		"a missing Secret is SecretNotFound and recovers when the Secret is created": {
			policy:     clusterPolicy("p", secretSpec("ghcr.io/org/**", "keys", "release")),
			allowed:    []string{"keys"},
			wantReason: ReasonSecretNotFound,
			wantText:   []string{"Secret keys/release", "not found"},
			fix: func(t testing.TB, c *testCluster) {
				c.putSecret(t, cosignSecret("keys", "release", good))
			},
		},
		"a Secret with only a private key and a password is NoPublicKey": {
			policy:     clusterPolicy("p", secretSpec("ghcr.io/org/**", "keys", "release")),
			secrets:    []*corev1.Secret{cosignSecret("keys", "release")},
			allowed:    []string{"keys"},
			wantReason: ReasonNoPublicKey,
			wantText:   []string{"Secret keys/release", "no PUBLIC KEY", "cosign.key, cosign.password, cosign.pub"},
			fix: func(t testing.TB, c *testCluster) {
				c.putSecret(t, cosignSecret("keys", "release", good))
			},
		},
		"a Secret in a namespace signet may not read is SecretNotReadable": {
			policy:     clusterPolicy("p", secretSpec("ghcr.io/org/**", "elsewhere", "release")),
			secrets:    []*corev1.Secret{cosignSecret("elsewhere", "release", good)},
			allowed:    []string{"keys"},
			wantReason: ReasonSecretNotReadable,
			wantText:   []string{"Secret elsewhere/release", "--secret-namespaces"},
			fix: func(t testing.TB, c *testCluster) {
				c.putSecret(t, cosignSecret("keys", "release", good))
				c.apply(t, clusterPolicy("p", secretSpec("ghcr.io/org/**", "keys", "release")))
			},
		},
		"an invalid glob is InvalidSpec": {
			policy: clusterPolicy("p", ImagePolicySpec{
				Images:      []ImagePattern{{Glob: "ghcr.io//org"}},
				Authorities: []Authority{{Key: KeyRef{Data: good}}},
			}),
			wantReason: ReasonInvalidSpec,
			wantText:   []string{"spec.images[0].glob", "empty path segment"},
			fix: func(t testing.TB, c *testCluster) {
				c.apply(t, clusterPolicy("p", ImagePolicySpec{
					Images:      []ImagePattern{{Glob: "ghcr.io/org/**"}},
					Authorities: []Authority{{Key: KeyRef{Data: good}}},
				}))
			},
		},
		"a ClusterImagePolicy secretRef without a namespace is InvalidSpec": {
			policy:     clusterPolicy("p", secretSpec("ghcr.io/org/**", "", "release")),
			allowed:    []string{"*"},
			wantReason: ReasonInvalidSpec,
			wantText:   []string{"secretRef.namespace", "required in a ClusterImagePolicy"},
			fix: func(t testing.TB, c *testCluster) {
				c.putSecret(t, cosignSecret("keys", "release", good))
				c.apply(t, clusterPolicy("p", secretSpec("ghcr.io/org/**", "keys", "release")))
			},
		},
		"a key.path in a cluster policy is InvalidSpec: the webhook's files are not for policy authors": {
			policy: clusterPolicy("p", ImagePolicySpec{
				Images:      []ImagePattern{{Glob: "ghcr.io/org/**"}},
				Authorities: []Authority{{Key: KeyRef{Path: "/etc/signet/cosign.pub"}}},
			}),
			wantReason: ReasonInvalidSpec,
			wantText:   []string{"key.path is for policy files only"},
			fix: func(t testing.TB, c *testCluster) {
				c.apply(t, clusterPolicy("p", ImagePolicySpec{
					Images:      []ImagePattern{{Glob: "ghcr.io/org/**"}},
					Authorities: []Authority{{Key: KeyRef{Data: good}}},
				}))
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			objs := []runtime.Object{}
			for _, s := range tc.secrets {
				objs = append(objs, s)
			}
			c := startCluster(t, tc.allowed, nil, objs...)
			c.apply(t, tc.policy)
			cond := c.waitReady(t, "", "p", metav1.ConditionFalse, tc.wantReason, 1)
			for _, w := range tc.wantText {
				if !strings.Contains(cond.Message, w) {
					t.Errorf("Ready message lacks %q:\n%s", w, cond.Message)
				}
			}
			if strings.Contains(cond.Message, fakePrivateKeyBody) || strings.Contains(cond.Message, "hunter2") {
				t.Fatalf("Ready message leaks the private key or password:\n%s", cond.Message)
			}
			// The broken policy stays in force and refuses what it matches.
			ps := c.src.Policies().Match("ghcr.io/org/app", "default", nil)
			if len(ps) != 1 || ps[0].Err == nil {
				t.Fatalf("Match = %+v, want the broken policy with its error", ps)
			}
			if !strings.Contains(c.logs.String(), `"policy is broken`) || !strings.Contains(c.logs.String(), tc.wantReason) {
				t.Errorf("no log line for the broken policy:\n%s", c.logs.String())
			}

			tc.fix(t, c)
			c.waitReady(t, "", "p", metav1.ConditionTrue, ReasonCompiled, c.generation(t, "", "p"))
			waitFor(t, "the fixed policy in the snapshot", func() bool {
				ps := c.src.Policies().Match("ghcr.io/org/app", "default", nil)
				return len(ps) == 1 && ps[0].Err == nil
			})
			if strings.Contains(c.logs.String(), fakePrivateKeyBody) || strings.Contains(c.logs.String(), "hunter2") {
				t.Fatal("the log leaks the private key or password")
			}
		})
	}
}

func (c *testCluster) generation(t testing.TB, namespace, name string) int64 {
	t.Helper()
	u, err := c.dyn.Resource(gvrOf(namespace)).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return u.GetGeneration()
}

func TestKeyRotationTakesEffectAtEachStep(t *testing.T) {
	t.Parallel()
	oldKey, newKey := newECKey(t), newECKey(t)
	oldID, newID := idOf(t, oldKey), idOf(t, newKey)
	c := startCluster(t, []string{"keys"}, nil,
		cosignSecret("keys", "release", pkixPEM(t, oldKey)),
		clusterPolicy("release", secretSpec("ghcr.io/org/**", "keys", "release")),
	)
	steps := []struct {
		what string
		pems []string
		want []string
	}{
		{"add the new key beside the old one", []string{pkixPEM(t, oldKey), pkixPEM(t, newKey)}, []string{oldID, newID}},
		{"remove the old key", []string{pkixPEM(t, newKey)}, []string{newID}},
	}
	if got := c.keyIDs("ClusterImagePolicy/release"); !slices.Equal(got, []string{oldID}) {
		t.Fatalf("before rotation: keys %v, want [%s]", got, oldID)
	}
	for _, step := range steps {
		before := c.src.Policies()
		beforeIDs := c.keyIDs("ClusterImagePolicy/release")
		c.putSecret(t, cosignSecret("keys", "release", step.pems...))
		waitFor(t, step.what, func() bool {
			got := c.keyIDs("ClusterImagePolicy/release")
			slices.Sort(got)
			want := slices.Sorted(slices.Values(step.want))
			return slices.Equal(got, want)
		})
		if c.src.Policies() == before || c.src.Policies().Fingerprint() == before.Fingerprint() {
			t.Errorf("%s: the snapshot was not swapped for a new one", step.what)
		}
		var stillBefore []string
		for _, k := range before.Policies()[0].Authorities[0].Keys {
			stillBefore = append(stillBefore, k.ID)
		}
		if !slices.Equal(stillBefore, beforeIDs) {
			t.Errorf("%s: the previous snapshot changed under its readers: %v, was %v", step.what, stillBefore, beforeIDs)
		}
	}
	cond := c.waitReady(t, "", "release", metav1.ConditionTrue, ReasonCompiled, 0)
	waitFor(t, "the status to name only the new key", func() bool {
		cond, _ = c.ready(t, "", "release")
		return strings.Contains(cond.Message, newID) && !strings.Contains(cond.Message, oldID)
	})
}

func TestNamespacedPoliciesStayInTheirNamespace(t *testing.T) {
	t.Parallel()
	key := pkixPEM(t, newECKey(t))
	c := startCluster(t, []string{"*"}, nil,
		cosignSecret("team-a", "keys", key),
		cosignSecret("team-b", "keys", key),
		namespacedPolicy("team-a", "own", secretSpec("ghcr.io/a/**", "", "keys")),
		namespacedPolicy("team-a", "borrow", secretSpec("ghcr.io/b/**", "team-b", "keys")),
	)
	c.waitReady(t, "team-a", "own", metav1.ConditionTrue, ReasonCompiled, 0)
	cond := c.waitReady(t, "team-a", "borrow", metav1.ConditionFalse, ReasonInvalidSpec, 0)
	if !strings.Contains(cond.Message, "may only read Secrets in its own namespace") {
		t.Errorf("Ready message %q does not say why", cond.Message)
	}
	set := c.src.Policies()
	if ps := set.Match("ghcr.io/a/app", "team-a", nil); len(ps) != 1 || ps[0].Name != "ImagePolicy/team-a/own" {
		t.Errorf("in team-a: %v, want ImagePolicy/team-a/own", names(ps))
	}
	for _, ns := range []string{"team-b", "default"} {
		if ps := set.Match("ghcr.io/a/app", ns, nil); len(ps) != 0 {
			t.Errorf("in %s: %v, want no policy: team-a's policies apply to team-a only", ns, names(ps))
		}
	}
	// Only Secrets that policies may read are watched: never team-b's, never a whole namespace.
	for _, a := range c.kube.Actions() {
		if a.GetResource().Resource != "secrets" {
			continue
		}
		if a.GetNamespace() != "team-a" {
			t.Errorf("%s secrets in namespace %q: an ImagePolicy in team-a may not make signet read elsewhere", a.GetVerb(), a.GetNamespace())
		}
		if lw, ok := a.(interface{ GetListOptions() metav1.ListOptions }); ok {
			if sel := lw.GetListOptions().FieldSelector; sel != "metadata.name=keys" {
				t.Errorf("%s secrets with field selector %q, want metadata.name=keys", a.GetVerb(), sel)
			}
		} else if _, ok := a.(clienttesting.GenericAction); !ok && (a.GetVerb() == "list" || a.GetVerb() == "watch") {
			t.Errorf("%s secrets without list options", a.GetVerb())
		}
	}
}

func TestSecretCacheKeepsNoPrivateKeyMaterial(t *testing.T) {
	t.Parallel()
	key := pkixPEM(t, newECKey(t))
	s := cosignSecret("keys", "release", key)
	s.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": fakePrivateKey}
	c := startCluster(t, []string{"keys"}, nil, s, clusterPolicy("p", secretSpec("**", "keys", "release")))
	data, err := c.src.secrets.GetSecretData("keys", "release")
	if err != nil {
		t.Fatal(err)
	}
	if string(data["cosign.pub"]) != key {
		t.Errorf("cosign.pub = %q, want the public key", data["cosign.pub"])
	}
	for _, k := range []string{"cosign.key", "cosign.password"} {
		if v, ok := data[k]; !ok || v != nil {
			t.Errorf("%s: present=%v value=%q; want its name kept and its value dropped", k, ok, v)
		}
	}
	w := c.src.secrets.watchers[secretKey{"keys", "release"}]
	for _, o := range w.informer.GetStore().List() {
		if len(o.(*corev1.Secret).Annotations) != 0 {
			t.Errorf("cached Secret keeps annotations %v", o.(*corev1.Secret).Annotations)
		}
	}
}

func TestPolicyMetricsCountReadiness(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	key := pkixPEM(t, newECKey(t))
	c := startCluster(t, []string{"keys"}, NewMetrics(reg),
		cosignSecret("keys", "release", key),
		clusterPolicy("good", secretSpec("ghcr.io/a/**", "keys", "release")),
		clusterPolicy("missing", secretSpec("ghcr.io/b/**", "keys", "absent")),
		namespacedPolicy("team", "inline", ImagePolicySpec{Images: []ImagePattern{{Glob: "**"}}, Authorities: []Authority{{Key: KeyRef{Data: key}}}}),
	)
	c.waitReady(t, "", "missing", metav1.ConditionFalse, ReasonSecretNotFound, 0)
	want := `
# HELP signet_policy_policies Cluster policies in force, by kind and readiness; a policy that is not ready refuses every image it matches.
# TYPE signet_policy_policies gauge
signet_policy_policies{kind="ClusterImagePolicy",ready="false"} 1
signet_policy_policies{kind="ClusterImagePolicy",ready="true"} 1
signet_policy_policies{kind="ImagePolicy",ready="false"} 0
signet_policy_policies{kind="ImagePolicy",ready="true"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "signet_policy_policies"); err != nil {
		t.Error(err)
	}
}

func TestSnapshotsSwapUnderConcurrentReaders(t *testing.T) {
	t.Parallel()
	keys := []string{pkixPEM(t, newECKey(t)), pkixPEM(t, newECKey(t))}
	c := startCluster(t, []string{"keys"}, nil,
		cosignSecret("keys", "release", keys[0]),
		clusterPolicy("release", secretSpec("ghcr.io/org/**", "keys", "release")),
	)
	files := staticSource{NewSet(mustCompile(t, "file", keys[0]))}
	src := Combine(files, c.src)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads sync.Map
	for r := range 4 {
		wg.Go(func() {
			n := 0
			for {
				select {
				case <-stop:
					reads.Store(r, n)
					return
				default:
				}
				set := src.Policies()
				for _, p := range set.Match("ghcr.io/org/app", "default", nil) {
					// Read everything a verifier reads; -race reports any write to a published snapshot.
					for _, a := range p.Authorities {
						for _, k := range a.Keys {
							_ = k.ID
						}
					}
					_ = p.Fingerprint
				}
				if set.Len() != 2 {
					t.Errorf("a reader saw %d policies, want the file's and the cluster's", set.Len())
				}
				n++
			}
		})
	}
	for i := range 20 {
		c.putSecret(t, cosignSecret("keys", "release", keys[i%2]))
		want := idOf(t, mustParse(t, keys[i%2]))
		waitFor(t, "rotation step", func() bool { return slices.Equal(c.keyIDs("ClusterImagePolicy/release"), []string{want}) })
	}
	close(stop)
	wg.Wait()
	reads.Range(func(k, v any) bool {
		if v.(int) == 0 {
			t.Errorf("reader %v never read", k)
		}
		return true
	})
}

type staticSource struct{ set *Set }

func (s staticSource) Policies() *Set { return s.set }

func mustCompile(t testing.TB, name, pemKey string) *Policy {
	t.Helper()
	p, err := Compile(ImagePolicySpec{Images: []ImagePattern{{Glob: "ghcr.io/**"}}, Authorities: []Authority{{Key: KeyRef{Data: pemKey}}}}, clusterOpts(name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustParse(t testing.TB, pemKey string) any {
	t.Helper()
	ks, err := ParsePublicKeys([]byte(pemKey))
	if err != nil {
		t.Fatal(err)
	}
	return ks[0].Key
}

// TestSecretUpdateToSnapshotLatency logs how long a Secret update takes to reach the snapshot
// the next review reads. It asserts nothing about the time: see BenchmarkSecretUpdateToSnapshot.
func TestSecretUpdateToSnapshotLatency(t *testing.T) {
	t.Parallel()
	keys := []string{pkixPEM(t, newECKey(t)), pkixPEM(t, newECKey(t))}
	c := startCluster(t, []string{"keys"}, nil,
		cosignSecret("keys", "release", keys[0]),
		clusterPolicy("release", secretSpec("ghcr.io/org/**", "keys", "release")),
	)
	var total, worst time.Duration
	const n = 20
	for i := 1; i <= n; i++ {
		want := idOf(t, mustParse(t, keys[i%2]))
		start := time.Now()
		c.putSecret(t, cosignSecret("keys", "release", keys[i%2]))
		waitFor(t, "the new key", func() bool { return slices.Equal(c.keyIDs("ClusterImagePolicy/release"), []string{want}) })
		d := time.Since(start)
		total += d
		worst = max(worst, d)
	}
	t.Logf("Secret update → first review that sees it (fake API server, informer path): mean %s, worst %s over %d updates", total/n, worst, n)
}

// BenchmarkSecretUpdateToSnapshot measures the time from a Secret update to the snapshot that
// the next review reads holding its key, through the fake API server and the real informers.
func BenchmarkSecretUpdateToSnapshot(b *testing.B) {
	keys := []string{pkixPEM(b, newECKey(b)), pkixPEM(b, newECKey(b))}
	ids := []string{idOf(b, mustParse(b, keys[0])), idOf(b, mustParse(b, keys[1]))}
	c := startCluster(b, []string{"keys"}, nil,
		cosignSecret("keys", "release", keys[0]),
		clusterPolicy("release", secretSpec("ghcr.io/org/**", "keys", "release")),
	)
	i := 0
	for b.Loop() {
		i++
		c.putSecret(b, cosignSecret("keys", "release", keys[i%2]))
		for !slices.Equal(c.keyIDs("ClusterImagePolicy/release"), []string{ids[i%2]}) {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

func TestASecretSignetMayNotReadIsNotReadableWithTheAPIServersReason(t *testing.T) {
	t.Parallel()
	c := &testCluster{
		dyn: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
			ClusterImagePolicyResource: "ClusterImagePolicyList",
			ImagePolicyResource:        "ImagePolicyList",
		}, toUnstructured(t, clusterPolicy("p", secretSpec("ghcr.io/**", "keys", "release")))),
		kube: kubefake.NewClientset(cosignSecret("keys", "release", pkixPEM(t, newECKey(t)))),
	}
	// What the API server answers when RBAC does not let signet list the Secret.
	c.kube.PrependReactor("list", "secrets", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("RBAC: access denied"))
	})
	src, err := NewClusterSource(ClusterOptions{Dynamic: c.dyn, Kube: c.kube, SecretNamespaces: []string{"keys"}, SecretSyncTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c.src = src
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = src.Run(ctx) }()
	cond := c.waitReady(t, "", "p", metav1.ConditionFalse, ReasonSecretNotReadable, 0)
	if !strings.Contains(cond.Message, "forbidden") || !strings.Contains(cond.Message, "docs/rbac.md") {
		t.Errorf("Ready message %q does not pass on the API server's answer and where to look", cond.Message)
	}
}
