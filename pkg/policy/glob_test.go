package policy

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestNormalizeImage(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		image, want string
		digest      bool
	}{
		"A bare name is a Docker Hub official image.":          {image: "nginx", want: "docker.io/library/nginx"},
		"A tag is not part of the repository.":                 {image: "nginx:1.27", want: "docker.io/library/nginx"},
		"library/ is written out on Docker Hub.":               {image: "library/nginx", want: "docker.io/library/nginx"},
		"docker.io/name gets library/.":                        {image: "docker.io/nginx", want: "docker.io/library/nginx"},
		"index.docker.io is written as docker.io.":             {image: "index.docker.io/library/nginx:1", want: "docker.io/library/nginx"},
		"A user repository on Docker Hub gets docker.io.":      {image: "bitnami/redis:7", want: "docker.io/bitnami/redis"},
		"A registry with a dot is kept.":                       {image: "ghcr.io/org/app:v1", want: "ghcr.io/org/app"},
		"A registry with a port and a digest.":                 {image: "localhost:5000/a/b@" + digest, want: "localhost:5000/a/b", digest: true},
		"localhost without a port is a registry.":              {image: "localhost/app", want: "localhost/app"},
		"A registry's case does not matter.":                   {image: "GHCR.IO/org/app", want: "ghcr.io/org/app"},
		"An upper-case Docker Hub host is still Docker Hub.":   {image: "Docker.IO/nginx", want: "docker.io/library/nginx"},
		"An IP registry with a port.":                          {image: "127.0.0.1:5000/x", want: "127.0.0.1:5000/x"},
		"A tag and a digest together keep the digest.":         {image: "registry.example.com:8443/team/sub/app:1@" + digest, want: "registry.example.com:8443/team/sub/app", digest: true},
		"Separators inside a path component are allowed.":      {image: "ghcr.io/my-org/app_x__y.z--w", want: "ghcr.io/my-org/app_x__y.z--w"},
		"A first segment without a dot is part of the path.":   {image: "team/sub/app", want: "docker.io/team/sub/app"},
		"Deep paths on a private registry keep every segment.": {image: "r.example/a/b/c/d:latest", want: "r.example/a/b/c/d"},
	}
	for desc, tt := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			ref, repo, err := NormalizeImage(tt.image)
			if err != nil {
				t.Fatalf("NormalizeImage(%q): %v", tt.image, err)
			}
			if repo != tt.want {
				t.Errorf("NormalizeImage(%q) = %q, want %q", tt.image, repo, tt.want)
			}
			if _, isDigest := ref.(name.Digest); isDigest != tt.digest {
				t.Errorf("NormalizeImage(%q) returned %T", tt.image, ref)
			}
		})
	}
}

func TestNormalizeImageErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"An empty reference is rejected.":                       "",
		"Upper case in the path is rejected.":                   "Nginx",
		"An empty path segment is rejected.":                    "ghcr.io/org//app",
		"A .. path segment is rejected, however it is spelled.": "ghcr.io/allowed/../evil",
		"A component must start with a letter or digit.":        "ghcr.io/-org/app",
		"A URL scheme is rejected.":                             "https://ghcr.io/org/app",
		"An empty tag is rejected.":                             "nginx:",
		"A short digest is rejected.":                           "ghcr.io/org/app@sha256:abc",
		"White space is rejected.":                              " nginx",
		"An underscore in a host name is rejected.":             "my_registry.example/app",
	}
	for desc, image := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			_, repo, err := NormalizeImage(image)
			if err == nil {
				t.Fatalf("NormalizeImage(%q) = %q, want an error", image, repo)
			}
			assertContains(t, err, "image "+quote(image), "valid reference looks like")
		})
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func TestGlobMatch(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		glob, repo string
		want       bool
	}{
		"A bare name matches the official image.":                  {"nginx", "docker.io/library/nginx", true},
		"A bare name does not match a user's image of that name.":  {"nginx", "docker.io/someone/nginx", false},
		"index.docker.io in a glob means docker.io.":               {"index.docker.io/library/nginx", "docker.io/library/nginx", true},
		"docker.io/name in a glob gets library/.":                  {"docker.io/nginx", "docker.io/library/nginx", true},
		"user/repo in a glob is on Docker Hub.":                    {"bitnami/redis", "docker.io/bitnami/redis", true},
		"user/repo in a glob is not on another registry.":          {"bitnami/redis", "ghcr.io/bitnami/redis", false},
		"* matches one segment.":                                   {"ghcr.io/org/*", "ghcr.io/org/app", true},
		"* does not cross a slash.":                                {"ghcr.io/org/*", "ghcr.io/org/team/app", false},
		"* does not match zero segments.":                          {"ghcr.io/org/*", "ghcr.io/org", false},
		"** matches several segments.":                             {"ghcr.io/org/**", "ghcr.io/org/team/app", true},
		"** matches one segment.":                                  {"ghcr.io/org/**", "ghcr.io/org/app", true},
		"A trailing ** matches zero segments.":                     {"ghcr.io/org/**", "ghcr.io/org", true},
		"A trailing ** does not match a longer segment.":           {"ghcr.io/org/**", "ghcr.io/organisation/app", false},
		"A middle ** matches zero segments.":                       {"ghcr.io/**/app", "ghcr.io/app", true},
		"A middle ** matches several segments.":                    {"ghcr.io/**/app", "ghcr.io/a/b/app", true},
		"A middle ** still anchors the last segment.":              {"ghcr.io/**/app", "ghcr.io/a/b/app2", false},
		"A leading ** spans registries.":                           {"**/nginx", "quay.io/x/nginx", true},
		"A leading ** matches Docker Hub too.":                     {"**/nginx", "docker.io/library/nginx", true},
		"A leading ** still anchors the end.":                      {"**/nginx", "docker.io/library/nginx-evil", false},
		"A leading ** matches whole segments only.":                {"**/nginx", "docker.io/library/my-nginx", false},
		"A leading ** before a wildcard segment.":                  {"**/team/app-*", "quay.io/a/team/app-x", true},
		"A leading ** before a wildcard segment is anchored.":      {"**/team/app-*", "quay.io/a/team/app-x/y", false},
		"** alone matches everything.":                             {"**", "localhost:5000/a/b/c", true},
		"* alone is an official Docker Hub image.":                 {"*", "docker.io/library/redis", true},
		"* alone is not every image.":                              {"*", "ghcr.io/org/app", false},
		"* within a segment matches a suffix.":                     {"ghcr.io/org/app-*", "ghcr.io/org/app-api", true},
		"* within a segment does not cross a slash.":               {"ghcr.io/org/app-*", "ghcr.io/org/app-api/x", false},
		"? matches one character.":                                 {"ghcr.io/org/app?", "ghcr.io/org/app1", true},
		"? does not match two characters.":                         {"ghcr.io/org/app?", "ghcr.io/org/app12", false},
		"? does not match zero characters.":                        {"ghcr.io/org/app?", "ghcr.io/org/app", false},
		"? does not match a slash.":                                {"ghcr.io/org?app", "ghcr.io/org/app", false},
		"A glob is anchored at the start.":                         {"ghcr.io/org/app", "evil.io/ghcr.io/org/app", false},
		"A wildcard glob is anchored at the start.":                {"ghcr.io/org/*", "x.ghcr.io/org/app", false},
		"A glob is anchored at the end.":                           {"ghcr.io/org/app", "ghcr.io/org/app/sub", false},
		"A wildcard glob is anchored at the end.":                  {"ghcr.io/*/app", "ghcr.io/org/app2", false},
		"A glob without a registry is not another registry.":       {"org/app", "ghcr.io/org/app", false},
		"A localhost registry with a port.":                        {"localhost:5000/**", "localhost:5000/a/b", true},
		"Another port is another registry.":                        {"localhost:5000/**", "localhost:5001/a", false},
		"A wildcard port.":                                         {"localhost:*/app", "localhost:5000/app", true},
		"localhost alone is a registry.":                           {"localhost/app", "localhost/app", true},
		"A wildcard sub-domain.":                                   {"*.gcr.io/**", "eu.gcr.io/p/app", true},
		"A wildcard sub-domain needs the dot.":                     {"*.gcr.io/**", "gcr.io/p/app", false},
		"A dot in a glob is literal.":                              {"ghcr.io/org/a.*", "ghcr.io/org/abc", false},
		"An upper-case registry in a glob is lower-cased.":         {"GHCR.io/org/**", "ghcr.io/org/app", true},
		"** inside a segment crosses slashes.":                     {"ghcr.io/org-**", "ghcr.io/org-a/b", true},
		"docker.io/** covers all of Docker Hub.":                   {"docker.io/**", "docker.io/bitnami/redis", true},
		"docker.io/** does not cover other registries.":            {"docker.io/**", "ghcr.io/bitnami/redis", false},
		"docker.io/* is the official images, as docker.io/x is.":   {"docker.io/*", "docker.io/library/redis", true},
		"Repeated ** segments are one.":                            {"ghcr.io/**/**/app", "ghcr.io/app", true},
		"An exact glob on a private registry with a port matches.": {"registry.example.com:8443/team/app", "registry.example.com:8443/team/app", true},
	}
	for desc, tt := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			g, err := CompileGlob(tt.glob)
			if err != nil {
				t.Fatalf("CompileGlob(%q): %v", tt.glob, err)
			}
			if got := g.Match(tt.repo); got != tt.want {
				t.Errorf("CompileGlob(%q) (%s).Match(%q) = %v, want %v", tt.glob, g, tt.repo, got, tt.want)
			}
		})
	}
}

func TestGlobString(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ glob, want string }{
		"A bare name gets docker.io/library/.":      {"nginx", "docker.io/library/nginx"},
		"A user repository gets docker.io/.":        {"bitnami/*", "docker.io/bitnami/*"},
		"index.docker.io becomes docker.io.":        {"index.docker.io/org/**", "docker.io/org/**"},
		"A leading ** is left alone.":               {"**/nginx", "**/nginx"},
		"A registry's case is normalised.":          {"Quay.IO/org/app", "quay.io/org/app"},
		"Consecutive ** segments collapse into one": {"ghcr.io/**/**", "ghcr.io/**"},
	}
	for desc, tt := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			g, err := CompileGlob(tt.glob)
			if err != nil {
				t.Fatal(err)
			}
			if g.String() != tt.want {
				t.Errorf("CompileGlob(%q).String() = %q, want %q", tt.glob, g, tt.want)
			}
		})
	}
}

func TestCompileGlobErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ glob, want string }{
		"An empty glob is rejected.":                 {"", "empty"},
		"A tag is rejected.":                         {"ghcr.io/org/app:1.0", `drop the tag ":1.0"`},
		"A tag on a bare name is rejected.":          {"nginx:latest", `drop the tag ":latest"`},
		"A tag glob is rejected.":                    {"ghcr.io/org/app:v*", "globs match repositories"},
		"A digest is rejected.":                      {"ghcr.io/org/app@" + digest, "drop the digest"},
		"Upper case in a path is rejected.":          {"ghcr.io/Org/app", "use lower case"},
		"*** is rejected.":                           {"ghcr.io/org/***", "*** is not a wildcard"},
		"A space is rejected.":                       {"ghcr.io/org/app name", "is not allowed"},
		"A character class is not supported.":        {"ghcr.io/org/[ab]", "is not allowed"},
		"A doubled slash is rejected.":               {"ghcr.io//app", "empty path segment"},
		"A trailing slash is rejected.":              {"ghcr.io/org/", "empty path segment"},
		"A leading slash is rejected.":               {"/org/app", "empty path segment"},
		"A URL is rejected.":                         {"https://ghcr.io/org/app", "empty path segment"},
		"A bad character in a registry is rejected.": {"ghcr_io.x/org/app", "is not allowed"},
	}
	for desc, tt := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			g, err := CompileGlob(tt.glob)
			if err == nil {
				t.Fatalf("CompileGlob(%q) = %s, want an error", tt.glob, g)
			}
			assertContains(t, err, "glob "+quote(tt.glob), tt.want)
		})
	}
}

func TestGlobMatchDoesNotAllocate(t *testing.T) {
	for _, pattern := range []string{"ghcr.io/org/app", "ghcr.io/org/**", "**", "ghcr.io/*/app-?", "**/nginx"} {
		g, err := CompileGlob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { g.Match("ghcr.io/org/team/app-1") }); n > 0 {
			t.Errorf("%s: Match allocates %v times per call", pattern, n)
		}
	}
}

func BenchmarkGlobMatch(b *testing.B) {
	for _, pattern := range []string{"ghcr.io/org/app", "ghcr.io/org/**", "ghcr.io/*/app-?", "**/nginx"} {
		g, err := CompileGlob(pattern)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(pattern, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				g.Match("ghcr.io/org/team/app-1")
			}
		})
	}
}

func BenchmarkNormalizeImage(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := NormalizeImage("ghcr.io/org/app:1.2"); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzCompileGlob(f *testing.F) {
	for _, s := range []string{"nginx", "ghcr.io/org/**", "**/nginx", "**", "*", "localhost:5000/a/*", "a/**/b?", "docker.io/*", "x:1", "a//b", "***", "[::1]:5000/x"} {
		f.Add(s, "docker.io/library/nginx")
		f.Add(s, "ghcr.io/org")
	}
	f.Fuzz(func(t *testing.T, pattern, repo string) {
		g, err := CompileGlob(pattern)
		if err != nil {
			return
		}
		// Match is only ever given canonical repositories (NormalizeImage's); on other strings
		// (an empty segment, a newline) the fast paths and the translation may differ harmlessly.
		if _, canon, err := NormalizeImage(repo); err != nil || canon != repo {
			return
		}
		// The fast paths agree with the general translation.
		re := regexp.MustCompile(globRegexpSource(g.String()))
		if got, want := g.Match(repo), re.MatchString(repo); got != want {
			t.Fatalf("CompileGlob(%q) (%s).Match(%q) = %v, the regular expression %s says %v", pattern, g, repo, got, re, want)
		}
		// The normalised form compiles to itself.
		again, err := CompileGlob(g.String())
		if err != nil {
			t.Fatalf("CompileGlob(%q) = %q, which does not compile: %v", pattern, g, err)
		}
		if again.String() != g.String() {
			t.Fatalf("normalising %q twice gives %q, then %q", pattern, g, again)
		}
	})
}

func FuzzNormalizeImage(f *testing.F) {
	for _, s := range []string{"nginx", "nginx:1", "ghcr.io/org/app@" + digest, "localhost:5000/a/b:c", "Docker.io/x", "[::1]:5000/a", "a/../b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, image string) {
		_, repo, err := NormalizeImage(image)
		if err != nil {
			return
		}
		// A canonical repository is a glob that matches exactly itself.
		g, err := CompileGlob(repo)
		if err != nil {
			t.Fatalf("NormalizeImage(%q) = %q, which is not a glob: %v", image, repo, err)
		}
		if !g.Match(repo) {
			t.Fatalf("glob %q does not match itself", repo)
		}
	})
}
