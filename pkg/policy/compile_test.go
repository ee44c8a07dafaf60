package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// secretStore stands in for the informer-backed SecretGetter of cluster mode: no API server runs
// in unit tests. Keys are "namespace/name".
type secretStore map[string]map[string][]byte

func (s secretStore) GetSecretData(namespace, name string) (map[string][]byte, error) {
	d, ok := s[namespace+"/"+name]
	if !ok {
		return nil, fmt.Errorf("secret %s/%s not found", namespace, name)
	}
	return d, nil
}

func clusterOpts(name string) CompileOptions {
	return CompileOptions{Kind: KindClusterImagePolicy, Name: name, Source: "test"}
}

func TestCompileDefaults(t *testing.T) {
	t.Parallel()
	key := newECKey(t)
	p, err := Compile(ImagePolicySpec{
		Images:      []ImagePattern{{Glob: "nginx"}, {Glob: "ghcr.io/org/**"}},
		Authorities: []Authority{{Key: KeyRef{Data: pkixPEM(t, key)}}},
	}, clusterOpts("prod"))
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{
		Name: "ClusterImagePolicy/prod", Source: "test",
		Mode: ModeEnforce, PinDigest: true, Threshold: 1, MultiArch: MultiArchIndex, FailurePolicy: FailClosed,
	}
	got := Policy{
		Name: p.Name, Namespace: p.Namespace, Source: p.Source,
		Mode: p.Mode, PinDigest: p.PinDigest, Threshold: p.Threshold, MultiArch: p.MultiArch, FailurePolicy: p.FailurePolicy,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if len(p.Authorities) != 1 || p.Authorities[0].Name != "authority-0" || len(p.Authorities[0].Keys) != 1 || p.Authorities[0].Keys[0].ID != idOf(t, key) {
		t.Errorf("authorities = %+v", p.Authorities)
	}
	if g := p.Globs(); !reflect.DeepEqual(g, []string{"docker.io/library/nginx", "ghcr.io/org/**"}) {
		t.Errorf("Globs() = %q", g)
	}
	if len(p.Fingerprint) != 64 {
		t.Errorf("Fingerprint = %q, want 64 hex characters", p.Fingerprint)
	}
	if !p.Matches("ghcr.io/org/a/b") || p.Matches("ghcr.io/other/a") {
		t.Errorf("Matches disagrees with the globs %q", p.Globs())
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := newECKey(t), newECKey(t)
	pemA, pemB := pkixPEM(t, a), pkixPEM(t, b)
	if err := os.WriteFile(filepath.Join(dir, "cosign.key"), []byte(fakePrivateKey), 0o600); err != nil {
		t.Fatal(err)
	}
	valid := func() ImagePolicySpec {
		return ImagePolicySpec{
			Images:      []ImagePattern{{Glob: "ghcr.io/org/**"}},
			Authorities: []Authority{{Name: "a", Key: KeyRef{Data: pemA}}, {Name: "b", Key: KeyRef{Data: pemB}}},
		}
	}
	tests := map[string]struct {
		edit  func(*ImagePolicySpec, *CompileOptions)
		wants []string
	}{
		"A policy without a name is rejected.": {
			edit:  func(_ *ImagePolicySpec, o *CompileOptions) { o.Name = "" },
			wants: []string{"metadata.name: required"},
		},
		"An unknown kind is rejected.": {
			edit:  func(_ *ImagePolicySpec, o *CompileOptions) { o.Kind = "Policy" },
			wants: []string{`kind: "Policy" is neither ClusterImagePolicy nor ImagePolicy`},
		},
		"A ClusterImagePolicy with a namespace is rejected.": {
			edit:  func(_ *ImagePolicySpec, o *CompileOptions) { o.Namespace = "team" },
			wants: []string{"metadata.namespace: a ClusterImagePolicy is cluster-scoped"},
		},
		"An ImagePolicy without a namespace is rejected.": {
			edit:  func(_ *ImagePolicySpec, o *CompileOptions) { o.Kind = KindImagePolicy },
			wants: []string{"metadata.namespace: required for an ImagePolicy"},
		},
		"An ImagePolicy with a namespace selector is rejected.": {
			edit: func(s *ImagePolicySpec, o *CompileOptions) {
				o.Kind, o.Namespace = KindImagePolicy, "team"
				s.NamespaceSelector = &metav1.LabelSelector{}
			},
			wants: []string{"spec.namespaceSelector: only a ClusterImagePolicy has one"},
		},
		"An invalid namespace selector is rejected.": {
			edit: func(s *ImagePolicySpec, _ *CompileOptions) {
				s.NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: "Near"}}}
			},
			wants: []string{"spec.namespaceSelector: ", "Near"},
		},
		"A policy without images is rejected.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Images = nil },
			wants: []string{"spec.images: at least one image glob is required"},
		},
		"A bad glob names its index and pattern.": {
			edit: func(s *ImagePolicySpec, _ *CompileOptions) {
				s.Images = append(s.Images, ImagePattern{Glob: "ghcr.io/org/app:1"})
			},
			wants: []string{`spec.images[1].glob "ghcr.io/org/app:1": globs match repositories; drop the tag ":1"`},
		},
		"A policy without authorities is rejected.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities = nil },
			wants: []string{"spec.authorities: at least one authority is required"},
		},
		"An authority without a key is rejected.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities[1].Key = KeyRef{} },
			wants: []string{"spec.authorities[1].key: set exactly one of data, path or secretRef (0 set)"},
		},
		"An authority with two key sources is rejected.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities[1].Key.Path = "b.pub" },
			wants: []string{"spec.authorities[1].key: set exactly one of data, path or secretRef (2 set)"},
		},
		"Key data without a public key says what to paste.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities[0].Key.Data = fakePrivateKey },
			wants: []string{"spec.authorities[0].key.data: no PUBLIC KEY PEM block found; paste the contents of cosign.pub"},
		},
		"A weak key names its authority.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities[1].Key.Data = pkixPEM(t, rsaKeys()[1024]) },
			wants: []string{"spec.authorities[1].key.data: PUBLIC KEY block 1: RSA key of 1024 bits is too weak"},
		},
		"A missing key file names the path as written.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities[1].Key = KeyRef{Path: "keys/missing.pub"} },
			wants: []string{`spec.authorities[1].key.path "keys/missing.pub": open `, "no such file"},
		},
		"A key path to the private key says to use the public key.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities[1].Key = KeyRef{Path: "cosign.key"} },
			wants: []string{`spec.authorities[1].key.path "cosign.key": no PUBLIC KEY PEM block found; point it at the public key (cosign.pub)`},
		},
		"A secretRef in a policy file needs cluster mode.": {
			edit: func(s *ImagePolicySpec, _ *CompileOptions) {
				s.Authorities[1].Key = KeyRef{SecretRef: &SecretRef{Name: "keys", Namespace: "signet"}}
			},
			wants: []string{"spec.authorities[1].key.secretRef: Secrets are read only in cluster mode; in a policy file use key.path or key.data"},
		},
		"A secretRef without a name is rejected.": {
			edit: func(s *ImagePolicySpec, _ *CompileOptions) {
				s.Authorities[1].Key = KeyRef{SecretRef: &SecretRef{Namespace: "signet"}}
			},
			wants: []string{"spec.authorities[1].key.secretRef.name: required"},
		},
		"A ClusterImagePolicy's secretRef needs a namespace.": {
			edit: func(s *ImagePolicySpec, _ *CompileOptions) {
				s.Authorities[1].Key = KeyRef{SecretRef: &SecretRef{Name: "keys"}}
			},
			wants: []string{"spec.authorities[1].key.secretRef.namespace: required in a ClusterImagePolicy"},
		},
		"An ImagePolicy may not read another namespace's Secret.": {
			edit: func(s *ImagePolicySpec, o *CompileOptions) {
				o.Kind, o.Namespace = KindImagePolicy, "team"
				s.Authorities[1].Key = KeyRef{SecretRef: &SecretRef{Name: "keys", Namespace: "kube-system"}}
			},
			wants: []string{`spec.authorities[1].key.secretRef.namespace: "kube-system" is not the policy's namespace "team"`},
		},
		"The same key in two authorities is rejected.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities[1].Key.Data = pemB + pemA },
			wants: []string{"spec.authorities[1].key: key " + idOf(t, a) + " is also a key of spec.authorities[0]"},
		},
		"Two authorities of the same name are rejected.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities[1].Name = "a" },
			wants: []string{`spec.authorities[1].name: "a" is also the name of spec.authorities[0]`},
		},
		"A threshold above the number of authorities is rejected.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Threshold = 3 },
			wants: []string{"spec.threshold: 3 exceeds the 2 authorities; lower threshold or add authorities"},
		},
		"A negative threshold is rejected.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Threshold = -1 },
			wants: []string{"spec.threshold: -1 is negative; use 1 to 2"},
		},
		"An unknown mode is rejected.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Mode = "deny" },
			wants: []string{`spec.mode: unknown mode "deny"; use enforce, warn or audit`},
		},
		"An unknown multi-arch rule is rejected.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.MultiArch = "all" },
			wants: []string{`spec.multiArch: unknown value "all"; use index, platforms or any`},
		},
		"An unknown failure policy is rejected.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.FailurePolicy = "ignore" },
			wants: []string{`spec.failurePolicy: unknown value "ignore"; use closed or open`},
		},
		"An empty annotation key is rejected.": {
			edit:  func(s *ImagePolicySpec, _ *CompileOptions) { s.Annotations = map[string]string{"": "x"} },
			wants: []string{"spec.annotations: empty key"},
		},
		"Every problem is reported, not only the first.": {
			edit: func(s *ImagePolicySpec, _ *CompileOptions) {
				s.Mode, s.Threshold, s.Images = "deny", 5, nil
			},
			wants: []string{"spec.mode: ", "spec.threshold: ", "spec.images: "},
		},
	}
	for desc, tt := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			spec, opts := valid(), clusterOpts("prod")
			opts.BaseDir = dir
			tt.edit(&spec, &opts)
			p, err := Compile(spec, opts)
			if err == nil {
				t.Fatalf("compiled %s, want an error", p.Name)
			}
			assertContains(t, err, tt.wants...)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error is not a *FieldError: %v", err)
			}
			if strings.Contains(err.Error(), fakePrivateKeyBody) {
				t.Errorf("error leaks the private key: %v", err)
			}
		})
	}
}

func TestCompileKeyPathIsRelativeToBaseDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := newECKey(t)
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", "cosign.pub"), []byte(pkixPEM(t, key)), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := clusterOpts("p")
	opts.BaseDir = dir
	p, err := Compile(ImagePolicySpec{
		Images:      []ImagePattern{{Glob: "**"}},
		Authorities: []Authority{{Key: KeyRef{Path: "keys/cosign.pub"}}, {Key: KeyRef{Path: filepath.Join(dir, "keys", "cosign.pub")}}},
	}, opts)
	// The same file twice is the same key twice: rejected, which shows both paths were read.
	assertContains(t, err, "spec.authorities[1].key: key "+idOf(t, key))
	if p != nil {
		t.Errorf("got a policy with an error")
	}
}

func TestCompileSecretRef(t *testing.T) {
	t.Parallel()
	a, b := newECKey(t), newECKey(t)
	store := secretStore{
		"team/cosign": { // as `cosign generate-key-pair k8s://team/cosign` makes it
			"cosign.key":      []byte(fakePrivateKey),
			"cosign.password": []byte("hunter2"),
			"cosign.pub":      []byte(pkixPEM(t, a)),
		},
		"team/rotating": {"old.pub": []byte(pkixPEM(t, a)), "new.pub": []byte(pkixPEM(t, b))},
		"team/private":  {"cosign.key": []byte(fakePrivateKey), "cosign.password": []byte("hunter2")},
	}
	opts := CompileOptions{Kind: KindImagePolicy, Namespace: "team", Name: "p", Source: "cluster", Secrets: store}
	spec := func(secret string) ImagePolicySpec {
		return ImagePolicySpec{
			Images:      []ImagePattern{{Glob: "ghcr.io/team/**"}},
			Authorities: []Authority{{Name: "ci", Key: KeyRef{SecretRef: &SecretRef{Name: secret}}}},
		}
	}

	p, err := Compile(spec("cosign"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if k := p.Authorities[0].Keys; len(k) != 1 || k[0].ID != idOf(t, a) {
		t.Errorf("keys from a cosign Secret = %+v, want only cosign.pub", k)
	}
	if p.Name != "ImagePolicy/team/p" || p.Namespace != "team" {
		t.Errorf("Name, Namespace = %q, %q", p.Name, p.Namespace)
	}

	p, err = Compile(spec("rotating"), opts)
	if err != nil {
		t.Fatal(err)
	}
	if k := p.Authorities[0].Keys; len(k) != 2 {
		t.Errorf("keys from a Secret with two public keys = %+v, want both", k)
	}

	_, err = Compile(spec("private"), opts)
	assertContains(t, err, "spec.authorities[0].key.secretRef: Secret team/private: no PUBLIC KEY PEM block found in any data entry (cosign.key, cosign.password)")
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), fakePrivateKeyBody) {
		t.Errorf("error leaks a secret: %v", err)
	}

	_, err = Compile(spec("absent"), opts)
	assertContains(t, err, "spec.authorities[0].key.secretRef: reading Secret team/absent: secret team/absent not found")
}

func TestAppliesTo(t *testing.T) {
	t.Parallel()
	key := pkixPEM(t, newECKey(t))
	compile := func(t *testing.T, kind, ns string, sel *metav1.LabelSelector) *Policy {
		t.Helper()
		p, err := Compile(ImagePolicySpec{
			Images:            []ImagePattern{{Glob: "**"}},
			NamespaceSelector: sel,
			Authorities:       []Authority{{Key: KeyRef{Data: key}}},
		}, CompileOptions{Kind: kind, Namespace: ns, Name: "p"})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	prodOnly := &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	byName := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"kube-system"}},
	}}
	tests := map[string]struct {
		kind, policyNS string
		sel            *metav1.LabelSelector
		ns             string
		labels         map[string]string
		want           bool
	}{
		"A cluster policy without a selector applies everywhere.":        {kind: KindClusterImagePolicy, ns: "anything", want: true},
		"An empty selector applies everywhere.":                          {kind: KindClusterImagePolicy, sel: &metav1.LabelSelector{}, ns: "x", want: true},
		"A selector matches the namespace's labels.":                     {kind: KindClusterImagePolicy, sel: prodOnly, ns: "shop", labels: map[string]string{"env": "prod"}, want: true},
		"A selector does not match other labels.":                        {kind: KindClusterImagePolicy, sel: prodOnly, ns: "shop", labels: map[string]string{"env": "dev"}, want: false},
		"A selector does not match a namespace without labels.":          {kind: KindClusterImagePolicy, sel: prodOnly, ns: "shop", want: false},
		"A selector on the name label works without labels.":             {kind: KindClusterImagePolicy, sel: byName, ns: "shop", want: true},
		"A selector on the name label excludes the named namespace.":     {kind: KindClusterImagePolicy, sel: byName, ns: "kube-system", want: false},
		"The name label cannot be spoofed by the labels passed in.":      {kind: KindClusterImagePolicy, sel: byName, ns: "kube-system", labels: map[string]string{"kubernetes.io/metadata.name": "shop"}, want: false},
		"A namespaced policy applies to its namespace.":                  {kind: KindImagePolicy, policyNS: "team", ns: "team", want: true},
		"A namespaced policy does not apply to another namespace.":       {kind: KindImagePolicy, policyNS: "team", ns: "other", want: false},
		"A namespaced policy does not apply when no namespace is known.": {kind: KindImagePolicy, policyNS: "team", ns: "", want: false},
	}
	for desc, tt := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			p := compile(t, tt.kind, tt.policyNS, tt.sel)
			if got := p.AppliesTo(tt.ns, tt.labels); got != tt.want {
				t.Errorf("AppliesTo(%q, %v) = %v, want %v", tt.ns, tt.labels, got, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	a, b, c := pkixPEM(t, newECKey(t)), pkixPEM(t, newECKey(t)), pkixPEM(t, newECKey(t))
	base := func() ImagePolicySpec {
		return ImagePolicySpec{
			Images:      []ImagePattern{{Glob: "ghcr.io/org/**"}},
			Authorities: []Authority{{Name: "ci", Key: KeyRef{Data: a + b}}, {Name: "release", Key: KeyRef{Data: c}}},
			Annotations: map[string]string{"team": "shop", "tier": "1"},
		}
	}
	no := false
	tests := map[string]struct {
		edit    func(*ImagePolicySpec, *CompileOptions)
		changes bool
	}{
		"Another key changes it.":                        {func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities[1].Key.Data = pkixPEM(t, newECKey(t)) }, true},
		"A removed key changes it.":                      {func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities[0].Key.Data = a }, true},
		"Another threshold changes it.":                  {func(s *ImagePolicySpec, _ *CompileOptions) { s.Threshold = 2 }, true},
		"Another annotation value changes it.":           {func(s *ImagePolicySpec, _ *CompileOptions) { s.Annotations["tier"] = "2" }, true},
		"An added annotation changes it.":                {func(s *ImagePolicySpec, _ *CompileOptions) { s.Annotations["x"] = "" }, true},
		"Another multi-arch rule changes it.":            {func(s *ImagePolicySpec, _ *CompileOptions) { s.MultiArch = MultiArchPlatforms }, true},
		"A renamed authority changes it.":                {func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities[0].Name = "build" }, true},
		"Another mode does not change it.":               {func(s *ImagePolicySpec, _ *CompileOptions) { s.Mode = ModeWarn }, false},
		"pinDigest does not change it.":                  {func(s *ImagePolicySpec, _ *CompileOptions) { s.PinDigest = &no }, false},
		"failurePolicy does not change it.":              {func(s *ImagePolicySpec, _ *CompileOptions) { s.FailurePolicy = FailOpen }, false},
		"The policy's name does not change it.":          {func(_ *ImagePolicySpec, o *CompileOptions) { o.Name = "other" }, false},
		"Key order within an authority does not matter.": {func(s *ImagePolicySpec, _ *CompileOptions) { s.Authorities[0].Key.Data = b + a }, false},
		"Authority order does not matter.": {func(s *ImagePolicySpec, _ *CompileOptions) {
			s.Authorities[0], s.Authorities[1] = s.Authorities[1], s.Authorities[0]
		}, false},
		"An explicit default threshold does not change it.": {func(s *ImagePolicySpec, _ *CompileOptions) { s.Threshold = 1 }, false},
	}
	want, err := Compile(base(), clusterOpts("p"))
	if err != nil {
		t.Fatal(err)
	}
	for desc, tt := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			spec, opts := base(), clusterOpts("p")
			tt.edit(&spec, &opts)
			p, err := Compile(spec, opts)
			if err != nil {
				t.Fatal(err)
			}
			if changed := p.Fingerprint != want.Fingerprint; changed != tt.changes {
				t.Errorf("fingerprint changed: %v, want %v", changed, tt.changes)
			}
		})
	}
}
