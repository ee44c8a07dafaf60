package policy

import (
	"reflect"
	"testing"
)

func compileFor(t *testing.T, name string, mode Mode, key string, globs ...string) *Policy {
	t.Helper()
	spec := ImagePolicySpec{Mode: mode, Authorities: []Authority{{Key: KeyRef{Data: key}}}}
	for _, g := range globs {
		spec.Images = append(spec.Images, ImagePattern{Glob: g})
	}
	p, err := Compile(spec, clusterOpts(name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSetMatch(t *testing.T) {
	t.Parallel()
	key := pkixPEM(t, newECKey(t))
	c := compileFor(t, "c", "", key, "ghcr.io/org/**")
	a := compileFor(t, "a", "", key, "**")
	b := compileFor(t, "b", "", key, "ghcr.io/other/*", "ghcr.io/org/app")
	set := NewSet(c, nil, a, b)

	tests := map[string]struct {
		repo string
		want []*Policy
	}{
		"Every matching policy is returned, ordered by name.": {"ghcr.io/org/app", []*Policy{a, b, c}},
		"A policy matches if any of its globs does.":          {"ghcr.io/other/x", []*Policy{a, b}},
		"Policies whose globs do not match are left out.":     {"docker.io/library/nginx", []*Policy{a}},
	}
	for desc, tt := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			if got := set.Match(tt.repo, "default", nil); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Match(%q) = %v, want %v", tt.repo, names(got), names(tt.want))
			}
		})
	}
	if set.Len() != 3 {
		t.Errorf("Len() = %d, want 3 (nil policies dropped)", set.Len())
	}
	ps := set.Policies()
	ps[0] = nil
	if set.Policies()[0] != a {
		t.Errorf("Policies() shares its slice with the Set")
	}
}

func TestNilSet(t *testing.T) {
	t.Parallel()
	var s *Set
	if s.Match("docker.io/library/nginx", "default", nil) != nil || s.Len() != 0 || s.Policies() != nil {
		t.Errorf("a nil Set is not empty")
	}
	if s.Fingerprint() != NewSet().Fingerprint() {
		t.Errorf("a nil Set's fingerprint differs from an empty Set's")
	}
}

func TestSetFingerprint(t *testing.T) {
	t.Parallel()
	key := pkixPEM(t, newECKey(t))
	a := compileFor(t, "a", "", key, "**")
	b := compileFor(t, "b", "", key, "ghcr.io/**")
	base := NewSet(a, b).Fingerprint()
	tests := map[string]struct {
		set     *Set
		changes bool
	}{
		"Order of construction does not matter.": {NewSet(b, a), false},
		"The same policies compiled again give the same fingerprint.": {
			NewSet(compileFor(t, "a", "", key, "**"), compileFor(t, "b", "", key, "ghcr.io/**")), false,
		},
		"Another mode changes it.":        {NewSet(a, compileFor(t, "b", ModeWarn, key, "ghcr.io/**")), true},
		"Another glob changes it.":        {NewSet(a, compileFor(t, "b", "", key, "quay.io/**")), true},
		"Another key changes it.":         {NewSet(a, compileFor(t, "b", "", pkixPEM(t, newECKey(t)), "ghcr.io/**")), true},
		"A removed policy changes it.":    {NewSet(a), true},
		"A renamed policy changes it.":    {NewSet(a, compileFor(t, "c", "", key, "ghcr.io/**")), true},
		"An empty set differs from both.": {NewSet(), true},
	}
	for desc, tt := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			if changed := tt.set.Fingerprint() != base; changed != tt.changes {
				t.Errorf("fingerprint changed: %v, want %v", changed, tt.changes)
			}
		})
	}
}

func names(ps []*Policy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func BenchmarkSetMatch(b *testing.B) {
	key := pkixPEM(b, newECKey(b))
	var ps []*Policy
	for _, g := range []string{"ghcr.io/org/**", "docker.io/library/*", "quay.io/*/app-?", "**/nginx", "registry.example.com/team/app"} {
		p, err := Compile(ImagePolicySpec{Images: []ImagePattern{{Glob: g}}, Authorities: []Authority{{Key: KeyRef{Data: key}}}}, clusterOpts(g))
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	set := NewSet(ps...)
	b.ReportAllocs()
	for b.Loop() {
		set.Match("docker.io/library/nginx", "default", nil)
	}
}
