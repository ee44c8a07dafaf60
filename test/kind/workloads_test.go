package kind

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// workloadKinds are the pod-owning kinds, each as a manifest (%[1]s name, %[2]s image) and the
// path to its pod spec's containers.
var workloadKinds = map[string]struct {
	gvr        schema.GroupVersionResource
	manifest   string
	containers []string
}{
	"Deployment": {
		gvr:        schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"},
		manifest:   `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"%[1]s"},"spec":{"selector":{"matchLabels":{"app":"%[1]s"}},"template":{"metadata":{"labels":{"app":"%[1]s"}},"spec":{"containers":[{"name":"app","image":"%[2]s"}]}}}}`,
		containers: []string{"spec", "template", "spec", "containers"},
	},
	"StatefulSet": {
		gvr:        schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"},
		manifest:   `{"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"%[1]s"},"spec":{"serviceName":"%[1]s","selector":{"matchLabels":{"app":"%[1]s"}},"template":{"metadata":{"labels":{"app":"%[1]s"}},"spec":{"containers":[{"name":"app","image":"%[2]s"}]}}}}`,
		containers: []string{"spec", "template", "spec", "containers"},
	},
	"DaemonSet": {
		gvr:        schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"},
		manifest:   `{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"%[1]s"},"spec":{"selector":{"matchLabels":{"app":"%[1]s"}},"template":{"metadata":{"labels":{"app":"%[1]s"}},"spec":{"containers":[{"name":"app","image":"%[2]s"}]}}}}`,
		containers: []string{"spec", "template", "spec", "containers"},
	},
	"ReplicaSet": {
		gvr:        schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"},
		manifest:   `{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"%[1]s"},"spec":{"selector":{"matchLabels":{"app":"%[1]s"}},"template":{"metadata":{"labels":{"app":"%[1]s"}},"spec":{"containers":[{"name":"app","image":"%[2]s"}]}}}}`,
		containers: []string{"spec", "template", "spec", "containers"},
	},
	"Job": {
		gvr:        schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"},
		manifest:   `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"%[1]s"},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"app","image":"%[2]s"}]}}}}`,
		containers: []string{"spec", "template", "spec", "containers"},
	},
	"CronJob": {
		gvr:        schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"},
		manifest:   `{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"%[1]s"},"spec":{"schedule":"0 0 * * *","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"app","image":"%[2]s"}]}}}}}}`,
		containers: []string{"spec", "jobTemplate", "spec", "template", "spec", "containers"},
	},
	"ReplicationController": {
		gvr:        schema.GroupVersionResource{Version: "v1", Resource: "replicationcontrollers"},
		manifest:   `{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"%[1]s"},"spec":{"selector":{"app":"%[1]s"},"template":{"metadata":{"labels":{"app":"%[1]s"}},"spec":{"containers":[{"name":"app","image":"%[2]s"}]}}}}`,
		containers: []string{"spec", "template", "spec", "containers"},
	},
	"PodTemplate": {
		gvr:        schema.GroupVersionResource{Version: "v1", Resource: "podtemplates"},
		manifest:   `{"apiVersion":"v1","kind":"PodTemplate","metadata":{"name":"%[1]s"},"template":{"spec":{"containers":[{"name":"app","image":"%[2]s"}]}}}`,
		containers: []string{"template", "spec", "containers"},
	},
}

func workloadObject(t testing.TB, kind, name, image string) *unstructured.Unstructured {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(fmt.Sprintf(workloadKinds[kind].manifest, name, image)), &obj); err != nil {
		t.Fatalf("%s manifest: %v", kind, err)
	}
	return &unstructured.Unstructured{Object: obj}
}

func firstImage(t testing.TB, obj *unstructured.Unstructured, path []string) string {
	t.Helper()
	cs, _, err := unstructured.NestedSlice(obj.Object, path...)
	if err != nil || len(cs) == 0 {
		t.Fatalf("%s %s has no containers at %v: %v", obj.GetKind(), obj.GetName(), path, err)
	}
	img, _ := cs[0].(map[string]any)["image"].(string)
	return img
}

func testWorkloads(t *testing.T, s *stack) {
	const ns = "e2e-workloads"
	s.namespace(t, ns, nil)
	dyn, err := dynamic.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	for kind, k := range workloadKinds {
		t.Run("A "+kind+" with a signed image is stored with its pod template pinned.", func(t *testing.T) {
			t.Parallel()
			name := "signed-" + strings.ToLower(kind)
			if _, err := dyn.Resource(k.gvr).Namespace(ns).Create(ctxFor(t), workloadObject(t, kind, name, s.tagged("enforce/app")), metav1.CreateOptions{}); err != nil {
				t.Fatalf("creating %s: %v", kind, err)
			}
			stored, err := dyn.Resource(k.gvr).Namespace(ns).Get(ctxFor(t), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := firstImage(t, stored, k.containers); got != s.pinned("enforce/app") {
				t.Errorf("stored %s image is %q, want %q", kind, got, s.pinned("enforce/app"))
			}
		})
		t.Run("A "+kind+" with an unsigned image is denied, naming the template's field path.", func(t *testing.T) {
			t.Parallel()
			name := "unsigned-" + strings.ToLower(kind)
			_, err := dyn.Resource(k.gvr).Namespace(ns).Create(ctxFor(t), workloadObject(t, kind, name, s.tagged("enforce/unsigned")), metav1.CreateOptions{})
			msg := deniedMessage(t, err)
			mustContain(t, "the denial", msg, strings.Join(k.containers, ".")+"[0].image", "no signatures")
			mustBeAbsent(t, "the denied "+kind, func() error {
				_, err := dyn.Resource(k.gvr).Namespace(ns).Get(ctxFor(t), name, metav1.GetOptions{})
				return err
			})
		})
	}
}
