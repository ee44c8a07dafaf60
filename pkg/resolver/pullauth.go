package resolver

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/google/go-containerregistry/pkg/authn"
)

// PullAuth names the Kubernetes credentials a pod pulls its images with. cmd/webhook fills it from
// the admission request.
type PullAuth struct {
	// Namespace is the pod's namespace; pull secrets are looked up in it only.
	Namespace string
	// ServiceAccount is the pod's service account, whose imagePullSecrets also apply.
	ServiceAccount string
	// PullSecrets are the names of the pod's imagePullSecrets.
	PullSecrets []string
}

// PullSecret is the content of one kubernetes.io/dockerconfigjson Secret.
type PullSecret struct {
	// Name is namespace/name, for messages.
	Name string
	// DockerConfigJSON is the Secret's .dockerconfigjson.
	DockerConfigJSON []byte
}

// PullSecretSource finds the pull secrets of a pod. The pullsecrets package implements it with
// informers over the Kubernetes API.
type PullSecretSource interface {
	// PullSecrets returns the secrets that apply to auth, in the order they are tried: the pod's
	// imagePullSecrets, then its service account's. Secrets that do not exist (yet) are left out.
	// It is called on the admission path and must answer from memory, without I/O.
	PullSecrets(auth PullAuth) []PullSecret
}

// WithPullSecrets makes ResolveFor and RemoteOptionsFor try a pod's pull secrets (found by src)
// before the Registry's own credentials (WithDockerConfig or WithKeychain).
//
// The default is no pull secrets: every pod's images are fetched with the Registry's credentials.
func WithPullSecrets(src PullSecretSource) Option {
	return func(o *options) error {
		if src == nil {
			return errors.New("WithPullSecrets: nil source")
		}
		o.pullSecrets = src
		return nil
	}
}

// credSet is the pull secrets one request may use. Requests with equal secrets share one
// remote.Puller (and so its per-repository tokens).
type credSet struct {
	key     string // hash of the secrets' content
	secrets []PullSecret
}

// credentials returns the pull secrets that apply to auth, or nil when there are none.
func (r *Registry) credentials(auth PullAuth) *credSet {
	if r.opts.pullSecrets == nil || auth.Namespace == "" {
		return nil
	}
	secrets := r.opts.pullSecrets.PullSecrets(auth)
	if len(secrets) == 0 {
		return nil
	}
	h := sha256.New()
	for _, s := range secrets {
		h.Write(s.DockerConfigJSON)
		h.Write([]byte{0})
	}
	return &credSet{key: hex.EncodeToString(h.Sum(nil)), secrets: secrets}
}

// keychain is the pull secrets in order, then the Registry's own credentials. A secret that does
// not parse is skipped, as the kubelet skips it.
func (r *Registry) keychainFor(cs *credSet) authn.Keychain {
	if cs == nil {
		return r.keychain
	}
	ks := make([]authn.Keychain, 0, len(cs.secrets)+1)
	for _, s := range cs.secrets {
		if auths, err := parseDockerConfig(s.DockerConfigJSON); err == nil {
			ks = append(ks, auths)
		}
	}
	return authn.NewMultiKeychain(append(ks, r.keychain)...)
}
