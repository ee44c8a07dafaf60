package policy

import (
	"crypto"
)

// Policy is a compiled, immutable policy. Everything the request path needs is precomputed here;
// nothing on it does I/O.
type Policy struct {
	// Name identifies the policy in messages: "ClusterImagePolicy/NAME" or "ImagePolicy/NS/NAME".
	Name string
	// Namespace is set for namespaced ImagePolicies; they apply to that namespace only.
	Namespace string
	// Source says where the policy came from, for messages: "FILE (document N)" or "cluster".
	Source string

	Mode          Mode
	PinDigest     bool
	Threshold     int
	Annotations   map[string]string
	MultiArch     MultiArch
	FailurePolicy FailurePolicy
	Authorities   []CompiledAuthority

	// Fingerprint is a hex SHA-256 over everything that affects a verdict (keys, threshold,
	// annotations, multi-arch rule). Verdicts are cached by (image digest, Fingerprint).
	Fingerprint string

	// Err is set on a broken policy from CompileFailClosed (a missing Secret, a Secret without a
	// public key, an invalid field). Such a policy still matches images, and every image it
	// matches fails it with this error: it must never be verified, nor treated as a pass.
	Err error

	globs    []*Glob
	selector namespaceMatcher
	matchAll bool // a broken policy whose image globs could not all be compiled
}

// CompiledAuthority is an authority with its keys parsed.
type CompiledAuthority struct {
	Name string
	Keys []PublicKey
}

// PublicKey is one parsed public key.
type PublicKey struct {
	// Key is *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey.
	Key crypto.PublicKey
	// ID is the first 16 hex characters of the SHA-256 of the key's PKIX DER: stable and safe to log.
	ID string
}

// Matches reports whether repo, a canonical repository from NormalizeImage, matches any of the
// policy's image globs.
func (p *Policy) Matches(repo string) bool {
	if p.matchAll {
		return true
	}
	for _, g := range p.globs {
		if g.Match(repo) {
			return true
		}
	}
	return false
}

// Globs returns the policy's normalised image globs, for messages.
func (p *Policy) Globs() []string {
	out := make([]string, len(p.globs))
	for i, g := range p.globs {
		out[i] = g.String()
	}
	return out
}
