package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/signet-dev/signet/internal/testtools"
)

// The release every test renders; fullname is what the chart names its objects.
const (
	release   = "prod"
	namespace = "signet-system"
	fullname  = "prod-signet"
)

// chartDir is deploy/helm/signet, found from this file so tests run from any directory.
func chartDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "deploy", "helm", "signet")
}

// helmError is a failed helm run; Stderr is helm's own message, without the command line.
type helmError struct {
	Args   []string
	Err    error
	Stderr string
}

func (e *helmError) Error() string {
	return fmt.Sprintf("helm %s: %v\n%s", strings.Join(e.Args, " "), e.Err, e.Stderr)
}

// helm runs the real helm with its caches and config in a temporary directory, returning
// stdout and, on failure, a *helmError.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	stdout, _, err := helmOutput(t, args...)
	return stdout, err
}

// helmOutput is helm returning stderr too: helm logs some problems there and still succeeds.
func helmOutput(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := testtools.Path(t, "helm")
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{
		"HOME=" + home,
		"HELM_CACHE_HOME=" + filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME=" + filepath.Join(home, "config"),
		"HELM_DATA_HOME=" + filepath.Join(home, "data"),
		"KUBECONFIG=" + filepath.Join(home, "no-kubeconfig"),
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), errOut.String(), &helmError{Args: args, Err: err, Stderr: errOut.String()}
	}
	return out.String(), errOut.String(), nil
}

// object is one rendered document.
type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	json []byte
}

// rendered is the output of one `helm template`.
type rendered struct {
	objects []object
	text    string
}

// templateArgs are the arguments of `helm template` for our release with extra flags.
func templateArgs(extra ...string) []string {
	return append([]string{"template", release, chartDir(), "--namespace", namespace}, extra...)
}

// render runs `helm template` with extra flags (--set …) and decodes every document, failing t
// when helm fails.
func render(t *testing.T, extra ...string) *rendered {
	t.Helper()
	out, err := helm(t, templateArgs(extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeAll(out)
	if err != nil {
		t.Fatalf("decoding the rendered chart: %v\n%s", err, out)
	}
	return r
}

// renderError runs `helm template` expecting it to fail, and returns helm's error message.
func renderError(t *testing.T, extra ...string) string {
	t.Helper()
	out, err := helm(t, templateArgs(extra...)...)
	var he *helmError
	if !errors.As(err, &he) {
		t.Fatalf("helm template %s: %v; want a helm error. Output:\n%s", strings.Join(extra, " "), err, out)
	}
	return he.Stderr
}

func decodeAll(out string) (*rendered, error) {
	r := &rendered{text: out}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(out)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return r, nil
		}
		if err != nil {
			return nil, err
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("document is not YAML: %w\n%s", err, doc)
		}
		if string(js) == "null" {
			continue // a template that rendered nothing but comments
		}
		var o object
		if err := yaml.Unmarshal(js, &o); err != nil {
			return nil, err
		}
		if o.Kind == "" || o.APIVersion == "" || o.Metadata.Name == "" {
			return nil, fmt.Errorf("document without apiVersion, kind or name:\n%s", doc)
		}
		o.json = js
		r.objects = append(r.objects, o)
	}
}

// all returns the objects of kind.
func (r *rendered) all(kind string) []object {
	var out []object
	for _, o := range r.objects {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// has reports whether an object of kind exists.
func (r *rendered) has(kind string) bool { return len(r.all(kind)) > 0 }

// one decodes the single object of kind into into, strictly: a field the API type does not have
// fails the test, as it would be dropped (or rejected) by the API server.
func (r *rendered) one(t *testing.T, kind string, into any) {
	t.Helper()
	objs := r.all(kind)
	if len(objs) != 1 {
		t.Fatalf("rendered %d %s objects, want 1", len(objs), kind)
	}
	objs[0].decode(t, into)
}

func (o object) decode(t *testing.T, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(o.json, into); err != nil {
		t.Fatalf("%s %s does not decode strictly into %T: %v", o.Kind, o.Metadata.Name, into, err)
	}
}
