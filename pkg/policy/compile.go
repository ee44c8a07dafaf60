package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// SecretGetter reads a Secret's data. In cluster mode it is backed by an informer cache, so
// compiling does not call the API server per policy.
type SecretGetter interface {
	GetSecretData(namespace, name string) (map[string][]byte, error)
}

// CompileOptions say what a spec belongs to and how to resolve its key references.
type CompileOptions struct {
	// Kind is KindClusterImagePolicy or KindImagePolicy.
	Kind string
	// Namespace is the ImagePolicy's namespace; empty for a ClusterImagePolicy.
	Namespace string
	// Name is the policy's metadata.name.
	Name string
	// Source says where the policy came from, for messages: "FILE (document N)" or "cluster".
	Source string
	// BaseDir is what relative key.path values are relative to. Default: the working directory.
	BaseDir string
	// Secrets resolves key.secretRef. Nil (policy files): a secretRef is an error.
	Secrets SecretGetter
	// NoKeyPaths refuses key.path. Set for policies from the cluster: a path would make the
	// webhook read its own files on behalf of whoever may write policies.
	NoKeyPaths bool
}

// FieldError is one problem with one field of a policy, e.g. Field "spec.threshold".
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Compile validates spec, applies defaults (mode enforce, pinDigest true, threshold 1, multiArch
// index, failurePolicy closed), reads its keys and returns the compiled policy. Every problem is
// reported, joined with errors.Join; each is a *FieldError naming the field.
func Compile(spec ImagePolicySpec, opts CompileOptions) (*Policy, error) {
	p, errs := compile(spec, opts)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// CompileFailClosed is Compile for policies that must stay in force while broken (those from
// the cluster): it always returns a policy. When spec does not compile, the policy's Err says
// why, its mode is kept when valid (enforce denies, warn warns, audit records) and its failure
// policy is closed, so every image it matches fails it. It matches the images its globs match;
// if any glob is invalid (or none is given) it cannot know what the author meant to cover, so it
// matches every image in its scope (its namespace, or its namespace selector's): a typo refuses
// too much rather than silently admitting what it was written to guard.
func CompileFailClosed(spec ImagePolicySpec, opts CompileOptions) *Policy {
	p, errs := compile(spec, opts)
	if len(errs) == 0 {
		return p
	}
	p.Err = errors.Join(errs...)
	if !slices.Contains([]Mode{ModeEnforce, ModeWarn, ModeAudit}, p.Mode) {
		p.Mode = ModeEnforce
	}
	p.FailurePolicy = FailClosed
	p.matchAll = len(p.globs) == 0 || len(p.globs) != len(spec.Images)
	p.Authorities = nil
	h := sha256.Sum256([]byte("signet broken policy v1\x00" + p.Name + "\x00" + p.Err.Error()))
	p.Fingerprint = hex.EncodeToString(h[:])
	return p
}

// compile returns the policy with whatever compiled, and every problem found.
func compile(spec ImagePolicySpec, opts CompileOptions) (*Policy, []error) {
	p := &Policy{
		Source:        opts.Source,
		Mode:          orDefault(spec.Mode, ModeEnforce),
		PinDigest:     spec.PinDigest == nil || *spec.PinDigest,
		Threshold:     spec.Threshold,
		MultiArch:     orDefault(spec.MultiArch, MultiArchIndex),
		FailurePolicy: orDefault(spec.FailurePolicy, FailClosed),
	}
	if p.Threshold == 0 {
		p.Threshold = 1
	}
	var errs []error
	add := func(err error) { errs = append(errs, err) }

	if opts.Name == "" {
		add(fieldErr("metadata.name", "required"))
	}
	switch opts.Kind {
	case KindClusterImagePolicy:
		p.Name = KindClusterImagePolicy + "/" + opts.Name
		if opts.Namespace != "" {
			add(fieldErr("metadata.namespace", "a ClusterImagePolicy is cluster-scoped; remove the namespace or make it an ImagePolicy"))
		}
	case KindImagePolicy:
		p.Name = KindImagePolicy + "/" + opts.Namespace + "/" + opts.Name
		p.Namespace = opts.Namespace
		if opts.Namespace == "" {
			add(fieldErr("metadata.namespace", "required for an ImagePolicy, which applies to its own namespace only"))
		}
		if spec.NamespaceSelector != nil {
			add(fieldErr("spec.namespaceSelector", "only a ClusterImagePolicy has one; an ImagePolicy applies to its own namespace, so remove it"))
		}
	default:
		add(fieldErr("kind", "%q is neither %s nor %s", opts.Kind, KindClusterImagePolicy, KindImagePolicy))
	}

	if len(spec.Images) == 0 {
		add(fieldErr("spec.images", "at least one image glob is required, e.g. - glob: ghcr.io/org/**"))
	}
	for i, im := range spec.Images {
		g, err := compileGlob(im.Glob)
		if err != nil {
			add(fieldErr(fmt.Sprintf("spec.images[%d].glob %q", i, im.Glob), "%w", err))
			continue
		}
		p.globs = append(p.globs, g)
	}

	if opts.Kind != KindImagePolicy {
		sel, err := compileNamespaceSelector(spec.NamespaceSelector)
		if err != nil {
			add(fieldErr("spec.namespaceSelector", "%w", err))
		}
		p.selector = sel
	}

	if !slices.Contains([]Mode{ModeEnforce, ModeWarn, ModeAudit}, p.Mode) {
		add(fieldErr("spec.mode", "unknown mode %q; use enforce, warn or audit", p.Mode))
	}
	if !slices.Contains([]MultiArch{MultiArchIndex, MultiArchPlatforms, MultiArchAny}, p.MultiArch) {
		add(fieldErr("spec.multiArch", "unknown value %q; use index, platforms or any", p.MultiArch))
	}
	if !slices.Contains([]FailurePolicy{FailClosed, FailOpen}, p.FailurePolicy) {
		add(fieldErr("spec.failurePolicy", "unknown value %q; use closed or open", p.FailurePolicy))
	}

	errs = append(errs, compileAuthorities(p, spec.Authorities, opts)...)

	switch n := len(spec.Authorities); {
	case p.Threshold < 0:
		add(fieldErr("spec.threshold", "%d is negative; use 1 to %d", p.Threshold, max(n, 1)))
	case n > 0 && p.Threshold > n:
		add(fieldErr("spec.threshold", "%d exceeds the %d authorities; lower threshold or add authorities", p.Threshold, n))
	}

	for k, v := range spec.Annotations {
		if strings.TrimSpace(k) == "" {
			add(fieldErr("spec.annotations", "empty key (value %q); every required annotation needs a key", v))
		}
	}
	if len(spec.Annotations) > 0 {
		p.Annotations = make(map[string]string, len(spec.Annotations))
		for k, v := range spec.Annotations {
			p.Annotations[k] = v
		}
	}

	if len(errs) > 0 {
		return p, errs
	}
	fp, err := fingerprint(p)
	if err != nil {
		return p, []error{fmt.Errorf("fingerprinting %s: %w", p.Name, err)}
	}
	p.Fingerprint = fp
	return p, nil
}

func orDefault[T ~string](v, def T) T {
	if v == "" {
		return def
	}
	return v
}

// compileAuthorities reads every authority's keys into p. A key may belong to one authority only:
// the threshold counts distinct authorities, and a shared key would count twice.
func compileAuthorities(p *Policy, auths []Authority, opts CompileOptions) []error {
	var errs []error
	if len(auths) == 0 {
		return []error{fieldErr("spec.authorities", "at least one authority is required, e.g. - key: {path: cosign.pub}")}
	}
	byName := map[string]int{}
	owner := map[string]int{} // key ID → authority index
	for i, a := range auths {
		field := fmt.Sprintf("spec.authorities[%d]", i)
		if a.Name == "" {
			a.Name = fmt.Sprintf("authority-%d", i)
		}
		if j, dup := byName[a.Name]; dup {
			errs = append(errs, fieldErr(field+".name", "%q is also the name of spec.authorities[%d]; authority names must be unique", a.Name, j))
		}
		byName[a.Name] = i
		keys, err := loadKeys(a.Key, field+".key", opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, k := range keys {
			if j, dup := owner[k.ID]; dup {
				errs = append(errs, fieldErr(field+".key", "key %s is also a key of spec.authorities[%d]; the threshold counts distinct authorities, so give each key to one authority only", k.ID, j))
				continue
			}
			owner[k.ID] = i
		}
		p.Authorities = append(p.Authorities, CompiledAuthority{Name: a.Name, Keys: keys})
	}
	return errs
}

// loadKeys reads the keys a KeyRef points at; errors are *FieldError under field.
func loadKeys(ref KeyRef, field string, opts CompileOptions) ([]PublicKey, error) {
	set := 0
	for _, ok := range []bool{ref.Data != "", ref.Path != "", ref.SecretRef != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return nil, fieldErr(field, "set exactly one of data, path or secretRef (%d set)", set)
	}
	switch {
	case ref.Data != "":
		keys, err := ParsePublicKeys([]byte(ref.Data))
		if errors.Is(err, ErrNoPublicKey) {
			return nil, fieldErr(field+".data", "%w; paste the contents of cosign.pub (-----BEGIN PUBLIC KEY----- …)", err)
		}
		if err != nil {
			return nil, fieldErr(field+".data", "%w", err)
		}
		return keys, nil
	case ref.Path != "" && opts.NoKeyPaths:
		return nil, fieldErr(field+".path", "key.path is for policy files only; in the cluster use key.secretRef (or key.data)")
	case ref.Path != "":
		path := ref.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(opts.BaseDir, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("%s.path %q", field, ref.Path), "%w; paths are relative to the policy file", err)
		}
		keys, err := ParsePublicKeys(data)
		if errors.Is(err, ErrNoPublicKey) {
			return nil, fieldErr(fmt.Sprintf("%s.path %q", field, ref.Path), "%w; point it at the public key (cosign.pub), not the private key", err)
		}
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("%s.path %q", field, ref.Path), "%w", err)
		}
		return keys, nil
	default:
		return secretKeys(ref.SecretRef, field+".secretRef", opts)
	}
}

func secretKeys(ref *SecretRef, field string, opts CompileOptions) ([]PublicKey, error) {
	if ref.Name == "" {
		return nil, fieldErr(field+".name", "required")
	}
	ns := ref.Namespace
	switch {
	case opts.Kind == KindImagePolicy && ns != "" && ns != opts.Namespace:
		return nil, fieldErr(field+".namespace", "%q is not the policy's namespace %q; an ImagePolicy may only read Secrets in its own namespace", ns, opts.Namespace)
	case opts.Kind == KindImagePolicy:
		ns = opts.Namespace
	case ns == "":
		return nil, fieldErr(field+".namespace", "required in a ClusterImagePolicy")
	}
	if opts.Secrets == nil {
		return nil, fieldErr(field, "Secrets are read only in cluster mode; in a policy file use key.path or key.data")
	}
	data, err := opts.Secrets.GetSecretData(ns, ref.Name)
	if err != nil {
		return nil, fieldErr(field, "reading Secret %s/%s: %w", ns, ref.Name, err)
	}
	keys, err := KeysFromSecretData(data)
	if err != nil {
		return nil, fieldErr(field, "Secret %s/%s: %w", ns, ref.Name, err)
	}
	return keys, nil
}

// KeysFromSecretData returns the public keys in a Secret's data: every entry is scanned with
// ParsePublicKeys, and entries without a public key (cosign.key, cosign.password) are skipped. So a
// Secret made by `cosign generate-key-pair k8s://NS/NAME` works as is. Errors name entries, never
// their contents.
func KeysFromSecretData(data map[string][]byte) ([]PublicKey, error) {
	names := make([]string, 0, len(data))
	for k := range data {
		names = append(names, k)
	}
	slices.Sort(names)
	var keys []PublicKey
	for _, k := range names {
		ks, err := ParsePublicKeys(data[k])
		if errors.Is(err, ErrNoPublicKey) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("data[%q]: %w", k, err)
		}
		for _, key := range ks {
			if !slices.ContainsFunc(keys, func(o PublicKey) bool { return o.ID == key.ID }) {
				keys = append(keys, key)
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w in any data entry (%s); store the public key, e.g. as cosign.pub", ErrNoPublicKey, strings.Join(names, ", "))
	}
	return keys, nil
}
