package registryfaults

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/internal/testregistry"
	"github.com/signet-dev/signet/pkg/admission"
	"github.com/signet-dev/signet/pkg/policy"
	"github.com/signet-dev/signet/pkg/resolver"
)

// secretsIn is a PullSecretSource over fixed Secrets of one namespace (name → docker config
// JSON). It stands in for pullsecrets.Source, which needs an API server and is tested on its own.
type secretsIn struct {
	namespace string
	secrets   map[string]string
}

func (s secretsIn) PullSecrets(a resolver.PullAuth) []resolver.PullSecret {
	var out []resolver.PullSecret
	for _, n := range a.PullSecrets {
		if data, ok := s.secrets[n]; ok && a.Namespace == s.namespace {
			out = append(out, resolver.PullSecret{Name: a.Namespace + "/" + n, DockerConfigJSON: []byte(data)})
		}
	}
	return out
}

func TestTheRealRegistryWithTLSAndAuthThroughTheWebhook(t *testing.T) {
	t.Parallel()
	reg := testregistry.Start(t, testregistry.Options{Username: "signet", Password: "s3cret"})
	k := newKeys(t)
	push := []remote.Option{
		remote.WithTransport(reg.Client().Transport),
		remote.WithAuth(&authn.Basic{Username: reg.Username, Password: reg.Password}),
	}
	pushSigned(t, reg.Host, "apps/app:v1", k, push...)
	image := reg.Host + "/apps/app:v1"
	ps := policies(t, reg.Host, k.pub, policy.FailClosed)

	goodConfig := reg.DockerConfig(t, t.TempDir())
	wrong := *reg
	wrong.Password = "not-it"
	wrongConfig := wrong.DockerConfig(t, t.TempDir())
	secretJSON := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.Host, base64.StdEncoding.EncodeToString([]byte("signet:s3cret")))

	tests := map[string]struct {
		opts        []resolver.Option
		pullSecrets []string
		allowed     bool
		text        []string
	}{
		"Docker-config credentials and the CA bundle file admit the signed image.": {
			opts: []resolver.Option{resolver.WithCABundleFile(reg.CAFile), resolver.WithDockerConfig(goodConfig)}, allowed: true,
		},
		"The CA given for this registry alone is enough.": {
			opts: []resolver.Option{resolver.WithRegistryCA(reg.Host, reg.CAPEM), resolver.WithDockerConfig(goodConfig)}, allowed: true,
		},
		"A wrong password is an auth failure naming the registry.": {
			opts: []resolver.Option{resolver.WithCABundleFile(reg.CAFile), resolver.WithDockerConfig(wrongConfig)},
			text: []string{"registry auth failed", "registry " + reg.Host + " answered 401 Unauthorized"},
		},
		"No credentials at all is an auth failure too.": {
			opts: []resolver.Option{resolver.WithCABundleFile(reg.CAFile)},
			text: []string{"registry auth failed", "registry " + reg.Host},
		},
		"A registry whose CA is not trusted is a TLS failure naming it.": {
			opts: []resolver.Option{resolver.WithDockerConfig(goodConfig)},
			text: []string{"registry TLS failure", "TLS with registry " + reg.Host + " failed"},
		},
		"The pod's imagePullSecret admits it: tag and signatures are read with it.": {
			opts:        []resolver.Option{resolver.WithCABundleFile(reg.CAFile), resolver.WithPullSecrets(secretsIn{"apps", map[string]string{"regcred": secretJSON}})},
			pullSecrets: []string{"regcred"}, allowed: true,
		},
		"A pod without the pull secret is refused by the registry.": {
			opts: []resolver.Option{resolver.WithCABundleFile(reg.CAFile), resolver.WithPullSecrets(secretsIn{"apps", map[string]string{"regcred": secretJSON}})},
			text: []string{"registry auth failed", "registry " + reg.Host + " answered 401 Unauthorized"},
		},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, ps, tc.opts...)
			resp, text := review(t, s, admission.Validate, request("Pod", "apps", podJSON("apps", tc.pullSecrets, image)), defaultDeadline)
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %t, want %t: %s", resp.Allowed, tc.allowed, text)
			}
			for _, f := range tc.text {
				if !containsText(text, f) {
					t.Errorf("answer lacks %q:\n%s", f, text)
				}
			}
		})
	}
}
