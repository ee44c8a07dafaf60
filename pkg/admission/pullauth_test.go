package admission

import (
	"reflect"
	"strings"
	"testing"
)

func TestPodPullAuthReadsTheServiceAccountAndPullSecrets(t *testing.T) {
	t.Parallel()
	const spec = `{"serviceAccountName":"builder","imagePullSecrets":[{"name":"regcred"},{"name":""},{"name":"other"}],"containers":[{"name":"a","image":"a:1"}]}`
	tests := map[string]struct {
		kind, obj string
		want      PullAuth
		err       string
	}{
		"A Pod's service account and pull secrets are read in order.": {
			kind: "Pod", obj: `{"spec":` + spec + `}`,
			want: PullAuth{Namespace: "ns", ServiceAccount: "builder", PullSecrets: []string{"regcred", "other"}},
		},
		"A CronJob's are read from its job template's pod template.": {
			kind: "CronJob", obj: `{"spec":{"jobTemplate":{"spec":{"template":{"spec":` + spec + `}}}}}`,
			want: PullAuth{Namespace: "ns", ServiceAccount: "builder", PullSecrets: []string{"regcred", "other"}},
		},
		"A Deployment without a service account gets the namespace's default one.": {
			kind: "Deployment", obj: `{"spec":{"template":{"spec":{"containers":[]}}}}`,
			want: PullAuth{Namespace: "ns", ServiceAccount: "default"},
		},
		"The deprecated serviceAccount field is honoured when serviceAccountName is empty.": {
			kind: "Pod", obj: `{"spec":{"serviceAccount":"old"}}`,
			want: PullAuth{Namespace: "ns", ServiceAccount: "old"},
		},
		"A template without a spec has the defaults.": {
			kind: "PodTemplate", obj: `{"template":{}}`,
			want: PullAuth{Namespace: "ns", ServiceAccount: "default"},
		},
		"Pull secrets that are not a list are an error naming the field.": {
			kind: "Pod", obj: `{"spec":{"imagePullSecrets":"regcred"}}`, err: "decoding Pod spec",
		},
		"An unknown kind is an error.": {kind: "Service", obj: `{}`, err: `kind "Service" is not one signet reviews`},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			got, err := PodPullAuth(tc.kind, []byte(tc.obj), "ns")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("PodPullAuth error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("PodPullAuth = %+v, want %+v", got, tc.want)
			}
		})
	}
}
