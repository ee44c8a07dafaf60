package policy

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ci, release := newECKey(t), newECKey(t)
	writeFile(t, filepath.Join(dir, "keys", "ci.pub"), pkixPEM(t, ci))
	policies := filepath.Join(dir, "policies.yaml")
	writeFile(t, policies, `# Policies for the shop.
---
apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata:
  name: prod
spec:
  images:
  - glob: ghcr.io/org/**
  namespaceSelector:
    matchLabels: {env: prod}
  authorities:
  - name: ci
    key:
      path: keys/ci.pub
  - name: release
    key:
      data: |
`+indent(pkixPEM(t, release), "        ")+`  threshold: 2
  annotations:
    approved: "yes"
--- # an empty document is skipped
---
apiVersion: policy.signet.dev/v1alpha1
kind: ImagePolicy
metadata: {name: team, namespace: shop}
spec:
  mode: warn
  pinDigest: false
  images: [{glob: nginx}]
  authorities: [{key: {path: keys/ci.pub}}]
`)
	// A directory: its *.yaml and *.yml files are read, with key paths relative to each file.
	more := filepath.Join(dir, "more")
	writeFile(t, filepath.Join(more, "keys", "ci.pub"), pkixPEM(t, ci))
	writeFile(t, filepath.Join(more, "README.md"), "not a policy")
	writeFile(t, filepath.Join(more, "all.yml"), `apiVersion: policy.signet.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: all}
spec:
  images: [{glob: "**"}]
  mode: audit
  authorities: [{key: {path: keys/ci.pub}}]
`)

	set, err := LoadFiles(policies, more, policies) // a file named twice is read once
	if err != nil {
		t.Fatal(err)
	}
	var names, sources []string
	for _, p := range set.Policies() {
		names = append(names, p.Name)
		sources = append(sources, p.Source)
	}
	if want := []string{"ClusterImagePolicy/all", "ClusterImagePolicy/prod", "ImagePolicy/shop/team"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %q, want %q", names, want)
	}
	wantSources := []string{filepath.Join(more, "all.yml") + " (document 1)", policies + " (document 1)", policies + " (document 2)"}
	if !reflect.DeepEqual(sources, wantSources) {
		t.Errorf("sources = %q, want %q", sources, wantSources)
	}

	prod := set.Policies()[1]
	if prod.Threshold != 2 || len(prod.Authorities) != 2 || prod.Authorities[0].Keys[0].ID != idOf(t, ci) || prod.Authorities[1].Keys[0].ID != idOf(t, release) {
		t.Errorf("prod = %+v", prod)
	}
	if !reflect.DeepEqual(prod.Annotations, map[string]string{"approved": "yes"}) {
		t.Errorf("annotations = %q", prod.Annotations)
	}
	team := set.Policies()[2]
	if team.Mode != ModeWarn || team.PinDigest {
		t.Errorf("team: mode %q, pinDigest %v", team.Mode, team.PinDigest)
	}

	got := func(repo, ns string, labels map[string]string) []string {
		var out []string
		for _, p := range set.Match(repo, ns, labels) {
			out = append(out, p.Name)
		}
		return out
	}
	if g := got("ghcr.io/org/app", "shop", map[string]string{"env": "prod"}); !reflect.DeepEqual(g, []string{"ClusterImagePolicy/all", "ClusterImagePolicy/prod"}) {
		t.Errorf("ghcr.io/org/app in shop (prod): %q", g)
	}
	if g := got("docker.io/library/nginx", "shop", nil); !reflect.DeepEqual(g, []string{"ClusterImagePolicy/all", "ImagePolicy/shop/team"}) {
		t.Errorf("nginx in shop: %q", g)
	}
	if g := got("docker.io/library/nginx", "other", nil); !reflect.DeepEqual(g, []string{"ClusterImagePolicy/all"}) {
		t.Errorf("nginx in other: %q", g)
	}
}

func TestLoadFilesErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "keys", "a.pub"), pkixPEM(t, newECKey(t)))
	writeFile(t, filepath.Join(dir, "keys", "b.pub"), pkixPEM(t, newECKey(t)))
	const head = "apiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: prod}\n"
	const valid = head + "spec:\n  images: [{glob: ghcr.io/org/**}]\n  authorities: [{key: {path: keys/a.pub}}]\n"
	const otherValid = "apiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: other}\nspec:\n  images: [{glob: '**'}]\n  authorities: [{key: {path: keys/b.pub}}]\n"
	tests := map[string]struct {
		yaml  string
		wants []string // each must appear, after "policies.yaml "
	}{
		"A threshold above the authorities names file, document, policy and field.": {
			yaml:  otherValid + "---\n" + head + "spec:\n  images: [{glob: ghcr.io/org/**}]\n  threshold: 3\n  authorities:\n  - key: {path: keys/a.pub}\n  - key: {path: keys/b.pub}\n",
			wants: []string{`(document 2, ClusterImagePolicy "prod"): spec.threshold: 3 exceeds the 2 authorities; lower threshold or add authorities`},
		},
		"A misspelt field is named with its path and the known fields.": {
			yaml:  head + "spec:\n  images: [{glob: ghcr.io/org/**}]\n  authorities: [{key: {paht: keys/a.pub}}]\n",
			wants: []string{`(document 1, ClusterImagePolicy "prod"): spec.authorities[0].key.paht: unknown field; spec.authorities[0].key has data, path, secretRef`},
		},
		"Field names are case-sensitive.": {
			yaml:  valid + "  Threshold: 1\n",
			wants: []string{`(document 1, ClusterImagePolicy "prod"): spec.Threshold: unknown field`},
		},
		"A misspelt metadata field is named.": {
			yaml:  strings.Replace(valid, "{name: prod}", "{name: prod, namespce: x}", 1),
			wants: []string{`(document 1, ClusterImagePolicy "prod"): metadata.namespce: unknown field`},
		},
		"A wrong type names the field.": {
			yaml:  valid + "  threshold: two\n",
			wants: []string{`(document 1, ClusterImagePolicy "prod"): spec.threshold: got a string, want an integer`},
		},
		"A YAML boolean where a string is wanted must be quoted.": {
			yaml:  valid + "  annotations: {approved: yes}\n",
			wants: []string{`(document 1, ClusterImagePolicy "prod"): spec.annotations["approved"]: got a boolean, want a string; quote the value`},
		},
		"A YAML number where a string is wanted must be quoted.": {
			yaml:  valid + "  annotations: {version: 1.10}\n",
			wants: []string{`(document 1, ClusterImagePolicy "prod"): spec.annotations["version"]: got a number, want a string; quote the value`},
		},
		"Another apiVersion is rejected.": {
			yaml:  strings.Replace(valid, "v1alpha1", "v1", 1),
			wants: []string{`(document 1, ClusterImagePolicy "prod"): apiVersion: "policy.signet.dev/v1" is not policy.signet.dev/v1alpha1`},
		},
		"Another kind is rejected.": {
			yaml:  strings.Replace(valid, "kind: ClusterImagePolicy", "kind: Pod", 1),
			wants: []string{`(document 1): kind: "Pod" is neither ClusterImagePolicy nor ImagePolicy`},
		},
		"A document without apiVersion or kind says both.": {
			yaml:  "metadata: {name: x}\n",
			wants: []string{`(document 1): apiVersion: "" is not`, `(document 1): kind: ""`},
		},
		"Broken YAML is reported.": {
			yaml:  head + "spec: [unclosed\n",
			wants: []string{`(document 1): invalid YAML`},
		},
		"A duplicate key is reported.": {
			yaml:  valid + "  mode: warn\n  mode: audit\n",
			wants: []string{`(document 1): invalid YAML`, `"mode"`},
		},
		"A document that is not a mapping is reported.": {
			yaml:  "- a\n- b\n",
			wants: []string{`(document 1): not a mapping`},
		},
		"An ImagePolicy needs a namespace.": {
			yaml:  strings.Replace(valid, "kind: ClusterImagePolicy", "kind: ImagePolicy", 1),
			wants: []string{`(document 1, ImagePolicy "prod"): metadata.namespace: required for an ImagePolicy`},
		},
		"A secretRef needs cluster mode.": {
			yaml:  head + "spec:\n  images: [{glob: ghcr.io/org/**}]\n  authorities: [{key: {secretRef: {name: k, namespace: signet}}}]\n",
			wants: []string{`(document 1, ClusterImagePolicy "prod"): spec.authorities[0].key.secretRef: Secrets are read only in cluster mode`},
		},
		"A missing key file is named as written, relative to the policy file.": {
			yaml:  strings.Replace(valid, "keys/a.pub", "keys/nope.pub", 1),
			wants: []string{`(document 1, ClusterImagePolicy "prod"): spec.authorities[0].key.path "keys/nope.pub": open {dir}/keys/nope.pub: no such file or directory; paths are relative to the policy file`},
		},
		"A bad glob is named with its index.": {
			yaml:  strings.Replace(valid, "ghcr.io/org/**", "ghcr.io/org/app:1", 1),
			wants: []string{`(document 1, ClusterImagePolicy "prod"): spec.images[0].glob "ghcr.io/org/app:1": globs match repositories; drop the tag ":1"`},
		},
		"Errors in several documents are all reported.": {
			yaml: strings.Replace(valid, "{name: prod}", "{name: one}", 1) + "  mode: deny\n---\n" + otherValid + "---\n" + head + "spec:\n  images: []\n  authorities: [{key: {path: keys/a.pub}}]\n",
			wants: []string{
				`(document 1, ClusterImagePolicy "one"): spec.mode: unknown mode "deny"`,
				`(document 3, ClusterImagePolicy "prod"): spec.images: at least one image glob is required`,
			},
		},
		"Empty documents are not counted.": {
			yaml:  "---\n# nothing\n---\n\n---\n" + otherValid + "---\n" + valid + "  mode: deny\n",
			wants: []string{`(document 2, ClusterImagePolicy "prod"): spec.mode`},
		},
		"Two policies of one name in one file are rejected.": {
			yaml:  valid + "---\n" + strings.Replace(valid, "keys/a.pub", "keys/b.pub", 1),
			wants: []string{`(document 2, ClusterImagePolicy "prod"): metadata.name: ClusterImagePolicy/prod is also defined in `, `policies.yaml (document 1, ClusterImagePolicy "prod"); rename one`},
		},
		"A file without documents is rejected.": {
			yaml:  "# only a comment\n",
			wants: []string{`: no policy documents`},
		},
	}
	for desc, tt := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			sub := t.TempDir()
			if err := os.Symlink(filepath.Join(dir, "keys"), filepath.Join(sub, "keys")); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(sub, "policies.yaml")
			writeFile(t, path, tt.yaml)
			set, err := LoadFiles(path)
			if err == nil {
				t.Fatalf("loaded %d policies, want an error", set.Len())
			}
			for _, w := range tt.wants {
				if strings.HasPrefix(w, "(") {
					w = path + " " + w
				}
				w = strings.ReplaceAll(w, "{dir}", sub)
				assertContains(t, err, w)
			}
			// Every line of the joined error names the file.
			for line := range strings.SplitSeq(err.Error(), "\n") {
				if !strings.HasPrefix(line, path) {
					t.Errorf("error line does not start with the file name: %q", line)
				}
			}
		})
	}
}

func TestLoadFilesAcrossFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := pkixPEM(t, newECKey(t))
	doc := "apiVersion: policy.signet.dev/v1alpha1\nkind: ClusterImagePolicy\nmetadata: {name: prod}\nspec:\n  images: [{glob: '**'}]\n  authorities:\n  - key:\n      data: |\n" + indent(key, "        ")
	writeFile(t, filepath.Join(dir, "a.yaml"), doc)
	writeFile(t, filepath.Join(dir, "b.yml"), doc)
	writeFile(t, filepath.Join(dir, "empty", "README"), "")

	_, err := LoadFiles(dir)
	assertContains(t, err, filepath.Join(dir, "b.yml")+` (document 1, ClusterImagePolicy "prod"): metadata.name: ClusterImagePolicy/prod is also defined in `+filepath.Join(dir, "a.yaml")+" (document 1")

	_, err = LoadFiles(filepath.Join(dir, "empty"))
	assertContains(t, err, filepath.Join(dir, "empty")+": no *.yaml or *.yml files")

	_, err = LoadFiles(filepath.Join(dir, "absent.yaml"), filepath.Join(dir, "empty"))
	assertContains(t, err, "absent.yaml", "no such file", "no *.yaml")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file is not os.ErrNotExist: %v", err)
	}

	set, err := LoadFiles()
	if err != nil || set.Len() != 0 {
		t.Errorf("LoadFiles() = %d policies, %v; want an empty set", set.Len(), err)
	}
}

func TestLoadBytes(t *testing.T) {
	t.Parallel()
	key := pkixPEM(t, newECKey(t))
	doc := "apiVersion: policy.signet.dev/v1alpha1\r\nkind: ClusterImagePolicy\r\nmetadata: {name: p}\r\nspec:\r\n  images: [{glob: '**'}]\r\n  authorities:\r\n  - key:\r\n      data: |\r\n" + indent(strings.ReplaceAll(key, "\n", "\r\n"), "        ")
	ps, err := LoadBytes([]byte("\xef\xbb\xbf"+doc), "inline", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Source != "inline (document 1)" {
		t.Errorf("got %+v", ps)
	}

	ps, err = LoadBytes([]byte(doc+"---\n"+strings.Replace(doc, "{name: p}", "{name: q}", 1)+"  mode: x\n"), "inline", "")
	if ps != nil {
		t.Errorf("LoadBytes returned policies with an error")
	}
	assertContains(t, err, `inline (document 2, ClusterImagePolicy "q"): spec.mode`)
}

func TestSplitDocuments(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		in   string
		want []string
	}{
		"One document without a separator.":              {"a: 1\n", []string{"a: 1\n"}},
		"A leading separator adds no document.":          {"---\na: 1\n", []string{"\na: 1\n"}},
		"Comments and blank documents are dropped.":      {"# x\n---\n\n---\na: 1\n---\n# y\n", []string{"\na: 1\n"}},
		"Text after a separator starts the document.":    {"a: 1\n--- {b: 2}\n", []string{"a: 1\n", " {b: 2}\n"}},
		"Three dashes inside a value do not split.":      {"a: ---x\nb: |\n  ---\n", []string{"a: ---x\nb: |\n  ---\n"}},
		"Four dashes are not a separator.":               {"a: 1\n----\n", []string{"a: 1\n----\n"}},
		"A document end marker ends the document.":       {"a: 1\n...\n---\nb: 2\n", []string{"a: 1\n", "\nb: 2\n"}},
		"A separator with trailing spaces still splits.": {"a: 1\n---  \nb: 2", []string{"a: 1\n", "\nb: 2"}},
	}
	for desc, tt := range tests {
		t.Run(desc, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, d := range splitDocuments([]byte(tt.in)) {
				got = append(got, string(d))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitDocuments(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
