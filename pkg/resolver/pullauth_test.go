package resolver

import (
	"encoding/base64"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/pkg/reason"
)

// secretsByNamespace is a PullSecretSource over fixed data: namespace → secret name → docker
// config JSON, and namespace → service account → its imagePullSecrets. The informer-backed source
// is tested in package pullsecrets.
type secretsByNamespace struct {
	secrets  map[string]map[string]string
	accounts map[string]map[string][]string
	asked    atomic.Int64
}

func (s *secretsByNamespace) PullSecrets(a PullAuth) []PullSecret {
	s.asked.Add(1)
	var out []PullSecret
	for _, n := range append(append([]string{}, a.PullSecrets...), s.accounts[a.Namespace][a.ServiceAccount]...) {
		if data, ok := s.secrets[a.Namespace][n]; ok {
			out = append(out, PullSecret{Name: a.Namespace + "/" + n, DockerConfigJSON: []byte(data)})
		}
	}
	return out
}

func dockerConfigJSON(host, user, pass string) string {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	return fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
}

func TestResolveForUsesThePodsPullSecrets(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	tr.pushImage(t, "private:v1")
	tr.arm((&basicAuth{user: "puller", pass: "s3cret"}).fault)
	good := dockerConfigJSON(tr.host, "puller", "s3cret")
	bad := dockerConfigJSON(tr.host, "puller", "wrong")
	src := &secretsByNamespace{
		secrets: map[string]map[string]string{
			"team-a": {"regcred": good, "stale": bad},
			"team-b": {"sa-cred": good},
		},
		accounts: map[string]map[string][]string{"team-b": {"builder": {"sa-cred"}}},
	}
	tests := map[string]struct {
		auth PullAuth
		ok   bool
	}{
		"A pod's imagePullSecret gets it in.":                           {PullAuth{Namespace: "team-a", ServiceAccount: "default", PullSecrets: []string{"regcred"}}, true},
		"The first secret with an entry for the registry is used.":      {PullAuth{Namespace: "team-a", PullSecrets: []string{"stale", "regcred"}}, false},
		"The service account's imagePullSecrets get it in.":             {PullAuth{Namespace: "team-b", ServiceAccount: "builder"}, true},
		"A secret of the same name in another namespace is not used.":   {PullAuth{Namespace: "team-b", ServiceAccount: "default", PullSecrets: []string{"regcred"}}, false},
		"A pod without pull secrets gets the registry's own (none).":    {PullAuth{Namespace: "team-a", ServiceAccount: "default"}, false},
		"A request without a namespace never looks up secrets.":         {PullAuth{PullSecrets: []string{"regcred"}}, false},
		"A secret whose content is not JSON is skipped, not an outage.": {PullAuth{Namespace: "team-c", PullSecrets: []string{"broken"}}, false},
	}
	src.secrets["team-c"] = map[string]string{"broken": "{not json"}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			// A fresh Registry each: no tag cache shared between the cases.
			r := newResolver(t, tr, WithPullSecrets(src))
			_, err := r.ResolveFor(timeoutContext(t, 0), tr.ref(t, "private:v1"), tc.auth)
			if tc.ok && err != nil {
				t.Fatalf("ResolveFor: %v", err)
			}
			if !tc.ok {
				checkReason(t, err, reason.AuthFailed, "registry "+tr.host+" answered 401 Unauthorized")
			}
		})
	}
}

func TestRemoteOptionsForCarryThePodsPullSecrets(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	img := tr.pushImage(t, "private:v1")
	tr.arm((&basicAuth{user: "puller", pass: "s3cret"}).fault)
	src := &secretsByNamespace{secrets: map[string]map[string]string{"ns": {"regcred": dockerConfigJSON(tr.host, "puller", "s3cret")}}}
	r := newResolver(t, tr, WithPullSecrets(src))
	ref := tr.ref(t, "private@"+mustDigest(t, img.Digest).String())

	ctx := timeoutContext(t, 0)
	if _, err := remote.Get(r.Reference(ref), r.RemoteOptions(ctx)...); err == nil {
		t.Error("reading with the registry's own (no) credentials succeeded")
	}
	if _, err := remote.Get(r.Reference(ref), r.RemoteOptionsFor(ctx, PullAuth{Namespace: "ns", PullSecrets: []string{"regcred"}})...); err != nil {
		t.Errorf("reading with the pod's pull secret: %v", err)
	}
}

func TestLookupsWithDifferentSecretsDoNotShareAFailure(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	tr.pushImage(t, "private:v1")
	tr.arm((&basicAuth{user: "puller", pass: "s3cret"}).fault)
	src := &secretsByNamespace{secrets: map[string]map[string]string{"ns": {"regcred": dockerConfigJSON(tr.host, "puller", "s3cret")}}}
	r := newResolver(t, tr, WithPullSecrets(src))
	ref := tr.ref(t, "private:v1")

	// Without credentials: refused, and the failure is not cached.
	_, err := r.ResolveFor(timeoutContext(t, 0), ref, PullAuth{Namespace: "other"})
	checkReason(t, err, reason.AuthFailed)
	// With them: resolved, and the answer (a digest) is cached by tag for everyone.
	want, err := r.ResolveFor(timeoutContext(t, 0), ref, PullAuth{Namespace: "ns", PullSecrets: []string{"regcred"}})
	if err != nil {
		t.Fatalf("ResolveFor with the secret: %v", err)
	}
	got, err := r.ResolveFor(timeoutContext(t, 0), ref, PullAuth{Namespace: "other"})
	if err != nil || got != want {
		t.Errorf("ResolveFor from the tag cache = %v, %v; want %v", got, err, want)
	}
}
