package publisher

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// BuildFile is a parsed stacker-style build file: images in the order the file lists them.
type BuildFile struct {
	// Path is the file read; imports are relative to its directory.
	Path   string
	Images []ImageSpec
}

// ImageSpec is one image of a build file. Its YAML keys are stacker's.
type ImageSpec struct {
	Name        string            `yaml:"-"`
	From        From              `yaml:"from"`
	Import      []Import          `yaml:"import"`
	Entrypoint  Words             `yaml:"entrypoint"`
	Cmd         Words             `yaml:"cmd"`
	Environment map[string]string `yaml:"environment"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
	WorkingDir  string            `yaml:"working_dir"`
	Volumes     []string          `yaml:"volumes"`
	// RuntimeUser is the user the container runs as (the image config's User), e.g. "65532:65532".
	RuntimeUser string `yaml:"runtime_user"`
	// OS and Arch name one platform (stacker's keys); Platforms names several ("linux/arm64/v8"),
	// which makes the image a multi-platform index. Default linux/amd64.
	OS        string   `yaml:"os"`
	Arch      string   `yaml:"arch"`
	Platforms []string `yaml:"platforms"`
	// BuildOnly images are built to be the base of later images and are not written to the layout.
	BuildOnly bool `yaml:"build_only"`

	// Keys that need a container runtime; their presence is an error that points to stacker.
	Run           any `yaml:"run"`
	BuildEnv      any `yaml:"build_env"`
	Binds         any `yaml:"binds"`
	GenerateLabel any `yaml:"generate_labels"`

	cmdSet bool // whether cmd was written (an entrypoint without cmd clears the base's cmd)
}

// From is the base of an image: scratch, an OCI layout, a registry image or an image built earlier
// in the same file. In YAML it is stacker's map ({type: docker, url: docker://REF}; {type: oci,
// url: DIR:TAG}; {type: built, tag: NAME}; {type: scratch}) or a string (scratch, oci:DIR:TAG,
// docker://REF, built:NAME).
type From struct {
	Type string // scratch, oci, docker, built
	URL  string // oci: DIR:TAG; docker: docker://REF
	Tag  string // built: the image name
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (f *From) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		s := n.Value
		switch {
		case s == "scratch":
			*f = From{Type: "scratch"}
		case strings.HasPrefix(s, "docker://"):
			*f = From{Type: "docker", URL: s}
		case strings.HasPrefix(s, "oci:"):
			*f = From{Type: "oci", URL: strings.TrimPrefix(s, "oci:")}
		case strings.HasPrefix(s, "built:"):
			*f = From{Type: "built", Tag: strings.TrimPrefix(s, "built:")}
		default:
			return fmt.Errorf("line %d: from %q: write scratch, oci:DIR:TAG, docker://REF or built:NAME", n.Line, s)
		}
		return nil
	}
	var m struct {
		Type string `yaml:"type"`
		URL  string `yaml:"url"`
		Tag  string `yaml:"tag"`
	}
	if err := decodeStrict(n, &m); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	switch m.Type {
	case "scratch":
	case "docker":
		if !strings.HasPrefix(m.URL, "docker://") {
			m.URL = "docker://" + m.URL
		}
	case "oci":
		m.URL = strings.TrimPrefix(m.URL, "oci:")
		if m.Tag != "" && !strings.Contains(m.URL, ":") {
			m.URL += ":" + m.Tag
		}
	case "built":
		if m.Tag == "" {
			return fmt.Errorf("line %d: from type built needs tag: the name of an image built earlier in the file", n.Line)
		}
	case "tar", "zot":
		return fmt.Errorf("line %d: from type %s is not supported by signet build; use oci, docker, built or scratch (or stacker)", n.Line, m.Type)
	default:
		return fmt.Errorf("line %d: from type %q: use scratch, oci, docker or built", n.Line, m.Type)
	}
	*f = From{Type: m.Type, URL: m.URL, Tag: m.Tag}
	return nil
}

// Import puts a file or a directory's contents into the image. As a string it is a path and needs
// a dest; stacker's string imports only feed run: steps.
type Import struct {
	Path string `yaml:"path"`
	// Dest is where it goes in the image. A file goes to Dest, or into Dest when Dest ends in "/";
	// a directory's contents go under Dest.
	Dest string `yaml:"dest"`
	// Mode (octal) replaces the permission bits of imported files. Default: the file's own.
	Mode *FileMode `yaml:"mode"`
	UID  int       `yaml:"uid"`
	GID  int       `yaml:"gid"`
	// Hash, when set, is the sha256 (hex) the file must have.
	Hash string `yaml:"hash"`
	// Platforms limits the import to these platforms of a multi-platform image.
	Platforms []string `yaml:"platforms"`
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (im *Import) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*im = Import{Path: n.Value}
		return nil
	}
	type plain Import
	var p plain
	if err := decodeStrict(n, &p); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	*im = Import(p)
	return nil
}

// FileMode is a permission mode written in octal (0755).
type FileMode uint32

// UnmarshalYAML implements yaml.Unmarshaler.
func (m *FileMode) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimPrefix(strings.TrimPrefix(n.Value, "0o"), "0O")
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o7777 {
		return fmt.Errorf("line %d: mode %q: write an octal permission such as 0644 or 0755", n.Line, n.Value)
	}
	*m = FileMode(v)
	return nil
}

// Words is a command: a YAML list, or a string split like a shell would split it (quotes and
// backslashes; no expansion).
type Words []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (w *Words) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		words, err := splitWords(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		*w = words
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return fmt.Errorf("line %d: write a string or a list of strings: %w", n.Line, err)
	}
	*w = l
	return nil
}

// ReadBuildFile reads a build file, replacing ${{NAME}} and ${{NAME:default}} with subs (OS,
// ARCH and VARIANT are left for each platform).
func ReadBuildFile(path string, subs map[string]string) (*BuildFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading build file: %w", err)
	}
	bf, err := ParseBuildFile(raw, subs)
	if err != nil {
		return nil, fmt.Errorf("build file %s: %w", path, err)
	}
	bf.Path = path
	return bf, nil
}

// ParseBuildFile is ReadBuildFile on bytes; imports are relative to the working directory.
func ParseBuildFile(raw []byte, subs map[string]string) (*BuildFile, error) {
	raw, err := substitute(raw, subs)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("no images: write `NAME:` followed by the image's from, import, …")
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the file must map image names to image definitions", top.Line)
	}
	bf := &BuildFile{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if k.Value == "config" || k.Value == "stacker_config" {
			continue // stacker's file-wide settings (prerequisites, …) do not apply here
		}
		if seen[k.Value] {
			return nil, fmt.Errorf("line %d: image %q is defined twice", k.Line, k.Value)
		}
		seen[k.Value] = true
		spec, err := parseImage(k.Value, v)
		if err != nil {
			return nil, fmt.Errorf("image %q: %w", k.Value, err)
		}
		bf.Images = append(bf.Images, spec)
	}
	if len(bf.Images) == 0 {
		return nil, errors.New("no images defined")
	}
	return bf, nil
}

func parseImage(name string, n *yaml.Node) (ImageSpec, error) {
	if err := validTag(name); err != nil {
		return ImageSpec{}, err
	}
	var s ImageSpec
	if err := decodeStrict(n, &s); err != nil {
		return ImageSpec{}, err
	}
	s.Name = name
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "cmd" {
			s.cmdSet = true
		}
	}
	for key, v := range map[string]any{"run": s.Run, "build_env": s.BuildEnv, "binds": s.Binds, "generate_labels": s.GenerateLabel} {
		if v != nil {
			return ImageSpec{}, fmt.Errorf("%s: needs a container runtime, which signet build does not use; build this image with stacker (`stacker build -f FILE`), then `signet publish oci:DIR:TAG docker://…`", key)
		}
	}
	if s.From.Type == "" {
		return ImageSpec{}, errors.New("no from: write from: scratch, oci:DIR:TAG, docker://REF or built:NAME")
	}
	for i, im := range s.Import {
		if im.Path == "" {
			return ImageSpec{}, fmt.Errorf("import %d: no path", i)
		}
		if im.Dest == "" {
			return ImageSpec{}, fmt.Errorf("import %d (%s): no dest; without run: steps an import must say where it goes in the image", i, im.Path)
		}
		if !strings.HasPrefix(im.Dest, "/") {
			return ImageSpec{}, fmt.Errorf("import %d (%s): dest %q must be an absolute path in the image", i, im.Path, im.Dest)
		}
	}
	if _, err := s.platforms(); err != nil {
		return ImageSpec{}, err
	}
	return s, nil
}

var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

func validTag(name string) error {
	if !tagPattern.MatchString(name) {
		return fmt.Errorf("the image name is its tag in the layout and must be a valid tag (letters, digits, _ . -; at most 128)")
	}
	return nil
}

// decodeStrict decodes n into v, refusing keys v does not have.
func decodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

var substPattern = regexp.MustCompile(`\$\{\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}\}`)

// platformVars are substituted per platform, after parsing.
var platformVars = map[string]bool{"OS": true, "ARCH": true, "VARIANT": true}

func substitute(raw []byte, subs map[string]string) ([]byte, error) {
	var missing []string
	out := substPattern.ReplaceAllFunc(raw, func(m []byte) []byte {
		g := substPattern.FindSubmatch(m)
		key := string(g[1])
		if v, ok := subs[key]; ok {
			return []byte(v)
		}
		if platformVars[key] {
			return m
		}
		if g[2] != nil || bytes.Contains(m, []byte(":")) {
			return g[2]
		}
		missing = append(missing, key)
		return m
	})
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("no value for %s: pass --substitute NAME=VALUE or write ${{NAME:default}}", strings.Join(missing, ", "))
	}
	return out, nil
}

// splitWords splits s like a POSIX shell splits words: quotes and backslashes, no expansion.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, fmt.Errorf("command %q: unterminated quote or trailing backslash", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// resolveImportPath makes p relative to the build file's directory.
func (bf *BuildFile) resolveImportPath(p string) string {
	if filepath.IsAbs(p) || bf.Path == "" {
		return p
	}
	return filepath.Join(filepath.Dir(bf.Path), p)
}
