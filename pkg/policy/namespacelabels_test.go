package policy

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

func TestNamespaceLabelsFollowTheCluster(t *testing.T) {
	t.Parallel()
	// client-go's fake clientset: no API server runs in unit tests (see cluster_helpers_test.go).
	kube := kubefake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"env": "prod"}}})
	n := NewNamespaceLabels(kube)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.Run(ctx)
	waitFor(t, "namespaces synced", n.Synced)
	if l, ok := n.Labels("shop"); !ok || l["env"] != "prod" {
		t.Fatalf("Labels(shop) = %v, %v; want env=prod", l, ok)
	}
	if _, ok := n.Labels("unknown"); ok {
		t.Error("an unknown namespace is reported as known")
	}
	if _, err := kube.CoreV1().Namespaces().Update(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"env": "dev"}}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the relabelled namespace", func() bool { l, _ := n.Labels("shop"); return l["env"] == "dev" })
}

func TestAnUnknownNamespaceGetsEveryPolicyWithALabelSelector(t *testing.T) {
	t.Parallel()
	key := pkixPEM(t, newECKey(t))
	spec := func(sel *metav1.LabelSelector) ImagePolicySpec {
		return ImagePolicySpec{Images: []ImagePattern{{Glob: "ghcr.io/**"}}, NamespaceSelector: sel, Authorities: []Authority{{Key: KeyRef{Data: key}}}}
	}
	prod, err := Compile(spec(&metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}), clusterOpts("prod"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := Compile(spec(nil), clusterOpts("all"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := Compile(spec(nil), CompileOptions{Kind: KindImagePolicy, Namespace: "other", Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	notSystem, err := Compile(spec(&metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"new"}}}}), clusterOpts("not-new"))
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet(prod, all, other, notSystem)
	if got := names(set.Match("ghcr.io/a", "new", nil)); len(got) != 1 {
		t.Errorf("known, unlabelled namespace: %v, want only the policy without a selector", got)
	}
	got := names(set.MatchUnknownNamespace("ghcr.io/a", "new"))
	if len(got) != 2 || got[0] != "ClusterImagePolicy/all" || got[1] != "ClusterImagePolicy/prod" {
		t.Errorf("unknown namespace: %v, want both cluster policies needing labels, not another namespace's, and not one whose selector on the name excludes it", got)
	}
}
