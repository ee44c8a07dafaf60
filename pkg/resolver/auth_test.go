package resolver

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/pkg/reason"
)

// basicAuth is an htpasswd-like fault: every request needs the one user and password it holds.
type basicAuth struct {
	mu         sync.Mutex
	user, pass string
}

func (b *basicAuth) set(user, pass string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.user, b.pass = user, pass
}

func (b *basicAuth) fault(w http.ResponseWriter, r *http.Request, _ int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if u, p, ok := r.BasicAuth(); ok && u == b.user && p == b.pass {
		return false
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="signet-test"`)
	w.WriteHeader(http.StatusUnauthorized)
	return true
}

// writeDockerConfig writes a config.json giving host user:pass, as "auth" or as separate fields.
func writeDockerConfig(t *testing.T, path, host, user, pass string, asAuthField bool) {
	t.Helper()
	entry := fmt.Sprintf(`{"username": %q, "password": %q}`, user, pass)
	if asAuthField {
		entry = fmt.Sprintf(`{"auth": %q}`, base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	}
	cfg := fmt.Sprintf(`{"auths": {"https://%s": %s, "other.example": {"auth": "b3RoZXI6b3RoZXI="}}}`, host, entry)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // atomic, as a Secret volume update is
		t.Fatal(err)
	}
}

func TestDockerConfigCredentials(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	tr.pushImage(t, "app:v1")
	auth := &basicAuth{user: "alice", pass: "s3cret"}

	tests := map[string]struct {
		user, pass  string
		asAuthField bool
		code        reason.Code // "" for success
	}{
		"Credentials given as an auth field are sent.":            {user: "alice", pass: "s3cret", asAuthField: true},
		"Credentials given as username and password are sent.":    {user: "alice", pass: "s3cret"},
		"Wrong credentials are AuthFailed and name the registry.": {user: "alice", pass: "wrong", code: reason.AuthFailed},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			writeDockerConfig(t, path, tr.host, tc.user, tc.pass, tc.asAuthField)
			r := newResolver(t, tr, WithDockerConfig(path))
			tr.arm(auth.fault)
			_, err := r.Resolve(timeoutContext(t, 0), tr.ref(t, "app:v1"))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Resolve: %v", err)
				}
			} else {
				checkReason(t, err, tc.code, "registry "+tr.host+" answered 401 Unauthorized", "check the credentials for "+tr.host)
			}
			if h := tr.count("HEAD", "manifest"); h != 1 {
				t.Errorf("%d manifest HEADs, want 1", h)
			}
		})
	}
	t.Run("Without a docker config the registry is asked anonymously and answers 401.", func(t *testing.T) {
		r := newResolver(t, tr)
		tr.arm(auth.fault)
		_, err := r.Resolve(timeoutContext(t, 0), tr.ref(t, "app:v1"))
		checkReason(t, err, reason.AuthFailed, "answered 401 Unauthorized")
	})
}

func TestRotatedCredentialsAreUsedWithoutRestart(t *testing.T) {
	t.Parallel()
	tr := newTestRegistry(t, false)
	tr.pushImage(t, "app:v1")
	ref := tr.ref(t, "app:v1")
	tests := map[string]struct {
		options func(t *testing.T, path string) []Option
		pings   int
	}{
		"With WithDockerConfig a changed file renews every connection's credentials.": {
			options: func(t *testing.T, path string) []Option {
				return []Option{WithDockerConfig(path), withConfigRecheck(0)}
			},
			pings: 2,
		},
		"Inside a caller's keychain the authenticated connection sends the new credentials.": {
			options: func(t *testing.T, path string) []Option {
				k, err := newDockerConfigKeychain(path, 0)
				if err != nil {
					t.Fatal(err)
				}
				return []Option{WithKeychain(authn.NewMultiKeychain(k))}
			},
			pings: 1,
		},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			auth := &basicAuth{user: "alice", pass: "one"}
			path := filepath.Join(t.TempDir(), "config.json")
			writeDockerConfig(t, path, tr.host, "alice", "one", true)
			r := newResolver(t, tr, append(tc.options(t, path), WithTagTTL(0))...)
			tr.arm(auth.fault)

			if _, err := r.Resolve(timeoutContext(t, 0), ref); err != nil {
				t.Fatalf("with the first credentials: %v", err)
			}
			auth.set("bob", "two") // the registry's password changes …
			_, err := r.Resolve(timeoutContext(t, 0), ref)
			checkReason(t, err, reason.AuthFailed, "answered 401")
			writeDockerConfig(t, path, tr.host, "bob", "two", false) // … and the Secret follows
			if _, err := r.Resolve(timeoutContext(t, 0), ref); err != nil {
				t.Fatalf("after rotating the docker config: %v", err)
			}
			if p := tr.count("GET", "ping"); p != tc.pings {
				t.Errorf("%d pings, want %d", p, tc.pings)
			}
		})
	}
	t.Run("A registry added to the docker config is used without restart.", func(t *testing.T) {
		auth := &basicAuth{user: "carol", pass: "three"}
		path := filepath.Join(t.TempDir(), "config.json")
		writeDockerConfig(t, path, "elsewhere.example", "carol", "three", true)
		r := newResolver(t, tr, WithDockerConfig(path), withConfigRecheck(0), WithTagTTL(0))
		tr.arm(auth.fault)
		_, err := r.Resolve(timeoutContext(t, 0), ref)
		checkReason(t, err, reason.AuthFailed, "answered 401")
		writeDockerConfig(t, path, tr.host, "carol", "three", true)
		if _, err := r.Resolve(timeoutContext(t, 0), ref); err != nil {
			t.Fatalf("after adding the registry: %v", err)
		}
	})
}

func TestDockerConfigKeychainMatching(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.json")
	cfg := `{"auths": {
		"https://index.docker.io/v1/": {"username": "hub", "password": "h"},
		"registry.example:5000": {"username": "reg", "password": "r"},
		"registry.example:5000/team": {"username": "team", "password": "t"},
		"token.example": {"identitytoken": "refresh-me"}
	}}`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := DockerConfigKeychain(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		repo string
		want authn.AuthConfig
	}{
		"Docker Hub's legacy URL key covers images written without a host.": {repo: "library/nginx", want: authn.AuthConfig{Username: "hub", Password: "h"}},
		"A host key covers every repository on it.":                         {repo: "registry.example:5000/app", want: authn.AuthConfig{Username: "reg", Password: "r"}},
		"The longest repository prefix wins.":                               {repo: "registry.example:5000/team/app", want: authn.AuthConfig{Username: "team", Password: "t"}},
		"A prefix matches whole path segments only.":                        {repo: "registry.example:5000/teamwork", want: authn.AuthConfig{Username: "reg", Password: "r"}},
		"An identity token is passed on for the OAuth flow.":                {repo: "token.example/app", want: authn.AuthConfig{IdentityToken: "refresh-me"}},
		"A registry without an entry is anonymous.":                         {repo: "elsewhere.example/app", want: authn.AuthConfig{}},
	}
	for title, tc := range tests {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			repo, err := name.NewRepository(tc.repo)
			if err != nil {
				t.Fatal(err)
			}
			a, err := k.Resolve(repo)
			if err != nil {
				t.Fatal(err)
			}
			got, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			got.Auth = "" // derived from username and password
			if *got != tc.want {
				t.Errorf("credentials for %s = %+v, want %+v", tc.repo, *got, tc.want)
			}
		})
	}
}

func TestDockerConfigMustBeReadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	for title, path := range map[string]string{
		"A missing docker config is an error at start.":     filepath.Join(dir, "missing.json"),
		"An unparsable docker config is an error at start.": bad,
	} {
		t.Run(title, func(t *testing.T) {
			t.Parallel()
			if _, err := New(WithDockerConfig(path)); err == nil {
				t.Errorf("New accepted %s", path)
			}
		})
	}
}
