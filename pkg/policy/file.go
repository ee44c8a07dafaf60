package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// APIVersion is the apiVersion every policy document carries.
const APIVersion = Group + "/" + Version

// LoadFiles loads policies from YAML files. Each path is a file or a directory, of which every
// *.yaml and *.yml file is read in name order (not recursively). Relative key paths are relative
// to the file that names them. All problems are reported, joined with errors.Join, and each names
// its file, document and field. A directory without policy files, a file without documents and
// two policies of the same kind and name are errors: a typo must not silently allow everything.
func LoadFiles(paths ...string) (*Set, error) {
	var (
		errs  []error
		all   []*Policy
		where = map[string]string{} // policy Name → location, for duplicates
		read  = map[string]bool{}   // each file once, however it was named
	)
	for _, path := range paths {
		files, err := policyFiles(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			abs, err := filepath.Abs(f)
			if err == nil && read[abs] {
				continue
			}
			read[abs] = true
			data, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading policy file: %w", err))
				continue
			}
			loaded, err := loadBytes(data, f, filepath.Dir(f))
			if err != nil {
				errs = append(errs, err)
			}
			for _, l := range loaded {
				if prev, dup := where[l.policy.Name]; dup {
					errs = append(errs, fmt.Errorf("%s: metadata.name: %s is also defined in %s; rename one", l.where, l.policy.Name, prev))
					continue
				}
				where[l.policy.Name] = l.where
				all = append(all, l.policy)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return NewSet(all...), nil
}

// policyFiles returns path itself, or a directory's *.yaml and *.yml files in name order.
func policyFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading policies: %w", err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("reading policy directory: %w", err)
	}
	var files []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("policy directory %s: no *.yaml or *.yml files; add policies or remove it from the list", path)
	}
	slices.Sort(files)
	return files, nil
}

// LoadBytes compiles every policy document in data, a YAML stream read from source (a file name,
// for messages); relative key paths are relative to baseDir. On any error it returns no policies
// and all the problems, each prefixed with "SOURCE (document N, KIND "NAME"): FIELD: ".
func LoadBytes(data []byte, source, baseDir string) ([]*Policy, error) {
	loaded, err := loadBytes(data, source, baseDir)
	if err != nil {
		return nil, err
	}
	ps := make([]*Policy, len(loaded))
	for i, l := range loaded {
		ps[i] = l.policy
	}
	return ps, nil
}

type loadedPolicy struct {
	policy *Policy
	where  string // SOURCE (document N, KIND "NAME")
}

// loadBytes returns the policies that compiled and the errors of those that did not.
func loadBytes(data []byte, source, baseDir string) ([]loadedPolicy, error) {
	docs := splitDocuments(data)
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: no policy documents; a policy starts with apiVersion: %s", source, APIVersion)
	}
	var (
		out  []loadedPolicy
		errs []error
	)
	for i, doc := range docs {
		at := fmt.Sprintf("%s (document %d)", source, i+1)
		d, err := decodeDocument(doc)
		where := at
		if d.kind != "" && d.name != "" {
			where = fmt.Sprintf("%s (document %d, %s %q)", source, i+1, d.kind, d.qualifiedName())
		}
		if err != nil {
			errs = append(errs, prefixErrors(where, err)...)
			continue
		}
		p, err := Compile(d.spec, CompileOptions{
			Kind:      d.kind,
			Namespace: d.namespace,
			Name:      d.name,
			Source:    at,
			BaseDir:   baseDir,
		})
		if err != nil {
			errs = append(errs, prefixErrors(where, err)...)
			continue
		}
		out = append(out, loadedPolicy{policy: p, where: where})
	}
	return out, errors.Join(errs...)
}

// prefixErrors prefixes each of the joined errors in err with where.
func prefixErrors(where string, err error) []error {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, len(list))
	for i, e := range list {
		out[i] = fmt.Errorf("%s: %w", where, e)
	}
	return out
}

// splitDocuments splits a YAML stream on "---" lines (and "..." document ends), dropping
// documents that hold only blank lines and comments.
func splitDocuments(data []byte) [][]byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var (
		docs [][]byte
		cur  []byte
	)
	flush := func() {
		if !blankYAML(cur) {
			docs = append(docs, cur)
		}
		cur = nil
	}
	for line := range bytes.Lines(data) {
		t := bytes.TrimRight(line, " \t\r\n")
		switch {
		case bytes.HasPrefix(t, []byte("---")) && (len(t) == 3 || t[3] == ' ' || t[3] == '\t'):
			flush()
			// "--- # comment" or "--- {…}": the rest of the line belongs to the new document.
			cur = append(cur, t[3:]...)
			cur = append(cur, '\n')
		case string(t) == "...":
			flush()
		default:
			cur = append(cur, line...)
		}
	}
	flush()
	return docs
}

func blankYAML(doc []byte) bool {
	for line := range bytes.Lines(doc) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			return false
		}
	}
	return true
}

type document struct {
	kind, namespace, name string
	spec                  ImagePolicySpec
}

func (d document) qualifiedName() string {
	if d.kind == KindImagePolicy && d.namespace != "" {
		return d.namespace + "/" + d.name
	}
	return d.name
}

// decodeDocument checks apiVersion and kind, then decodes strictly. Whatever it learns before an
// error (kind, name) is returned with it, for messages.
func decodeDocument(doc []byte) (document, error) {
	var d document
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		// One line, so that every line of a joined error starts with the file name.
		msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
		return d, fmt.Errorf("invalid YAML (line numbers count from the document's start): %s", msg)
	}
	var top map[string]any
	if err := json.Unmarshal(j, &top); err != nil || top == nil {
		return d, fmt.Errorf("not a mapping; a policy document starts with apiVersion: %s", APIVersion)
	}
	apiVersion, _ := top["apiVersion"].(string)
	kind, _ := top["kind"].(string)
	if md, ok := top["metadata"].(map[string]any); ok {
		d.name, _ = md["name"].(string)
		d.namespace, _ = md["namespace"].(string)
	}
	var errs []error
	if apiVersion != APIVersion {
		errs = append(errs, fieldErr("apiVersion", "%q is not %s; set apiVersion: %s", apiVersion, APIVersion, APIVersion))
	}
	if kind == KindClusterImagePolicy || kind == KindImagePolicy {
		d.kind = kind
	} else {
		errs = append(errs, fieldErr("kind", "%q is neither %s nor %s", kind, KindClusterImagePolicy, KindImagePolicy))
	}
	if len(errs) > 0 {
		return d, errors.Join(errs...)
	}

	// Both kinds share one shape; find every unknown field and ambiguous scalar before decoding.
	if errs := checkShape(top, typeOfClusterImagePolicy, ""); len(errs) > 0 {
		return d, errors.Join(errs...)
	}
	var obj ClusterImagePolicy
	if err := yaml.UnmarshalStrict(doc, &obj); err != nil {
		return d, decodeError(err)
	}
	d.name, d.namespace, d.spec = obj.Name, obj.Namespace, obj.Spec
	return d, nil
}

// decodeError names the field of a type mismatch; other decoding errors are returned as they are.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fieldErr(te.Field, "got a %s, want %s", te.Value, jsonTypeName(te.Type.String()))
	}
	return fmt.Errorf("decoding: %w", err)
}

func jsonTypeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case goType == "bool", goType == "*bool":
		return "true or false"
	case goType == "string" || strings.HasSuffix(goType, ".Mode") || strings.HasSuffix(goType, ".MultiArch") || strings.HasSuffix(goType, ".FailurePolicy"):
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	default:
		return "a mapping"
	}
}
