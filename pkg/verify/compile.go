package verify

import (
	"errors"
	"fmt"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/pkg/policy"
)

// authority is a policy authority with its keys turned into signature verifiers.
type authority struct {
	name string
	keys []key
}

type key struct {
	id        string
	verifiers []signature.Verifier
}

// compile checks that p can be evaluated and prepares its keys. A policy that cannot be evaluated
// is an error, never a panic and never a pass.
func compile(p *policy.Policy) ([]authority, int, error) {
	if p == nil {
		return nil, 0, errors.New("no policy")
	}
	if len(p.Authorities) == 0 {
		return nil, 0, errors.New("policy has no authorities")
	}
	switch p.MultiArch {
	case "", policy.MultiArchIndex, policy.MultiArchPlatforms, policy.MultiArchAny:
	default:
		return nil, 0, fmt.Errorf("unknown multi-arch rule %q; use index, platforms or any", p.MultiArch)
	}
	threshold := max(p.Threshold, 1)
	if threshold > len(p.Authorities) {
		return nil, 0, fmt.Errorf("threshold %d exceeds the %d authorities", threshold, len(p.Authorities))
	}
	auths := make([]authority, len(p.Authorities))
	owner := map[string]string{} // key ID → authority name
	for i, a := range p.Authorities {
		name := a.Name
		if name == "" {
			name = fmt.Sprintf("authority-%d", i)
		}
		if len(a.Keys) == 0 {
			return nil, 0, fmt.Errorf("authority %s has no keys", name)
		}
		auths[i].name = name
		for j, k := range a.Keys {
			id := keyID(k)
			vs, err := keyVerifiers(k.Key)
			if err != nil {
				return nil, 0, fmt.Errorf("authority %s key %d (%s): %w", name, j, id, err)
			}
			// With a threshold above one, a key shared by two authorities would let one signer
			// satisfy both.
			if other, dup := owner[id]; dup && other != name && threshold > 1 {
				return nil, 0, fmt.Errorf("key %s belongs to authorities %s and %s; a threshold counts distinct signers", id, other, name)
			}
			owner[id] = name
			auths[i].keys = append(auths[i].keys, key{id: id, verifiers: vs})
		}
	}
	return auths, threshold, nil
}
