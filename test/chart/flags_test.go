package chart

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// webhookFlags reads the flag names cmd/webhook defines, from its source: the chart must set only
// flags that exist, and a renamed flag must break this test rather than a cluster.
func webhookFlags(t *testing.T) map[string]bool {
	t.Helper()
	dir := filepath.Join(chartDir(), "..", "..", "..", "cmd", "webhook")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	flags := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			// pflag: XxxVar(&v, "name", …), XxxVarP(&v, "name", "n", …), Xxx("name", …).
			idx := 0
			if strings.HasSuffix(sel.Sel.Name, "Var") || strings.HasSuffix(sel.Sel.Name, "VarP") {
				idx = 1
			}
			if len(call.Args) <= idx+1 {
				return true
			}
			if lit, ok := call.Args[idx].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if name, err := strconv.Unquote(lit.Value); err == nil && isFlagName(name) {
					flags[name] = true
				}
			}
			return true
		})
	}
	if !flags["tls-cert-file"] || !flags["unmatched"] {
		t.Fatalf("reading flags from %s found %v; the parser no longer understands config.go", dir, flags)
	}
	return flags
}

func isFlagName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}

func TestEverySettingTheChartPassesIsAWebhookFlag(t *testing.T) {
	t.Parallel()
	flags := webhookFlags(t)
	r := render(t,
		"--set", "secretNamespaces={keys}",
		"--set-string", "registries.caBundles.corp\\.pem="+testCA(t),
		"--set", "registries.insecure={zot.local:5000}",
		"--set", "registries.credentialsSecret=pull",
		"--set-string", "policies.files.a\\.yaml=kind: ClusterImagePolicy",
	)
	for name := range webhookEnv(t, r) {
		if !strings.HasPrefix(name, "SIGNET_") {
			continue
		}
		flag := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, "SIGNET_")), "_", "-")
		if !flags[flag] {
			t.Errorf("the chart sets %s but signet-webhook has no --%s flag (signet-webhook would ignore it)", name, flag)
		}
	}
}

func TestValuesMapToWebhookSettings(t *testing.T) {
	t.Parallel()
	r := render(t,
		"--set", "policies.unmatched=deny",
		"--set", "cache.tagTTL=5s", "--set", "cache.verdictPassTTL=1h", "--set", "cache.verdictFailTTL=2s", "--set", "cache.size=500",
		"--set-string", "registries.caBundles.corp\\.pem="+testCA(t),
		"--set-string", "registries.caBundles.lab\\.pem="+testCA(t),
		"--set", "registries.insecure={zot.local:5000,10.0.0.7}",
		"--set", "registries.credentialsSecret=signet-pull",
		"--set", "registries.pullSecretLookup=false",
		"--set-string", "policies.files.team\\.yaml=kind: ClusterImagePolicy",
		"--set", "logLevel=debug",
	)
	want := map[string]string{
		"SIGNET_UNMATCHED":         "deny",
		"SIGNET_TAG_CACHE_TTL":     "5s",
		"SIGNET_VERDICT_PASS_TTL":  "1h",
		"SIGNET_VERDICT_FAIL_TTL":  "2s",
		"SIGNET_CACHE_SIZE":        "500",
		"SIGNET_REGISTRY_CA_FILE":  "/etc/signet/registry-ca/corp.pem,/etc/signet/registry-ca/lab.pem",
		"SIGNET_INSECURE_REGISTRY": "zot.local:5000,10.0.0.7",
		"SIGNET_DOCKER_CONFIG":     "/etc/signet/registry-credentials/config.json",
		"SIGNET_PULL_SECRETS":      "false",
		"SIGNET_POLICY":            "/etc/signet/policies",
		"SIGNET_LOG_LEVEL":         "debug",
		"SIGNET_TLS_CERT_FILE":     "/etc/signet/tls/tls.crt",
		"SIGNET_TLS_KEY_FILE":      "/etc/signet/tls/tls.key",
		"SIGNET_DEFAULT_TIMEOUT":   "10s",
		"SIGNET_CLUSTER_POLICIES":  "true",
	}
	env := webhookEnv(t, r)
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	for _, k := range []string{"SIGNET_TAG_CACHE_TTL", "SIGNET_VERDICT_PASS_TTL", "SIGNET_VERDICT_FAIL_TTL", "SIGNET_DEFAULT_TIMEOUT", "SIGNET_DEADLINE_MARGIN", "SIGNET_SHUTDOWN_TIMEOUT"} {
		if _, err := time.ParseDuration(env[k]); err != nil {
			t.Errorf("%s = %q is not a duration signet-webhook accepts: %v", k, env[k], err)
		}
	}
	// Every file the settings name must be mounted where they say.
	d := deployment(t, r)
	mounts := map[string]string{}
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounts[m.Name] = m.MountPath
		if !m.ReadOnly && m.Name != "tmp" {
			t.Errorf("volume %s is mounted writable", m.Name)
		}
	}
	for k, dir := range map[string]string{"SIGNET_POLICY": "policies", "SIGNET_DOCKER_CONFIG": "registry-credentials", "SIGNET_TLS_CERT_FILE": "tls"} {
		if !strings.HasPrefix(env[k], mounts[dir]) || mounts[dir] == "" {
			t.Errorf("%s = %q is not under the %s mount %q", k, env[k], dir, mounts[dir])
		}
	}
	for _, f := range strings.Split(env["SIGNET_REGISTRY_CA_FILE"], ",") {
		if filepath.Dir(f) != mounts["registry-ca"] {
			t.Errorf("registry CA file %s is not in the registry-ca mount %q", f, mounts["registry-ca"])
		}
	}
	var cms []string
	for _, o := range r.all("ConfigMap") {
		cms = append(cms, o.Metadata.Name)
	}
	if strings.Join(cms, " ") != fullname+"-policies "+fullname+"-registry-ca" {
		t.Errorf("ConfigMaps = %v, want the policies and the registry CAs", cms)
	}
}
