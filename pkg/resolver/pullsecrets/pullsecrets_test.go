package pullsecrets

import (
	"context"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/signet-dev/signet/pkg/resolver"
)

func secret(ns, name string, typ corev1.SecretType, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"}},
		Type:       typ,
		Data:       data,
	}
}

func dockerJSON(s string) map[string][]byte {
	return map[string][]byte{corev1.DockerConfigJsonKey: []byte(s), "extra": []byte("dropped")}
}

// client-go's fake clientset stands in for the API server here: a unit test cannot run one. It
// ignores the field selector on type, so the Source's own type check is tested too. The real API
// server is exercised by the end-to-end tests.
func newSource(t *testing.T) *Source {
	t.Helper()
	client := fake.NewClientset(
		secret("apps", "regcred", corev1.SecretTypeDockerConfigJson, dockerJSON(`{"auths":{"a":{}}}`)),
		secret("apps", "sa-cred", corev1.SecretTypeDockerConfigJson, dockerJSON(`{"auths":{"b":{}}}`)),
		secret("apps", "opaque", corev1.SecretTypeOpaque, dockerJSON(`{"auths":{"c":{}}}`)),
		secret("apps", "empty", corev1.SecretTypeDockerConfigJson, nil),
		secret("other", "regcred", corev1.SecretTypeDockerConfigJson, dockerJSON(`{"auths":{"other":{}}}`)),
		&corev1.ServiceAccount{
			ObjectMeta:       metav1.ObjectMeta{Namespace: "apps", Name: "builder"},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "sa-cred"}, {Name: "regcred"}, {Name: "missing"}},
		},
	)
	s := New(client, 0)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); s.Shutdown() })
	s.Start(ctx)
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := s.WaitForSync(wctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPullSecretsFollowThePodAndItsServiceAccount(t *testing.T) {
	t.Parallel()
	s := newSource(t)
	tests := map[string]struct {
		auth resolver.PullAuth
		want []string // names, then contents' first registry
	}{
		"The pod's own secrets come first, then its service account's, each once.": {
			resolver.PullAuth{Namespace: "apps", ServiceAccount: "builder", PullSecrets: []string{"regcred"}},
			[]string{"apps/regcred", "apps/sa-cred"},
		},
		"A service account alone brings its secrets; missing ones are left out.": {
			resolver.PullAuth{Namespace: "apps", ServiceAccount: "builder"},
			[]string{"apps/sa-cred", "apps/regcred"},
		},
		"Secrets of another type or without .dockerconfigjson are left out.": {
			resolver.PullAuth{Namespace: "apps", ServiceAccount: "default", PullSecrets: []string{"opaque", "empty"}},
			nil,
		},
		"Secrets are looked up in the pod's namespace only.": {
			resolver.PullAuth{Namespace: "other", ServiceAccount: "builder", PullSecrets: []string{"regcred", "sa-cred"}},
			[]string{"other/regcred"},
		},
		"No namespace, no secrets.": {
			resolver.PullAuth{PullSecrets: []string{"regcred"}},
			nil,
		},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, ps := range s.PullSecrets(tc.auth) {
				got = append(got, ps.Name)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("PullSecrets = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOnlyTheDockerConfigIsKeptInMemory(t *testing.T) {
	t.Parallel()
	s := newSource(t)
	sec, err := s.secrets.Secrets("apps").Get("regcred")
	if err != nil {
		t.Fatal(err)
	}
	if len(sec.Annotations) != 0 || len(sec.Data) != 1 || string(sec.Data[corev1.DockerConfigJsonKey]) != `{"auths":{"a":{}}}` {
		t.Errorf("cached secret keeps %v annotations and data keys %v; want only .dockerconfigjson", sec.Annotations, keys(sec.Data))
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
