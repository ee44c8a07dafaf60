package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// Set is an immutable collection of compiled policies, the unit that is swapped when policies
// change. A nil *Set holds no policies.
type Set struct {
	policies    []*Policy // sorted by Name
	fingerprint string
}

// NewSet returns a Set of policies, ordered by Name. Nil policies are dropped.
func NewSet(policies ...*Policy) *Set {
	ps := make([]*Policy, 0, len(policies))
	for _, p := range policies {
		if p != nil {
			ps = append(ps, p)
		}
	}
	slices.SortStableFunc(ps, func(a, b *Policy) int { return strings.Compare(a.Name, b.Name) })
	return &Set{policies: ps, fingerprint: setFingerprint(ps)}
}

// Match returns every policy that applies to repo (a canonical repository from NormalizeImage)
// in namespace, ordered by Name; nil if none. All of them must pass. nsLabels may be nil.
func (s *Set) Match(repo, namespace string, nsLabels map[string]string) []*Policy {
	if s == nil {
		return nil
	}
	var out []*Policy
	for _, p := range s.policies {
		if p.Matches(repo) && p.AppliesTo(namespace, nsLabels) {
			out = append(out, p)
		}
	}
	return out
}

// MatchUnknownNamespace is Match for a namespace whose labels are not known (a namespace the
// cache has not seen yet, or no namespace lookup at all, as with policy files alone): a cluster
// policy whose selector needs labels other than the namespace's name is assumed to apply, so that
// not knowing refuses too much rather than admitting what a policy guards.
func (s *Set) MatchUnknownNamespace(repo, namespace string) []*Policy {
	if s == nil {
		return nil
	}
	var out []*Policy
	for _, p := range s.policies {
		if p.Matches(repo) && (p.Namespace == "" && p.selector.needsLabels || p.AppliesTo(namespace, nil)) {
			out = append(out, p)
		}
	}
	return out
}

// Len returns the number of policies.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.policies)
}

// Policies returns the policies ordered by Name. The slice is a copy; the policies are shared and
// must not be modified.
func (s *Set) Policies() []*Policy {
	if s == nil {
		return nil
	}
	return slices.Clone(s.policies)
}

// Fingerprint is a hex SHA-256 over every policy's name, fingerprint, mode, pinDigest,
// failurePolicy, globs and namespace rule: it changes whenever any decision could.
func (s *Set) Fingerprint() string {
	if s == nil {
		return setFingerprint(nil)
	}
	return s.fingerprint
}

func setFingerprint(ps []*Policy) string {
	h := sha256.New()
	writeString(h, "signet policy set fingerprint v1")
	writeInt(h, len(ps))
	for _, p := range ps {
		writeString(h, p.Name)
		writeString(h, p.Fingerprint)
		writeString(h, string(p.Mode))
		writeString(h, string(p.FailurePolicy))
		if p.PinDigest {
			writeInt(h, 1)
		} else {
			writeInt(h, 0)
		}
		writeString(h, p.Namespace)
		writeString(h, p.selector.String())
		writeInt(h, len(p.globs))
		for _, g := range p.globs {
			writeString(h, g.String())
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
