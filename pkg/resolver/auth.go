package resolver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// DockerConfigKeychain returns a keychain with the credentials of the docker config.json at path,
// re-read when the file changes (checked at most once a second). It reads "auths" entries with
// "auth", "username"/"password", "identitytoken" or "registrytoken"; it never runs credential
// helpers. Keys may be a host ("registry.example:5000"), a URL ("https://index.docker.io/v1/") or a
// host with a repository prefix ("registry.example/team"; the longest matching prefix wins, as in
// Kubernetes pull secrets). It is an error if the file cannot be read or parsed now; later read or
// parse errors keep the last good credentials.
//
// Changed credentials of a registry that has an entry are used at once, wherever the keychain is
// used. A Registry built WithDockerConfig also picks up entries that are new; inside a keychain of
// yours (WithKeychain) a new entry is seen when the Registry renews its connections' credentials,
// within five minutes.
func DockerConfigKeychain(path string) (authn.Keychain, error) {
	return newDockerConfigKeychain(path, defaultConfigRecheck)
}

func newDockerConfigKeychain(path string, recheck time.Duration) (*dockerConfigKeychain, error) {
	k := &dockerConfigKeychain{path: path, recheck: recheck}
	if err := k.load(); err != nil {
		return nil, err
	}
	return k, nil
}

type dockerConfigKeychain struct {
	path    string
	recheck time.Duration

	mu      sync.Mutex
	checked time.Time // last stat
	modTime time.Time // of the loaded file
	size    int64
	auths   dockerAuths
	gen     uint64 // bumped by every successful load
}

// load reads the file; the caller holds mu or has the only reference.
func (k *dockerConfigKeychain) load() error {
	fi, err := os.Stat(k.path)
	if err != nil {
		return fmt.Errorf("reading docker config: %w", err)
	}
	b, err := os.ReadFile(k.path)
	if err != nil {
		return fmt.Errorf("reading docker config: %w", err)
	}
	auths, err := parseDockerConfig(b)
	if err != nil {
		return fmt.Errorf("parsing docker config %s: %w", k.path, err)
	}
	k.auths, k.modTime, k.size, k.checked = auths, fi.ModTime(), fi.Size(), time.Now()
	k.gen++
	return nil
}

// refresh reloads the file when it changed since the last load, at most once per recheck.
func (k *dockerConfigKeychain) refresh() {
	now := time.Now()
	if now.Sub(k.checked) < k.recheck {
		return
	}
	k.checked = now
	fi, err := os.Stat(k.path)
	if err != nil || (fi.ModTime().Equal(k.modTime) && fi.Size() == k.size) {
		return
	}
	_ = k.load() // on error keep the last good credentials; the next check tries again
}

// normaliseAuthKey turns "https://host/v1/", "http://host" or "docker.io" into the form of
// name.Registry.RegistryStr, keeping a repository prefix if there is one.
func normaliseAuthKey(key string) string {
	key = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(key), "https://"), "http://")
	key = strings.TrimSuffix(key, "/")
	for _, suffix := range []string{"/v1", "/v2"} {
		key = strings.TrimSuffix(key, suffix)
	}
	host, rest, _ := strings.Cut(key, "/")
	switch host {
	case "docker.io", "registry-1.docker.io", name.DefaultRegistry:
		host = name.DefaultRegistry
	}
	if rest == "" {
		return host
	}
	return host + "/" + rest
}

// lookup returns the credentials for repository (registry/repo), or false.
func (k *dockerConfigKeychain) lookup(registry, repository string) (authn.AuthConfig, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refresh()
	return k.auths.lookup(registry, repository)
}

// dockerAuths are the "auths" of a docker config, by normalised key (see normaliseAuthKey).
type dockerAuths map[string]authn.AuthConfig

// parseDockerConfig reads the "auths" of a docker config.json, which is also the content of a
// kubernetes.io/dockerconfigjson Secret's .dockerconfigjson.
func parseDockerConfig(b []byte) (dockerAuths, error) {
	var cfg struct {
		Auths map[string]authn.AuthConfig `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, err
	}
	auths := make(dockerAuths, len(cfg.Auths))
	for key, a := range cfg.Auths {
		auths[normaliseAuthKey(key)] = a
	}
	return auths, nil
}

// lookup returns the credentials for repository (registry/repo): the entry with the longest key
// that is the registry, the repository or a prefix of it.
func (d dockerAuths) lookup(registry, repository string) (authn.AuthConfig, bool) {
	best, bestLen := authn.AuthConfig{}, -1
	for key, a := range d {
		if key == registry || key == repository || strings.HasPrefix(repository, key+"/") {
			if len(key) > bestLen {
				best, bestLen = a, len(key)
			}
		}
	}
	return best, bestLen >= 0
}

// Resolve implements authn.Keychain for fixed credentials (a pull secret's): authn.Anonymous for a
// registry without an entry, so that an authn.NewMultiKeychain asks the next keychain.
func (d dockerAuths) Resolve(target authn.Resource) (authn.Authenticator, error) {
	c, ok := d.lookup(target.RegistryStr(), target.String())
	if !ok {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(c), nil
}

// DockerConfigJSONKeychain returns a keychain with the credentials in b, the content of a docker
// config.json or of the .dockerconfigjson key of a kubernetes.io/dockerconfigjson Secret. Entries
// match as in DockerConfigKeychain.
func DockerConfigJSONKeychain(b []byte) (authn.Keychain, error) {
	auths, err := parseDockerConfig(b)
	if err != nil {
		return nil, fmt.Errorf("parsing docker config JSON: %w", err)
	}
	return auths, nil
}

// generation changes whenever the file was reloaded; the Registry renews its Puller then, so that
// every repository's transport picks up the new credentials, including entries that are new.
func (k *dockerConfigKeychain) generation() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refresh()
	return k.gen
}

// Resolve implements authn.Keychain. For a registry without an entry it returns authn.Anonymous,
// so that an authn.NewMultiKeychain asks the next keychain. Otherwise the Authenticator looks the
// credentials up on every use, so that a transport set up before a rotation sends the new ones.
func (k *dockerConfigKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	if _, ok := k.lookup(target.RegistryStr(), target.String()); !ok {
		return authn.Anonymous, nil
	}
	return &dockerConfigAuth{k: k, registry: target.RegistryStr(), repository: target.String()}, nil
}

type dockerConfigAuth struct {
	k                    *dockerConfigKeychain
	registry, repository string
}

func (a *dockerConfigAuth) Authorization() (*authn.AuthConfig, error) {
	c, _ := a.k.lookup(a.registry, a.repository) // removed since: empty, i.e. anonymous
	return &c, nil
}

func (a *dockerConfigAuth) AuthorizationContext(context.Context) (*authn.AuthConfig, error) {
	return a.Authorization()
}
