package policy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

const (
	dockerHub       = "docker.io"
	dockerHubLegacy = "index.docker.io"
	dockerLibrary   = "library"
	referenceHelp   = "a valid reference looks like [REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. ghcr.io/org/app:1.2 or nginx"
)

// NormalizeImage parses an image reference and returns it with its canonical repository, the
// string globs are matched against: registry "/" repository path, lower-case registry,
// index.docker.io written as docker.io and Docker Hub's implicit "library/" made explicit
// (nginx → docker.io/library/nginx). The reference is returned as parsed, for fetching.
func NormalizeImage(s string) (name.Reference, string, error) {
	ref, err := name.ParseReference(s, name.WeakValidation)
	if err != nil {
		return nil, "", fmt.Errorf("image %q: %s: %w", s, referenceHelp, err)
	}
	repo := ref.Context()
	// Hosts are case-insensitive: GHCR.IO/org/app must not slip past a ghcr.io/org/** policy.
	reg := strings.ToLower(repo.RegistryStr())
	path := repo.RepositoryStr()
	if strings.ContainsFunc(reg, func(r rune) bool { return !strings.ContainsRune(registryChars, r) }) {
		return nil, "", fmt.Errorf("image %q: registry %q is not a host name (letters, digits, '.', '-', optional :PORT): %s", s, reg, referenceHelp)
	}
	if reg == dockerHubLegacy {
		reg = dockerHub
	}
	if reg == dockerHub && !strings.Contains(path, "/") {
		path = dockerLibrary + "/" + path
	}
	// go-containerregistry accepts any mix of [a-z0-9._-/]; the distribution grammar does not. Paths
	// like org/../evil or a//b could match a glob yet name another repository once a server cleans them.
	for c := range strings.SplitSeq(path, "/") {
		if !validComponent(c) {
			return nil, "", fmt.Errorf("image %q: path component %q is invalid (lower-case letters and digits separated by '.', '_', '__' or '-'): %s", s, c, referenceHelp)
		}
	}
	return ref, reg + "/" + path, nil
}

// validComponent reports whether c matches [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*.
func validComponent(c string) bool {
	i := 0
	for {
		start := i
		for i < len(c) && isLowerAlnum(c[i]) {
			i++
		}
		if i == start {
			return false
		}
		if i == len(c) {
			return true
		}
		switch c[i] {
		case '.':
			i++
		case '_':
			i++
			if i < len(c) && c[i] == '_' {
				i++
			}
		case '-':
			for i < len(c) && c[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

func isLowerAlnum(b byte) bool { return 'a' <= b && b <= 'z' || '0' <= b && b <= '9' }

// Glob matches canonical repositories (see NormalizeImage). `*` matches within one path segment,
// `**` across segments (as a whole segment: zero or more segments), `?` one character other than
// '/'. Globs are anchored at both ends and match every tag and digest of the repositories they name.
type Glob struct {
	pattern string // normalised
	kind    globKind
	lit     string // exact: the repository; prefix: "LITERAL/"; suffix: "/LITERAL"
	re      *regexp.Regexp
}

type globKind uint8

const (
	globExact  globKind = iota // no wildcard
	globPrefix                 // LITERAL/**
	globSuffix                 // **/LITERAL
	globAll                    // **
	globRegexp
)

// CompileGlob normalises pattern the way NormalizeImage normalises images (nginx →
// docker.io/library/nginx, org/app → docker.io/org/app, index.docker.io → docker.io) and compiles it.
// A leading `**` segment is not prefixed with docker.io: `**/nginx` matches nginx in any registry.
func CompileGlob(pattern string) (*Glob, error) {
	g, err := compileGlob(pattern)
	if err != nil {
		return nil, fmt.Errorf("glob %q: %w", pattern, err)
	}
	return g, nil
}

// compileGlob is CompileGlob without the pattern in its errors, for callers that name it already.
func compileGlob(pattern string) (*Glob, error) {
	norm, err := normalizeGlob(pattern)
	if err != nil {
		return nil, err
	}
	g := &Glob{pattern: norm}
	switch {
	case norm == "**":
		g.kind = globAll
	case !strings.ContainsAny(norm, "*?"):
		g.kind, g.lit = globExact, norm
	case strings.HasSuffix(norm, "/**") && !strings.ContainsAny(norm[:len(norm)-3], "*?"):
		g.kind, g.lit = globPrefix, norm[:len(norm)-2]
	case strings.HasPrefix(norm, "**/") && !strings.ContainsAny(norm[3:], "*?"):
		g.kind, g.lit = globSuffix, norm[2:]
	default:
		g.kind = globRegexp
		g.re, err = regexp.Compile(globRegexpSource(norm))
		if err != nil { // unreachable: every literal is quoted
			return nil, err
		}
	}
	return g, nil
}

// Match reports whether repo, a canonical repository from NormalizeImage, matches the glob.
func (g *Glob) Match(repo string) bool {
	switch g.kind {
	case globAll:
		return true
	case globExact:
		return repo == g.lit
	case globPrefix:
		// g.lit ends in '/': ghcr.io/org/** matches ghcr.io/org itself and everything below it.
		return strings.HasPrefix(repo, g.lit) || repo == g.lit[:len(g.lit)-1]
	case globSuffix:
		return strings.HasSuffix(repo, g.lit) || repo == g.lit[1:]
	default:
		return g.re.MatchString(repo)
	}
}

// String returns the normalised pattern, e.g. docker.io/library/nginx for nginx.
func (g *Glob) String() string { return g.pattern }

func normalizeGlob(p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty; write a repository such as ghcr.io/org/app or ghcr.io/org/**")
	}
	if i := strings.IndexByte(p, '@'); i >= 0 {
		return "", fmt.Errorf("globs match repositories; drop the digest %q (a glob matches every tag and digest)", p[i:])
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" {
			return "", fmt.Errorf("empty path segment (leading, trailing or doubled '/')")
		}
	}
	// As for images, a ':' in the last segment starts a tag (localhost:5000 alone is repository
	// localhost, tag 5000).
	if last := segs[len(segs)-1]; strings.IndexByte(last, ':') >= 0 {
		return "", fmt.Errorf("globs match repositories; drop the tag %q (a glob matches every tag and digest)", last[strings.IndexByte(last, ':'):])
	}

	var reg string
	switch {
	case len(segs) > 1 && isRegistryLike(segs[0]):
		reg, segs = strings.ToLower(segs[0]), segs[1:]
		if reg == dockerHubLegacy {
			reg = dockerHub
		}
		if err := checkGlobChars(reg, "registry", registryGlobChars); err != nil {
			return "", err
		}
	case segs[0] == "**":
		// Leading ** spans registries too; nothing to prefix.
	default:
		reg = dockerHub
	}
	if reg == dockerHub && len(segs) == 1 && segs[0] != "**" {
		segs = []string{dockerLibrary, segs[0]}
	}

	out := make([]string, 0, len(segs)+1)
	if reg != "" {
		out = append(out, reg)
	}
	for _, s := range segs {
		if err := checkGlobChars(s, "path segment", pathGlobChars); err != nil {
			return "", err
		}
		if s == "**" && len(out) > 0 && out[len(out)-1] == "**" {
			continue // **/** is **
		}
		out = append(out, s)
	}
	return strings.Join(out, "/"), nil
}

// isRegistryLike applies Docker's rule: a first segment is a registry if it contains '.' or ':'
// or is localhost.
func isRegistryLike(s string) bool {
	return s == "localhost" || strings.ContainsAny(s, ".:")
}

const (
	registryChars     = "abcdefghijklmnopqrstuvwxyz0123456789.-:[]"
	pathGlobChars     = "abcdefghijklmnopqrstuvwxyz0123456789._-*?"
	registryGlobChars = "abcdefghijklmnopqrstuvwxyz0123456789.-:[]*?"
)

func checkGlobChars(s, what, allowed string) error {
	if strings.Contains(s, "***") {
		return fmt.Errorf("%s %q: *** is not a wildcard; use * (within a segment) or ** (across segments)", what, s)
	}
	for _, r := range s {
		if strings.ContainsRune(allowed, r) {
			continue
		}
		if 'A' <= r && r <= 'Z' {
			return fmt.Errorf("%s %q: upper-case letters never appear in repositories; use lower case", what, s)
		}
		return fmt.Errorf("%s %q: character %q is not allowed (use %s)", what, s, r, allowed)
	}
	return nil
}

// globRegexpSource translates a normalised glob into an anchored regular expression.
func globRegexpSource(norm string) string {
	var b strings.Builder
	b.WriteString(`^`)
	segs := strings.Split(norm, "/")
	for i, s := range segs {
		if s == "**" {
			switch {
			case len(segs) == 1:
				b.WriteString(`.*`)
			case i == 0:
				b.WriteString(`(?:[^/]+/)*`) // zero or more leading segments, each with its '/'
			default:
				b.WriteString(`(?:/[^/]+)*`) // zero or more further segments
			}
			continue
		}
		if i > 0 && !(i == 1 && segs[0] == "**") {
			b.WriteByte('/')
		}
		for j := 0; j < len(s); j++ {
			switch {
			case s[j] == '*' && j+1 < len(s) && s[j+1] == '*':
				b.WriteString(`.*`) // ** inside a segment crosses '/'
				j++
			case s[j] == '*':
				b.WriteString(`[^/]*`)
			case s[j] == '?':
				b.WriteString(`[^/]`)
			default:
				b.WriteString(regexp.QuoteMeta(s[j : j+1]))
			}
		}
	}
	b.WriteString(`$`)
	return b.String()
}
