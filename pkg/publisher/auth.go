package publisher

import (
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// BasicAuthKeychain returns a keychain that answers username and password for registry (host or
// host:port, as in image references) and anonymous for every other registry, so that it can lead
// an authn.NewMultiKeychain. It is `--username/--password` of `stacker publish`.
func BasicAuthKeychain(registry, username, password string) authn.Keychain {
	return &basicKeychain{registry: normaliseRegistry(registry), auth: authn.FromConfig(authn.AuthConfig{Username: username, Password: password})}
}

type basicKeychain struct {
	registry string
	auth     authn.Authenticator
}

func (k *basicKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.registry {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}

func normaliseRegistry(s string) string {
	if reg, err := name.NewRegistry(s); err == nil {
		return reg.RegistryStr()
	}
	return s
}
